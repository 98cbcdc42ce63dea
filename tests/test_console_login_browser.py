"""The console's login (beyond RethinkDB) in headless Chromium against real
servers: a server whose admin has a password shows a login form, refuses a
wrong password, then runs the pages as the logged-in user (his permissions,
his name in the bar) until Log out brings the form back and closes the
page's connections; a password change sends an open page back to its login;
a server without an admin password shows no login at all.  Screenshots go
to ``test-artifacts/console-login-*.png``."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from console_login_fixtures import USERS, admin, bob, locked  # noqa: F401 (fixtures)
from rethinkdb import r as R

from browserkit import launched_chromium, screenshot, wait_for
from serverproc import temp_server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
CONNECTIONS = R.db("rethinkdb").table("connections")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as instance:
        yield instance




@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def http_rows(admin: Any, user: str) -> list[dict]:
    return list(CONNECTIONS.filter({"protocol": "http", "user": user}).run(admin))


def log_in(tab: Any, user: str, password: str) -> None:
    tab.fill("#login-user", user)
    tab.fill("#login-password", password)
    tab.keyboard.press("Enter")


def run_query(tab: Any, text: str) -> None:
    tab.click(".cm-content")
    tab.keyboard.press("Control+a")
    tab.keyboard.press("Delete")
    tab.keyboard.type(text)
    tab.keyboard.press("Escape")
    tab.keyboard.press("Shift+Enter")


def test_the_console_asks_for_a_login_and_runs_as_that_user_until_logout(tab, locked, admin, bob):
    tab.goto(f"http://127.0.0.1:{locked.http_port}/#dataexplorer")
    tab.wait_for_selector("#login-user:focus")
    assert tab.locator("main.pages").is_hidden() and tab.locator("#logout").is_hidden()
    assert http_rows(admin, "admin") == [] and http_rows(admin, bob) == []  # the form opened no connection
    log_in(tab, bob, "wrong")
    tab.wait_for_selector("#login-message:text-is('Wrong user name or password.')")
    screenshot(tab, "login-refused", prefix="console")
    log_in(tab, bob, "b0b")
    tab.wait_for_selector("#server-status[data-state=ok]")
    assert tab.inner_text("#session-user") == f"logged in as {bob}"
    assert tab.locator("#logout").is_visible()
    run_query(tab, 'r.db("rethinkdb").table("users")')
    tab.wait_for_selector(".error")
    assert f"User `{bob}` does not have the required `read` permission" in tab.inner_text(".error-message")
    assert wait_for(lambda: http_rows(admin, bob), what="the page's connections, as its user")
    assert http_rows(admin, "admin") == []
    screenshot(tab, "login-logged-in", prefix="console")
    tab.click("#logout")
    tab.wait_for_selector("#login-user:visible")
    assert tab.locator("main.pages").is_hidden()
    assert tab.inner_text("#login-message") == ""  # a logout is no "session has ended"
    wait_for(lambda: http_rows(admin, bob) == [], what="the page's connections closed by the logout")


def test_a_password_change_sends_an_open_page_back_to_its_login(tab, locked, admin, bob):
    tab.goto(f"http://127.0.0.1:{locked.http_port}/#dashboard")
    log_in(tab, bob, "b0b")
    tab.wait_for_selector("#server-status[data-state=ok]")
    wait_for(lambda: http_rows(admin, bob), what="the dashboard's connections")
    USERS.get(bob).update({"password": "n3w"}).run(admin)
    # The dashboard reads every 2 s: its next request is refused and the page starts over.
    tab.wait_for_selector("#login-message:has-text('Your session has ended')", timeout=10_000)
    assert tab.locator("main.pages").is_hidden()
    screenshot(tab, "login-session-ended", prefix="console")
    log_in(tab, bob, "n3w")
    tab.wait_for_selector("#server-status[data-state=ok]")
    assert tab.inner_text("#session-user") == f"logged in as {bob}"


def test_without_an_admin_password_there_is_no_login(tab):
    srv = temp_server()
    srv.start()
    try:
        tab.goto(f"http://127.0.0.1:{srv.http_port}/#dashboard")
        tab.wait_for_selector("#server-status[data-state=ok]")
        assert tab.locator("#login").is_hidden() and tab.locator("#logout").is_hidden()
        assert tab.inner_text("#session-user") == ""
    finally:
        srv.stop()
