"""Benchmarks of systables through the wire protocol: throughput, latency,
server CPU per operation and peak memory, side by side with the null-server
ceiling and, optionally, another RethinkDB-compatible server.

    python -m bench --help
"""
