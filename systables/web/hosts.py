"""Which ``Host`` (and ``Origin``) headers the web shell answers.

The web shell has admin power and no login, so a hostile page must not reach
it through DNS rebinding (its own name resolving to our address): requests
must name the server by an address it is bound to, by ``localhost`` when it
listens on loopback, or by the machine's own name when it listens on a
public or wildcard address.  IP literals cannot be rebound, so a wildcard
bind accepts any of them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Scope = dict


def host_name(host_header: str) -> str:
    """``Host`` header value without port, brackets, case or trailing dot."""
    value = host_header.strip().lower()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@dataclass
class AllowedHosts:
    names: set[str] = field(default_factory=set)
    any_ip_literal: bool = False

    @classmethod
    def for_binds(cls, bind_hosts: list[str], bound_addresses: list[str]) -> "AllowedHosts":
        allowed = cls()
        allowed.names.update(host_name(h) for h in bind_hosts)
        allowed.names.update(host_name(a) for a in bound_addresses)
        for address in bound_addresses:
            ip = _ip(address)
            if ip is None:
                continue
            if ip.is_loopback:
                allowed.names.add("localhost")
            else:
                allowed.names.update(_own_names())
            if ip.is_unspecified:
                allowed.any_ip_literal = True
        return allowed

    def allows(self, host_header: str) -> bool:
        name = host_name(host_header)
        if not name:
            return False
        if name in self.names:
            return True
        return self.any_ip_literal and _ip(name) is not None


def _own_names() -> set[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower(), "localhost"}
    return {n.rstrip(".") for n in names if n}


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def same_origin(origin: str, host_header: str) -> bool:
    """Whether an ``Origin`` header names this very host (and port)."""
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()
