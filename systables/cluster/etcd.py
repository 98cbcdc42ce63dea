"""A small etcd v3 client over etcd's JSON gateway (``/v3/...`` on the client
port), on httpx, so it runs on trio with no gRPC stack.  Only what cluster
coordination uses: keys and prefixes, leases, watches and membership.

Keys and values are ``str`` here; the gateway wants them base64-encoded.  Every
call tries the known endpoints in turn (the first that answers is used first
next time), so losing one etcd member loses nothing while a quorum remains.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx
import orjson

REQUEST_TIMEOUT = 3.0


class EtcdError(Exception):
    """No endpoint answered, or etcd refused the request."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def prefix_end(prefix: str) -> str:
    """The end of the key range holding every key that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    mod_revision: int
    lease: int


@dataclass(frozen=True)
class WatchEvent:
    kind: str  # "put" or "delete"
    key: str
    value: str | None
    mod_revision: int = 0


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    peer_urls: list[str]
    client_urls: list[str]
    learner: bool


def _kv(raw: dict) -> KeyValue:
    return KeyValue(
        _unb64(raw["key"]), _unb64(raw.get("value", "")), int(raw.get("mod_revision", 0)), int(raw.get("lease", 0))
    )


def _member(raw: dict) -> Member:
    return Member(
        raw["ID"], raw.get("name", ""), list(raw.get("peerURLs", [])), list(raw.get("clientURLs", [])),
        bool(raw.get("isLearner", False)),
    )


class Etcd:
    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = list(endpoints)
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, path: str, body: dict) -> dict:
        failures = []
        for endpoint in list(self.endpoints):
            try:
                response = await self._http.post(endpoint + path, content=orjson.dumps(body))
            except httpx.HTTPError as e:
                failures.append(f"{endpoint}: {e!r}")
                continue
            answer = orjson.loads(response.content or b"{}")
            if response.status_code != 200:
                message = answer.get("message") or answer.get("error") or response.text
                if "learner" in str(message) or "not started" in str(message):
                    failures.append(f"{endpoint}: {message}")
                    continue  # a learner or a starting member: another endpoint may serve it
                raise EtcdError(f"{path}: {message}")
            self._prefer(endpoint)
            return answer
        raise EtcdError(f"{path}: no etcd endpoint answered ({'; '.join(failures)})")

    def _prefer(self, endpoint: str) -> None:
        if self.endpoints[0] != endpoint:
            self.endpoints.remove(endpoint)
            self.endpoints.insert(0, endpoint)

    # -- keys ----------------------------------------------------------------------
    async def put(self, key: str, value: str, lease: int = 0) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        await self._call("/v3/kv/put", body)

    async def get(self, key: str) -> KeyValue | None:
        kvs = (await self._call("/v3/kv/range", {"key": _b64(key)})).get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    async def get_prefix(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Every key under ``prefix``, and the revision they were read at."""
        answer = await self._call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return [_kv(raw) for raw in answer.get("kvs", [])], int(answer["header"]["revision"])

    async def put_if(self, key: str, value: str, mod_revision: int) -> int | None:
        """Compare-and-swap: write ``key`` only if its revision is still
        ``mod_revision`` (0: only if it does not exist).  Returns the new
        revision, or None when someone changed the key first."""
        compare = {"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}
        put = {"request_put": {"key": _b64(key), "value": _b64(value)}}
        answer = await self._call("/v3/kv/txn", {"compare": [compare], "success": [put]})
        if not answer.get("succeeded"):
            return None
        return int(answer["header"]["revision"])

    async def delete(self, key: str) -> None:
        await self._call("/v3/kv/deleterange", {"key": _b64(key)})

    # -- leases --------------------------------------------------------------------
    async def grant_lease(self, ttl: int) -> int:
        return int((await self._call("/v3/lease/grant", {"TTL": ttl}))["ID"])

    async def keep_alive(self, lease: int) -> bool:
        """Renew ``lease``; False once it has expired (its keys are gone)."""
        answer = await self._call("/v3/lease/keepalive", {"ID": str(lease)})
        return int(answer.get("result", answer).get("TTL", 0)) > 0

    async def revoke_lease(self, lease: int) -> None:
        await self._call("/v3/lease/revoke", {"ID": str(lease)})

    # -- watches -------------------------------------------------------------------
    async def watch_prefix(self, prefix: str, start_revision: int) -> AsyncIterator[WatchEvent]:
        """Changes under ``prefix`` from ``start_revision`` on, until the
        endpoint goes away (then EtcdError: the caller reads again and
        re-watches)."""
        request = {"create_request": {
            "key": _b64(prefix), "range_end": _b64(prefix_end(prefix)), "start_revision": str(start_revision),
        }}
        endpoint = self.endpoints[0]
        try:
            async with self._http.stream("POST", endpoint + "/v3/watch", content=orjson.dumps(request), timeout=None) as response:
                async for line in response.aiter_lines():
                    for event in orjson.loads(line).get("result", {}).get("events", []):
                        kv = event["kv"]
                        deleted = event.get("type") == "DELETE"
                        value = None if deleted else _unb64(kv.get("value", ""))
                        yield WatchEvent("delete" if deleted else "put", _unb64(kv["key"]), value, int(kv.get("mod_revision", 0)))
        except httpx.HTTPError as e:
            self.endpoints.append(self.endpoints.pop(0))  # try another one next time
            raise EtcdError(f"watch on {endpoint} ended: {e!r}") from e
        raise EtcdError(f"watch on {endpoint} ended")

    # -- membership ----------------------------------------------------------------
    async def members(self) -> list[Member]:
        return [_member(raw) for raw in (await self._call("/v3/cluster/member/list", {})).get("members", [])]

    async def add_member(self, peer_url: str, learner: bool) -> tuple[Member, list[Member]]:
        answer = await self._call("/v3/cluster/member/add", {"peerURLs": [peer_url], "isLearner": learner})
        return _member(answer["member"]), [_member(raw) for raw in answer.get("members", [])]

    async def promote_member(self, member_id: str) -> None:
        await self._call("/v3/cluster/member/promote", {"ID": member_id})

    async def remove_member(self, member_id: str) -> None:
        await self._call("/v3/cluster/member/remove", {"ID": member_id})
