"""The web shell in a real headless Chromium (Debian's, driven by Playwright):
typing and running queries, the result views, paging, Abort, the table
browser, history, changefeeds (shown live, stopped with Stop, failing when
their table is dropped, stopped by leaving the page), and the jobs panel
pushed by its feed (kill, index construction).
Screenshots of the page are saved under ``test-artifacts/``."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from helpers import missing_tool
from rethinkdb import r as R
from rethinkdb.errors import ReqlOpIndeterminateError

from browserkit import CHROMIUM_ARGS, ROOT, chromium_path, wait_for
from browserkit import screenshot as save_screenshot
from serverproc import ServerProcess, temp_server

pytestmark = pytest.mark.browser

DIST = ROOT / "systables" / "web" / "shell"
MAX_BUNDLE_BYTES = 1_000_000
ENDLESS_JS = "r.range(1e12).filter(function(x) { return x.ge(0); }).count()"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The built web shell; built here if a developer ran pytest without make."""
    if not (DIST / "index.html").is_file():
        built = subprocess.run(["make", "webshell"], cwd=ROOT, capture_output=True, text=True)
        if built.returncode != 0 or not (DIST / "index.html").is_file():
            pytest.fail(f"web shell not built (make webshell failed):\n{built.stdout}\n{built.stderr}")
    return DIST


@pytest.fixture(scope="module")
def browser(bundle: Path) -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        missing_tool("Chromium", "make chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def shell_server() -> Iterator[ServerProcess]:
    """A server of the module's own, so the jobs panel shows only our jobs."""
    srv = temp_server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def db(shell_server: ServerProcess) -> Iterator[Any]:
    conn = R.connect(host=shell_server.host, port=shell_server.port)
    yield conn
    conn.close()


@pytest.fixture
def page(browser: Any, shell_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(f"http://127.0.0.1:{shell_server.http_port}/#dataexplorer")
    tab.wait_for_selector("#server-status[data-state=ok]")
    yield tab
    screenshot(tab, request.node.name)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def screenshot(tab: Any, name: str) -> None:
    save_screenshot(tab, name)


def type_query(tab: Any, text: str) -> None:
    tab.click(".cm-content")
    tab.keyboard.press("Control+a")
    tab.keyboard.press("Delete")
    tab.keyboard.type(text)
    tab.keyboard.press("Escape")  # close any completion popup


def run_query(tab: Any, text: str) -> None:
    type_query(tab, text)
    tab.keyboard.press("Shift+Enter")


def fresh_table(conn: Any, name: str, docs: list[dict]) -> None:
    if name in R.table_list().run(conn):
        R.table_drop(name).run(conn)
    R.table_create(name).run(conn)
    for start in range(0, len(docs), 2000):
        R.table(name).insert(docs[start:start + 2000]).run(conn)


def query_jobs(conn: Any, fragment: str) -> list[dict]:
    return [j for j in R.db("rethinkdb").table("jobs").filter({"type": "query"}).run(conn)
            if fragment in j["info"]["query"]]


# ---------------------------------------------------------------------------

def test_bundle_is_under_one_megabyte(bundle: Path):
    size = (bundle / "shell.js").stat().st_size
    assert 0 < size < MAX_BUNDLE_BYTES, f"shell.js is {size} bytes"


def test_query_results_in_tree_table_and_raw_views(page, db):
    hostile = "<img src=x onerror=window.pwned=1>"
    fresh_table(db, "people", [
        {"id": 1, "name": "Ada", "born": R.epoch_time(0), "photo": R.binary(b"hello"), "address": {"city": "Paris"}},
        {"id": 2, "name": hostile, "born": R.epoch_time(86400.5), "tags": ["x", "y"], "<i>key</i>": True},
        {"id": 3, "name": "Bob"},
    ])
    run_query(page, 'r.table("people").orderBy("id")')
    page.wait_for_selector(".result-range:text-is('3 rows')")
    tree = page.locator(".tree")
    assert tree.locator(".tree-row").count() == 3
    assert "Ada" in tree.inner_text() and hostile in tree.inner_text()
    assert "1970-01-01T00:00:00+00:00" in tree.inner_text()
    assert "<binary, 5 bytes: 68 65 6c 6c 6f>" in tree.inner_text()
    assert page.locator(".results img, .results i").count() == 0
    assert '"<i>key</i>"' in tree.inner_text()
    assert page.evaluate("window.pwned") is None
    assert "server time" in page.inner_text(".result-header")

    page.click(".view-tab[data-view=table]")
    headers = page.locator(".result-table thead th").all_inner_texts()
    assert headers[:3] == ["#", "id", "name"]
    assert {"born", "photo", "address.city", "tags", "<i>key</i>"} <= set(headers)
    assert page.locator(".result-table tbody tr").count() == 3
    table_text = page.inner_text(".result-table")
    assert "1970-01-02T00:00:00.500+00:00" in table_text and "Paris" in table_text and hostile in table_text

    page.click(".view-tab[data-view=raw]")
    raw = page.inner_text(".raw")
    assert '"$reql_type$": "TIME"' in raw and '"id": 3' in raw


def test_errors_are_shown(page):
    run_query(page, 'r.table("no_such_table")')
    page.wait_for_selector(".error")
    assert "Table `test.no_such_table` does not exist" in page.inner_text(".error-message")
    assert page.inner_text(".error-kind") == "ReqlOpFailedError"
    run_query(page, "r.expr(1).run()")
    page.wait_for_selector(".error-message:has-text('remove .run()')")
    run_query(page, "r.expr(1) +* 2")
    page.wait_for_selector(".error-kind:text-is('SyntaxError')")


def test_statements_before_the_last_query(page):
    run_query(page, 'var base = r.expr([3, 1, 2]); base.orderBy(function (x) { return x; })')
    page.wait_for_selector(".result-range")
    page.click(".view-tab[data-view=raw]")
    assert page.inner_text(".raw").split() == ["[", "1,", "2,", "3", "]"]


def test_profile_view(page):
    page.check("#profiler")
    run_query(page, "r.expr([1, 2, 3])")
    page.click(".view-tab[data-view=profile]")
    assert "Evaluating query." in page.inner_text(".profile-tree")
    page.click(".profile-raw summary")
    assert "Evaluating query." in page.inner_text(".profile-raw .raw")
    page.uncheck("#profiler")
    run_query(page, "r.expr(1)")
    page.wait_for_selector(".result-range")
    assert page.locator(".view-tab[data-view=profile]").count() == 0


def test_autocompletion_of_commands_and_names(page, db):
    fresh_table(db, "people", [{"id": 1}])
    page.click(".browser .refresh")
    page.wait_for_selector(".browser-table[data-table=people]")
    type_query(page, 'r.table("peo')
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".cm-tooltip-autocomplete li:has-text('people')")
    type_query(page, 'r.db("te')
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".cm-tooltip-autocomplete li:has-text('test')")
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.type('r.table("people").orderB')
    page.wait_for_selector(".cm-tooltip-autocomplete li:has-text('orderBy')")
    screenshot(page, "autocompletion-popup")
    page.keyboard.press("Enter")
    assert 'r.table("people").orderBy()' in page.inner_text(".cm-content")


