"""Server lifecycle: clean shutdown answers queries in flight, port 0, closing a
connection cancels its queries."""

from __future__ import annotations

import threading

from helpers import poll, query_jobs_of
from rethinkdb.errors import ReqlOpIndeterminateError
from serverproc import temp_server


def run_in_thread(fn):
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except Exception as e:  # noqa: BLE001 - the test inspects it
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def test_sigterm_answers_queries_in_flight(r):
    srv = temp_server(http=False).start()
    try:
        conn = r.connect(host=srv.host, port=srv.port)
        watcher = r.connect(host=srv.host, port=srv.port)
        t, box = run_in_thread(lambda: r.range(10**10).count().run(conn))
        poll(lambda: query_jobs_of(r, watcher, conn.client_port()), lambda rows: len(rows) == 1)
        assert t.is_alive()
    finally:
        code = srv.stop()
    t.join(10)
    assert isinstance(box.get("error"), ReqlOpIndeterminateError)
    assert box["error"].message == "Server is shutting down."
    assert code == 0
    assert any("Server stopped." in line for line in srv.output)


def test_port_zero_reports_the_chosen_ports():
    with temp_server() as srv:
        assert srv.port > 0 and srv.http_port > 0 and srv.port != srv.http_port


def test_closing_a_connection_cancels_its_queries(server, r):
    watcher = r.connect(host=server.host, port=server.port)
    victim = r.connect(host=server.host, port=server.port)
    port = victim.client_port()
    t, box = run_in_thread(lambda: r.range(10**10).count().run(victim))
    poll(lambda: query_jobs_of(r, watcher, port), lambda rows: len(rows) == 1)
    victim.close(noreply_wait=False)
    poll(lambda: query_jobs_of(r, watcher, port), lambda rows: rows == [], timeout=5)
    watcher.close()
