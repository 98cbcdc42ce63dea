"""The console's pages in headless Chromium, against a real server with real
data: the dashboard's live graphs move while a writer runs, the tables page
creates, renames and drops and shows an index build's bar moving once the
paused build is resumed, the servers and logs pages (a new log line pushed by
its feed), the jobs page's filters and kill and a short job's start and end
pushed by its feed, the profile tree, keyboard use and a narrow window.  Every test
saves a screenshot under ``test-artifacts/console-*.png``."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import pytest
from rethinkdb import r as R
from rethinkdb.errors import ReqlOpIndeterminateError

from browserkit import launched_chromium, screenshot, wait_for
from serverproc import ServerProcess, temp_server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
WRITER_MAX_SECONDS = 60
SYSTEM = R.db("rethinkdb")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def console_server() -> Iterator[ServerProcess]:
    srv = temp_server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def db(console_server: ServerProcess) -> Iterator[Any]:
    conn = R.connect(host=console_server.host, port=console_server.port)
    yield conn
    conn.close()


class Console:
    """One browser tab on the console, failing the test on uncaught page errors."""

    def __init__(self, browser: Any, server: ServerProcess, width: int = 1400) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.tab = self.context.new_page()
        self.tab.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.tab.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, page: str) -> Any:
        self.tab.goto(f"http://127.0.0.1:{self.server.http_port}/#{page}")
        self.tab.wait_for_selector(f"#page-{page}:visible")
        self.tab.wait_for_selector("#server-status[data-state=ok]")
        return self.tab


@pytest.fixture
def console(browser: Any, console_server: ServerProcess) -> Iterator[Console]:
    opened = Console(browser, console_server)
    yield opened
    opened.context.close()
    assert not opened.errors, f"uncaught errors in the page: {opened.errors}"


def fresh_table(conn: Any, name: str, docs: list[dict], db: str = "test") -> None:
    if db not in R.db_list().run(conn):
        R.db_create(db).run(conn)
    if name in R.db(db).table_list().run(conn):
        R.db(db).table_drop(name).run(conn)
    R.db(db).table_create(name).run(conn)
    for start in range(0, len(docs), 5000):
        R.db(db).table(name).insert(docs[start:start + 5000]).run(conn)


def build_job(conn: Any, index: str) -> dict:
    jobs = SYSTEM.table("jobs").filter({"type": "index_construction", "info": {"index": index}})
    return wait_for(lambda: next(iter(jobs.run(conn)), None), what=f"the build of {index} in rethinkdb.jobs")


BUILD_DOCS = [{"id": i, "v": i % 977} for i in range(20_000)]


def start_paused_build(conn: Any, table: str, index: str) -> dict:
    """A deliberately costly index (seconds to build on BUILD_DOCS, ten times that
    at low priority), paused as soon as its build shows in rethinkdb.jobs."""
    R.table(table).index_create(index, lambda d: R.range(100).map(lambda i: d["v"].add(i)).sum()).run(conn)
    job = build_job(conn, index)
    SYSTEM.table("jobs").get(job["id"]).update({"paused": True}).run(conn)
    return job


class Writer:
    """Inserts small batches into a table until stopped (at most WRITER_MAX_SECONDS)."""

    def __init__(self, server: ServerProcess, table: str) -> None:
        self.server, self.table = server, table
        self.stopped = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        conn = R.connect(host=self.server.host, port=self.server.port)
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        try:
            while not self.stopped.is_set() and time.monotonic() < deadline:
                R.table(self.table).insert([{"n": self.written + i} for i in range(50)], durability="soft").run(conn)
                self.written += 50
        finally:
            conn.close()

    def __enter__(self) -> "Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(10)


# ---------------------------------------------------------------------------

def test_dashboard_graphs_move_while_a_writer_runs(console, db):
    fresh_table(db, "metrics", [])
    tab = console.open("dashboard")
    server_chart = tab.locator(".chart-main")
    table_chart = tab.locator('.chart[data-table="test.metrics"]')
    table_chart.wait_for()
    assert tab.locator(".card[data-card=servers] .card-value").inner_text() == "1"
    assert tab.locator(".card[data-card=issues] .card-value").inner_text() == "0"
    writes_line = table_chart.locator("polyline[data-series=written]")

    def writes_per_sec(chart: Any) -> float:
        return float(chart.get_attribute("data-latest-written") or 0)

    zero_y = float(table_chart.locator(".chart-grid line").first.get_attribute("y1"))
    with Writer(console.server, "metrics"):
        wait_for(lambda: writes_per_sec(table_chart) > 0 and writes_per_sec(server_chart) > 0, what="writes/s above 0")
        first = writes_line.get_attribute("points")
        wait_for(lambda: writes_line.get_attribute("points") != first, what="the writes line moving")
        second = writes_line.get_attribute("points")
        wait_for(lambda: writes_line.get_attribute("points") != second, what="the writes line moving again")
        legend = table_chart.locator(".legend-value[data-series=written]").inner_text()
        assert legend not in ("", "0"), legend
        screenshot(tab, "dashboard", prefix="console")
        heights = [float(point.split(",")[1]) for point in writes_line.get_attribute("points").split()]
    assert min(heights) < zero_y, "the line never rose above zero"  # SVG's y grows downwards
    assert any('table("stats").changes(' in text for text in query_texts(db)), "the graphs are not fed by a feed"
    # Idle again: the stats feed falls silent, yet the graph keeps advancing.
    wait_for(lambda: writes_per_sec(table_chart) == 0, what="writes/s back to 0")
    idle = writes_line.get_attribute("points")
    wait_for(lambda: writes_line.get_attribute("points") != idle, what="the writes line moving while idle")


def test_tables_page_creates_renames_and_drops(console, db):
    tab = console.open("tables")
    tab.fill("#new-db-name", "console_db")
    tab.press("#new-db-name", "Enter")
    tab.locator('.db-section[data-db="console_db"]').wait_for()
    tab.select_option("#new-table-db", "console_db")
    tab.fill("#new-table-name", "orders")
    tab.fill("#new-table-pkey", "code")
    tab.click("#new-table button[type=submit]")
    card = tab.locator('.table-card[data-table="console_db.orders"]')
    card.filter(has_text="0 documents").wait_for()
    assert "primary key code" in card.inner_text() and "1 shard, 1 replica" in card.inner_text()
    assert R.db("console_db").table("orders").info()["primary_key"].run(db) == "code"

    R.db("console_db").table("orders").insert([{"code": c, "customer": "ann"} for c in "abc"]).run(db)
    card.filter(has_text="3 documents").wait_for()
    card.locator(".index-name").fill("customer")
    card.locator(".index-name").press("Enter")
    card.locator('.index-row[data-index="customer"][data-state="ready"]').wait_for()
    assert R.db("console_db").table("orders").get_all("ann", index="customer").count().run(db) == 3

    card.locator("button.rename-table").click()
    card.locator(".rename-input").fill("orders2")
    card.locator(".rename-input").press("Enter")
    renamed = tab.locator('.table-card[data-table="console_db.orders2"]')
    renamed.wait_for()
    assert R.db("console_db").table_list().run(db) == ["orders2"]
    screenshot(tab, "tables", prefix="console")

    renamed.locator("button.drop-table").click()
    renamed.locator("button.confirm-yes").click()
    renamed.wait_for(state="detached")
    assert R.db("console_db").table_list().run(db) == []
    section = tab.locator('.db-section[data-db="console_db"]')
    section.locator("button.drop-db").click()
    section.locator("button.confirm-yes").click()
    section.wait_for(state="detached")
    assert "console_db" not in R.db_list().run(db)


def test_index_build_bar_moves_once_the_paused_build_is_resumed(console, db):
    fresh_table(db, "indexed", BUILD_DOCS)
    job = start_paused_build(db, "indexed", "heavy")
    tab = console.open("tables")
    row = tab.locator('.table-card[data-table="test.indexed"] .index-row[data-index="heavy"]')
    row.and_(tab.locator("[data-state=paused]")).wait_for()
    bar = row.locator("progress")

    def progress() -> float:
        return float(bar.evaluate("el => el.value"))

    paused_at = progress()
    assert paused_at < 1
    # Low priority first: the build then moves slowly enough to be watched.
    row.locator("select.build-priority").select_option("low")
    wait_for(lambda: SYSTEM.table("jobs").get(job["id"])["info"]["priority"].run(db) == "low", what="priority low")
    row.locator("button.resume-build").click()
    row.and_(tab.locator("[data-state=building]")).wait_for()
    moved = wait_for(lambda: (value := progress()) > paused_at and value, timeout=60, what="the bar moving")
    moved_on = wait_for(lambda: (value := progress()) > moved and value, timeout=60, what="the bar moving on")
    assert paused_at < moved < moved_on <= 1
    screenshot(tab, "index-build", prefix="console")
    row.locator("select.build-priority").select_option("normal")
    row.and_(tab.locator("[data-state=ready]")).wait_for(timeout=120_000)
    assert bar.is_hidden()
    R.table("indexed").index_wait("heavy").run(db)


def test_servers_page_lists_the_server(console, db):
    tab = console.open("servers")
    name = SYSTEM.table("server_config").nth(0)["name"].run(db)
    row = tab.locator(f'.server-row[data-server="{name}"]')
    row.wait_for()
    assert "rethinkdb 2.4.4-systables" in row.locator(".server-version").inner_text()
    assert row.locator(".server-tags").inner_text() == "default"
    assert int(row.locator(".server-connections").inner_text()) >= 1  # this test's own driver connection
    assert row.locator(".server-uptime").inner_text().endswith(("s", "min"))
    assert f"driver {console.server.port}" in row.locator(".server-address").inner_text()
    screenshot(tab, "servers", prefix="console")


JOBS_FEED_TEXT = 'r.db("rethinkdb").table("jobs").changes({"includeInitial": true, "includeStates": true})'
LOGS_FEED_TEXT = 'r.db("rethinkdb").table("logs").changes()'


def query_texts(conn: Any) -> list[str]:
    return [job["info"]["query"] for job in SYSTEM.table("jobs").filter({"type": "query"}).run(conn)]


def test_logs_page_shows_new_lines_first_as_they_come(console, db):
    tab = console.open("logs")
    tab.locator(".log-row").first.wait_for()
    wait_for(lambda: LOGS_FEED_TEXT in query_texts(db), what="the logs page's feed in rethinkdb.jobs")
    config = SYSTEM.table("server_config").nth(0)
    name = config["name"].run(db)
    SYSTEM.table("server_config").update({"name": "console_renamed"}).run(db)
    try:
        first = tab.locator(".log-row").first
        first.filter(has_text="Changed server's name").wait_for()
        assert f"from `{name}` to `console_renamed`" in first.inner_text()
        screenshot(tab, "logs", prefix="console")
        tab.select_option("#log-level", "notice")
        tab.fill("#log-search", "changed server")
        assert tab.locator(".log-row").count() == 1
        tab.select_option("#log-level", "error")
        assert tab.locator(".log-row").count() == 0
        tab.select_option("#log-level", "")
    finally:
        SYSTEM.table("server_config").update({"name": name}).run(db)


def test_jobs_page_filters_and_kills(console, db):
    if "indexed" not in R.table_list().run(db):
        fresh_table(db, "indexed", BUILD_DOCS)
    start_paused_build(db, "indexed", "slow")
    outcome: dict[str, Any] = {}

    def victim() -> None:
        conn = R.connect(host=console.server.host, port=console.server.port)
        try:
            R.js("while(true) {}", timeout=60).run(conn)
        except Exception as exc:  # the kill's effect, checked below
            outcome["error"] = exc
        finally:
            conn.close()

    thread = threading.Thread(target=victim, daemon=True)
    thread.start()
    try:
        tab = console.open("jobs")
        rows = tab.locator("#page-jobs .job-row")
        query_row = rows.filter(has_text='r.js("while(true) {}", {"timeout": 60})')
        build_row = rows.filter(has_text="test.indexed, index slow")
        query_row.wait_for()
        build_row.wait_for()
        assert "admin" in query_row.locator(".job-who").inner_text()
        assert build_row.locator(".job-eta").inner_text() == "paused"
        assert build_row.locator("button.resume-build").is_visible()
        assert not rows.filter(has_text='table("jobs").changes(').count()  # the page's own feed is hidden
        screenshot(tab, "jobs", prefix="console")

        tab.select_option("#jobs-type", "query")
        build_row.wait_for(state="detached")
        assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.type)")) == {"query"}
        tab.select_option("#jobs-type", "index_construction")
        query_row.wait_for(state="detached")
        build_row.wait_for()
        tab.select_option("#jobs-type", "")
        tab.fill("#jobs-table", "indexed")
        query_row.wait_for(state="detached")
        build_row.wait_for()
        tab.fill("#jobs-table", "")
        tab.fill("#jobs-user", "admin")
        build_row.wait_for(state="detached")
        query_row.wait_for()
        tab.fill("#jobs-user", "")
        build_row.wait_for()

        query_row.locator("button.kill").click()
        query_row.locator("button.kill-confirm").click()
        tab.locator("#page-jobs .page-message[data-outcome=ok]").filter(has_text="Killed query").wait_for()
        thread.join(15)
        assert not thread.is_alive()
        error = outcome.get("error")
        assert isinstance(error, ReqlOpIndeterminateError), error
        assert error.message == "Query terminated by the `rethinkdb.jobs` table."
        query_row.wait_for(state="detached")
    finally:
        R.table("indexed").index_drop("slow").run(db)


def test_jobs_page_shows_a_short_job_start_and_end_pushed_by_its_feed(console, db):
    tab = console.open("jobs")
    wait_for(lambda: JOBS_FEED_TEXT in query_texts(db), what="the jobs page's feed in rethinkdb.jobs")
    tab.locator("#page-jobs .hint[role=status]").filter(has_text="jobs").wait_for()
    marker = "jobs_page_short_job"
    # A fraction of a second: a page polling every second would mostly miss it.
    R.expr(marker).do(lambda x: R.range(20_000).count()).run(db)
    row = tab.locator("#page-jobs .job-row", has_text=marker)
    row.and_(tab.locator("[data-state=ended]")).wait_for()
    assert row.locator(".job-actions").inner_text() == "ended"
    assert not row.locator("button.kill").count()
    assert "ended" in tab.locator("#page-jobs .hint[role=status]").inner_text()
    screenshot(tab, "jobs-ended", prefix="console")
    row.wait_for(state="detached")  # kept a few seconds, then gone
    # Leaving the page ends its feed.
    tab.goto(f"http://127.0.0.1:{console.server.http_port}/#dashboard")
    wait_for(lambda: JOBS_FEED_TEXT not in query_texts(db), what="the jobs page's feed ending")


def test_profile_tree_in_the_data_explorer(console, db):
    fresh_table(db, "profiled", [{"id": i, "v": i} for i in range(500)])
    tab = console.open("dataexplorer")
    tab.check("#profiler")
    tab.click(".cm-content")
    tab.keyboard.press("Control+a")
    tab.keyboard.type('r.table("profiled").filter(r.row("v").gt(10)).count()')
    tab.keyboard.press("Escape")
    tab.keyboard.press("Shift+Enter")
    tab.click(".view-tab[data-view=profile]")
    tree = tab.locator(".profile-tree")
    tree.wait_for()
    assert "Evaluating query." in tree.inner_text() and "Read documents." in tree.inner_text()
    assert "500 samples" in tree.inner_text()
    assert tree.locator(".profile-node").count() >= 2
    durations = tree.locator(".profile-duration").all_inner_texts()
    assert durations and all(d.endswith(("ms", " s")) or "ms" in d for d in durations)
    assert tab.locator(".profile-total").inner_text().startswith("Server time")
    screenshot(tab, "profile", prefix="console")


PAGES = ["dashboard", "tables", "servers", "dataexplorer", "logs", "jobs"]


def test_keyboard_and_labels(console):
    tab = console.open("dashboard")
    tab.locator("body").focus()
    for _ in range(10):  # Tab through the navigation to the Tables link
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.getAttribute('href')") == "#tables":
            break
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#page-tables:visible")
    assert tab.evaluate("document.activeElement.textContent") == "Tables"
    assert tab.locator('.nav a[aria-current="page"]').inner_text() == "Tables"
    for page in PAGES:
        console.open(page)
        tab.wait_for_timeout(300)  # let the page draw its controls
        unnamed = tab.evaluate("""() => [...document.querySelectorAll(
              '.page:not([hidden]) input, .page:not([hidden]) select, .page:not([hidden]) button')]
            .filter(el => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()
                            || el.closest('.cm-editor')))
            .map(el => el.outerHTML.slice(0, 80))""")
        assert not unnamed, f"{page}: controls without a label: {unnamed}"


@pytest.mark.parametrize("page", PAGES)
def test_narrow_window_has_no_sideways_scroll(browser, console_server, page):
    narrow = Console(browser, console_server, width=420)
    try:
        tab = narrow.open(page)
        tab.wait_for_timeout(500)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{page} scrolls sideways by {overflow} px at 420 px wide"
        if page in ("dashboard", "tables"):
            screenshot(tab, f"narrow-{page}", prefix="console")
    finally:
        narrow.context.close()
    assert not narrow.errors
