"""Command line: ``systables serve`` (RethinkDB's flags where they apply)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

import trio

from . import __version__
from .cluster import ClusterSetupError
from .node import RETHINKDB_VERSION, Node, ServerOptions
from .server import run_server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="systables", description="A RethinkDB-compatible document database server.")
    parser.add_argument("--version", action="version",
                        version=f"systables {__version__} (RethinkDB {RETHINKDB_VERSION} protocol and ReQL)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--bind", action="append", metavar="ADDR",
                       help="address to listen on (repeatable; 'all' for every interface; default 127.0.0.1)")
    serve.add_argument("--driver-port", type=int, default=28015, help="client driver port (0 picks a free port)")
    serve.add_argument("--http-port", type=int, default=8080, help="web shell / HTTP admin port (0 picks a free port)")
    serve.add_argument("--cluster-port", type=int, default=29015, help="port other servers join this one on (0 picks a free port)")
    serve.add_argument("-j", "--join", action="append", metavar="HOST:PORT", type=host_port, default=[],
                       help="join the cluster of the server at HOST:PORT, its cluster port (repeatable)")
    serve.add_argument("-t", "--server-tag", action="append", dest="server_tags", metavar="TAG",
                       help="a tag of this server (repeatable; default: default)")
    serve.add_argument("--canonical-address", action="append", default=[], metavar="ADDR",
                       help="the address other servers reach this one at (repeatable)")
    serve.add_argument("-o", "--port-offset", type=int, default=0, help="add this to every port")
    serve.add_argument("-d", "--directory", default="systables_data", help="data directory")
    serve.add_argument("-n", "--server-name", help="server name (default: host name plus a random suffix)")
    serve.add_argument("--initial-password", help="password of the admin user when the data directory is new")
    serve.add_argument("--no-http-admin", action="store_true", help="do not serve the web shell")
    serve.add_argument("--cache-size", dest="cache_size_mb", default="auto", help="cache size in MB (reported)")
    return parser


def host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    bind = args.bind or ["127.0.0.1"]
    if "all" in bind:
        bind = ["0.0.0.0"]
    return ServerOptions(
        bind=bind,
        driver_port=args.driver_port,
        http_port=args.http_port,
        cluster_port=args.cluster_port,
        join=list(args.join),
        server_tags=args.server_tags,
        canonical_addresses=list(args.canonical_address),
        port_offset=args.port_offset,
        directory=args.directory,
        server_name=args.server_name,
        initial_password=args.initial_password,
        http_admin=not args.no_http_admin,
        cache_size_mb=args.cache_size_mb,
        argv=masked_argv(sys.argv),
    )


SECRET_FLAGS = ("--initial-password",)
HIDDEN = "<hidden>"


def masked_argv(argv: list[str]) -> list[str]:
    """The command line as server_status shows it, without the initial password
    (RethinkDB shows it to anyone who may read server_status)."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        flag = arg.split("=", 1)[0]
        if hide_next:
            out.append(HIDDEN)
        elif flag in SECRET_FLAGS and "=" in arg:
            out.append(f"{flag}={HIDDEN}")
        else:
            out.append(arg)
        hide_next = not hide_next and arg in SECRET_FLAGS
    return out


def announce(node: Node) -> None:
    for host, port in node.driver_addresses:
        print(f"Listening for client driver connections on {host}:{port}", flush=True)
    for host, port in node.http_addresses:
        print(f"Listening for administrative HTTP connections on http://{host}:{port}/", flush=True)
    if node.cluster_port:
        print(f"Listening for intracluster connections on port {node.cluster_port}", flush=True)
    print(f'Server ready, "{node.name}" {node.server_id}', flush=True)


# Term trees and datums are compiled, evaluated, encoded and stored by
# recursive code, and RethinkDB accepts them nested 100,000 deep.  The event
# loop therefore runs in a thread whose stack is reserved this large (pages are
# only committed as they are used: about 2 KB per level of nesting), with a
# recursion limit to match; the depth caps (reql/term.MAX_NESTING) keep the use
# well inside both.
LOOP_STACK_BYTES = 1 << 30
WORKER_STACK_BYTES = 64 << 20
RECURSION_LIMIT = 2_000_000


class StopRequest:
    """SIGINT/SIGTERM are delivered to the main thread; this hands them to the
    event loop, which runs in a thread of its own."""

    def __init__(self) -> None:
        self.token: trio.lowlevel.TrioToken | None = None
        self.event: trio.Event | None = None
        self.requested = False

    async def wait(self) -> None:
        self.event = trio.Event()
        self.token = trio.lowlevel.current_trio_token()
        if not self.requested:
            await self.event.wait()

    def request(self, *_: Any) -> None:
        self.requested = True
        if self.token is not None and self.event is not None:
            try:
                self.token.run_sync_soon(self.event.set)
            except trio.RunFinishedError:
                pass


def serve(options: ServerOptions) -> None:
    stop = StopRequest()
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            trio.run(run_server, options, announce, stop.wait)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            failure.append(e)

    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(LOOP_STACK_BYTES)
    thread = threading.Thread(target=loop, name="event-loop")
    thread.start()
    # Worker threads (large parses, compiles) get a roomier stack than the
    # default 8 MB too, for the C recursion of pickling a deep document.
    threading.stack_size(WORKER_STACK_BYTES)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.request)
    while thread.is_alive():
        thread.join(0.5)
    if failure:
        setup = _setup_error(failure[0])
        if setup is not None:
            sys.exit(f"error: {setup}")
        raise failure[0]


def _setup_error(error: BaseException) -> ClusterSetupError | None:
    """The cluster could not be joined or started: a message, not a traceback."""
    if isinstance(error, ClusterSetupError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _setup_error(inner)
            if found is not None:
                return found
    return None


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(options_from_args(args))
        print("Server stopped.", flush=True)