def test_long_query_is_aborted(page, db):
    run_query(page, ENDLESS_JS)
    page.wait_for_selector("#abort:visible")
    wait_for(lambda: query_jobs(db, "r.range(1000000000000)"))
    page.wait_for_selector(".jobs-row[data-type=query] .job-query:has-text('r.range(1000000000000)')")
    screenshot(page, "long-query-running")
    page.click("#abort")
    page.wait_for_selector(".status.aborted:has-text('Query aborted.')")
    assert page.locator("#abort").is_hidden()
    wait_for(lambda: not query_jobs(db, "r.range(1000000000000)"))


def test_leaving_the_page_ends_its_queries(page, db):
    run_query(page, ENDLESS_JS)
    wait_for(lambda: query_jobs(db, "r.range(1000000000000)"))
    page.reload()
    wait_for(lambda: not query_jobs(db, "r.range(1000000000000)"), timeout=5)


def test_kill_a_query_from_the_jobs_panel(page, shell_server):
    outcome: dict[str, Any] = {}

    def victim() -> None:
        conn = R.connect(host=shell_server.host, port=shell_server.port)
        try:
            R.js("while(true) {}", timeout=60).run(conn)
        except Exception as exc:  # the kill's effect, checked below
            outcome["error"] = exc
        finally:
            conn.close()

    thread = threading.Thread(target=victim, daemon=True)
    thread.start()
    row = page.locator(".jobs-row[data-type=query]", has_text='r.js("while(true) {}", {"timeout": 60})')
    row.wait_for()
    assert "admin" in row.locator(".job-client").inner_text()
    assert not page.locator(".jobs-row", has_text='table("jobs").changes(').count()  # the panel's own feed is hidden
    row.locator("button.kill").click()
    screenshot(page, "kill-confirmation")
    row.locator("button.kill-confirm").click()
    page.wait_for_selector(".jobs-message[data-outcome=ok]:has-text('Killed query')")
    thread.join(15)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, ReqlOpIndeterminateError), error
    assert error.message == "Query terminated by the `rethinkdb.jobs` table."
    row.and_(page.locator("[data-state=ended]")).wait_for()  # kept a few seconds, marked
    row.wait_for(state="detached")


