"""Command line: ``systables serve`` (RethinkDB's flags where they apply)."""

from __future__ import annotations

import argparse
import sys

import trio

from . import __version__
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
    serve.add_argument("--cluster-port", type=int, default=29015, help="reported in server_status (no clustering yet)")
    serve.add_argument("-o", "--port-offset", type=int, default=0, help="add this to every port")
    serve.add_argument("-d", "--directory", default="systables_data", help="data directory")
    serve.add_argument("-n", "--server-name", help="server name (default: host name plus a random suffix)")
    serve.add_argument("--initial-password", help="password of the admin user when the data directory is new")
    serve.add_argument("--no-http-admin", action="store_true", help="do not serve the web shell")
    serve.add_argument("--cache-size", dest="cache_size_mb", default="auto", help="cache size in MB (reported)")
    return parser


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    bind = args.bind or ["127.0.0.1"]
    if "all" in bind:
        bind = ["0.0.0.0"]
    return ServerOptions(
        bind=bind,
        driver_port=args.driver_port,
        http_port=args.http_port,
        cluster_port=args.cluster_port,
        port_offset=args.port_offset,
        directory=args.directory,
        server_name=args.server_name,
        initial_password=args.initial_password,
        http_admin=not args.no_http_admin,
        cache_size_mb=args.cache_size_mb,
        argv=list(sys.argv),
    )


def announce(node: Node) -> None:
    for host, port in node.driver_addresses:
        print(f"Listening for client driver connections on {host}:{port}", flush=True)
    for host, port in node.http_addresses:
        print(f"Listening for administrative HTTP connections on http://{host}:{port}/", flush=True)
    print(f'Server ready, "{node.name}" {node.server_id}', flush=True)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    # Term trees are compiled and evaluated recursively; the compiler caps their
    # depth, and this leaves room for that cap.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    if args.command == "serve":
        try:
            trio.run(run_server, options_from_args(args), announce)
        except KeyboardInterrupt:
            pass
        print("Server stopped.", flush=True)