def test_cancelled_kill_leaves_the_query_running(page, db):
    run_query(page, ENDLESS_JS)
    row = page.locator(".jobs-row[data-type=query]", has_text="r.range(1000000000000)")
    row.locator("button.kill").click()
    row.locator("button.kill-cancel").click()
    time.sleep(1.0)  # a poll or two
    assert query_jobs(db, "r.range(1000000000000)")
    page.click("#abort")


def test_index_construction_progress_moves(page, db):
    docs = [{"id": i, "v": i % 977} for i in range(60_000)]
    fresh_table(db, "indexed", docs)
    # A deliberately costly index function makes the build last a few seconds.
    R.table("indexed").index_create("heavy", lambda d: R.range(400).map(lambda i: d["v"].add(i)).sum()).run(db)
    bar = page.locator(".jobs-row[data-type=index_construction] progress")
    bar.wait_for()
    assert "indexed, index heavy" in page.inner_text(".jobs-row[data-type=index_construction]")
    screenshot(page, "index-construction")
    seen = [float(bar.get_attribute("value") or 0)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and bar.count() and len(set(seen)) < 2:
        try:
            seen.append(float(bar.get_attribute("value", timeout=1000) or 0))
        except Exception:  # the row vanished when the build finished
            break
        time.sleep(0.3)
    distinct = sorted(set(seen))
    assert len(distinct) >= 2, f"progress never moved: {seen}"
    assert seen[-1] >= seen[0]
    # The rest of this build would take a minute and more: dropping the index
    # ends it, and its row must leave the panel as a finished build's does.
    R.table("indexed").index_drop("heavy").run(db)
    page.locator(".jobs-row[data-type=index_construction]").wait_for(state="detached")


def test_table_browser_counts_and_opens_tables(page, db):
    fresh_table(db, "people", [{"id": i} for i in range(3)])
    page.click(".browser .refresh")
    count = page.locator('.table-count[data-key="test.people"]')
    count.filter(has_text="3").wait_for()
    page.click(".browser-table[data-table=people]")
    page.wait_for_selector(".result-range:text-is('3 rows')")
    assert 'r.db("test").table("people")' in page.inner_text(".cm-content")


def test_history_and_draft_survive_a_reload(page):
    run_query(page, "r.expr('first')")
    page.wait_for_selector(".result-range")
    run_query(page, "r.expr('second')")
    page.wait_for_selector(".tree:has-text('second')")
    type_query(page, "r.expr('draft')")
    page.wait_for_timeout(500)  # the draft is saved shortly after typing
    page.reload()
    page.wait_for_selector("#server-status[data-state=ok]")
    assert "r.expr('draft')" in page.inner_text(".cm-content")
    page.click("#history-toggle")
    entries = page.locator(".history-entry").all_inner_texts()
    assert entries[:2] == ["r.expr('second')", "r.expr('first')"]
    page.locator(".history-entry", has_text="first").click()
    assert "r.expr('first')" in page.inner_text(".cm-content")


def test_ten_thousand_rows_are_paged(page, db):
    fresh_table(db, "big", [{"id": i, "payload": "x" * 40, "n": {"a": i}} for i in range(10_000)])
    run_query(page, 'r.table("big").orderBy({index: "id"})')
    page.wait_for_selector(".result-range:text-is('Rows 1–40')")
    assert page.locator(".tree-row").count() == 40
    page.click(".page-more")
    page.wait_for_selector(".result-range:text-is('Rows 41–80')")
    page.click(".view-tab[data-view=table]")
    assert page.locator(".result-table tbody tr").count() == 40
    assert page.locator(".result-table tbody tr").first.locator("td").nth(1).inner_text() == "40"
    page.select_option(".page-size", "500")
    page.wait_for_selector(".result-range:text-is('Rows 1–500')")
    assert page.locator(".result-table tbody tr").count() == 500
    # The page stays small and interactive: only one page is ever in the DOM.
    assert page.evaluate("document.getElementsByTagName('*').length") < 15_000
    type_query(page, "r.expr(1)")
    assert "r.expr(1)" in page.inner_text(".cm-content")


def test_array_results_are_paged_in_the_page(page):
    run_query(page, "r.range(10000).map(function (i) { return {i: i}; }).orderBy('i')")
    page.wait_for_selector(".result-range:has-text('Rows 1–40 of 10000')")
    assert page.locator(".tree-row").count() == 40
    page.click(".page-more")
    page.wait_for_selector(".result-range:has-text('Rows 41–80 of 10000')")


# -- changefeeds in the Data Explorer ------------------------------------------------

def feed_jobs(conn: Any, table: str) -> list[dict]:
    return query_jobs(conn, f'table("{table}").changes()')


def test_a_changefeed_is_shown_live_and_stopped_with_the_stop_button(page, db):
    fresh_table(db, "feed_live", [])
    run_query(page, 'r.table("feed_live").changes()')
    page.wait_for_selector(".feed-state[data-state=live]")
    page.wait_for_selector(".result-range:has-text('waiting for changes')")
    [job] = wait_for(lambda: feed_jobs(db, "feed_live"))
    R.table("feed_live").insert({"id": 1, "name": "first change"}).run(db)
    page.wait_for_selector(".result-range:has-text('latest 1 change')")
    assert "first change" in page.inner_text(".tree")
    R.table("feed_live").get(1).update({"name": "second change"}).run(db)
    page.wait_for_selector(".result-range:has-text('latest 2 changes')")
    newest = page.locator(".tree-row").first.inner_text()
    assert "second change" in newest and "first change" in newest  # new_val and old_val of the update
    assert "second change" not in page.locator(".tree-row").nth(1).inner_text()
    screenshot(page, "changefeed-live")

    stop = page.get_by_role("button", name="Stop the changefeed")
    assert stop.is_visible() and stop.is_enabled()
    stop.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".feed-state[data-state=stopped]")
    assert stop.is_hidden()
    assert page.evaluate("document.activeElement.id") == "run"
    assert page.evaluate("document.body.dataset.running") == "false"
    wait_for(lambda: not feed_jobs(db, "feed_live"), what="the feed's query leaving rethinkdb.jobs")
    assert page.locator(".tree-row").count() == 2  # what the feed showed stays
    screenshot(page, "changefeed-stopped")
    run_query(page, "r.expr('after the feed')")
    page.wait_for_selector(".tree:has-text('after the feed')")
    assert not page.locator(".feed-state").count()


def test_a_changefeed_that_fails_shows_its_error(page, db):
    fresh_table(db, "feed_dropped", [])
    run_query(page, 'r.table("feed_dropped").changes()')
    page.wait_for_selector(".feed-state[data-state=live]")
    wait_for(lambda: feed_jobs(db, "feed_dropped"))
    R.table("feed_dropped").insert({"id": 1}).run(db)
    page.wait_for_selector(".result-range:has-text('latest 1 change')")
    R.table_drop("feed_dropped").run(db)
    page.wait_for_selector(".feed-state[data-state=failed]")
    error = page.locator(".feed-error")
    assert "Changefeed aborted (unavailable)" in error.locator(".error-message").inner_text()
    assert error.locator(".error-kind").inner_text() == "ReqlOpFailedError"
    assert page.locator("#stop-feed").is_hidden()
    assert page.locator(".tree-row").count() == 1
    screenshot(page, "changefeed-failed")
    assert not feed_jobs(db, "feed_dropped")


def test_leaving_the_data_explorer_stops_its_changefeed(page, db):
    fresh_table(db, "feed_left", [])
    run_query(page, 'r.table("feed_left").changes()')
    page.wait_for_selector(".feed-state[data-state=live]")
    wait_for(lambda: feed_jobs(db, "feed_left"))
    page.click(".nav a[href='#logs']")
    page.wait_for_selector("#page-logs:visible")
    wait_for(lambda: not feed_jobs(db, "feed_left"), what="the feed ending")
    page.click(".nav a[href='#dataexplorer']")
    page.wait_for_selector(".feed-state[data-state=stopped]")
