"""A dedicated path for the most frequent query of most applications: a point
read by primary key, ``r.table(t).get(k)`` or ``r.db(d).table(t).get(k)``.

It answers straight from the wire form, without compiling terms: the names are
looked up, the permission checked and the document read exactly as the general
path would.  Anything unusual (an unknown table, a system table, a missing
permission, an odd key, optargs, profiling) is left to the general path, which
then produces RethinkDB's result or error; so this path only ever answers what
the general path would answer the same way (``tests/test_fastpath.py``
compares them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import catalog as C
from ..admin import DEFAULT_DB
from ..datum import MAX_SAFE
from ..datum.ql2 import QueryType
from ..protocol import response

if TYPE_CHECKING:
    from ..protocol.query import ParsedQuery
    from .session import Session

GET, TABLE, DB = 16, 15, 14
DEFAULT_DB_TERM = [DB, [DEFAULT_DB]]
# Global optargs that change nothing for a point read (the drivers apply the formats).
HARMLESS_OPTARGS = frozenset({"db", "time_format", "binary_format", "group_format"})


def point_get(session: "Session", parsed: "ParsedQuery") -> bytes | None:
    """The response to ``parsed`` if it is a plain point read we can answer, else None."""
    if parsed.type != QueryType.START:
        return None
    target = _target(parsed)
    if target is None:
        return None
    db_name, table_name, key = target
    services = session.services
    if services.feeds.system.following("jobs"):
        return None  # a jobs feed sees every query: this one must be a job too
    if db_name == C.SYSTEM_DB or not C.NAME_RE.match(db_name) or not C.NAME_RE.match(table_name):
        return None
    catalog = services.catalog
    db = catalog.db_by_name(db_name)
    table = catalog.table_by_name(db.id, table_name) if db is not None else None
    if table is None or not services.auth.allowed(session.user, "read", db.id, table.id):
        return None
    if not services.replication.serves_locally(table.id):
        return None  # a replica's table: the general path answers why not
    try:
        doc = services.storage.table(table.id).get(key)
    except Exception:  # a key the store refuses: the general path words the error
        return None
    services.jobs.queries_started.add()
    services.counters.note_read(table.id, 1)
    return response.atom(doc)


def _target(parsed: "ParsedQuery") -> tuple[str, str, Any] | None:
    """(db, table, key) of ``[GET, [[TABLE, [db?, name]], key]]``, or None."""
    term = parsed.term
    if type(term) is not list or len(term) != 2 or term[0] != GET:
        return None
    args = term[1]
    if type(args) is not list or len(args) != 2:
        return None
    table_term, key = args
    key = _plain_key(key)
    if key is None:
        return None
    if type(table_term) is not list or len(table_term) != 2 or table_term[0] != TABLE:
        return None
    table_args = table_term[1]
    if type(table_args) is not list:
        return None
    optargs = parsed.global_optargs or {}
    if not HARMLESS_OPTARGS.issuperset(optargs):
        return None
    if len(table_args) == 1:
        db_name = _db_name(optargs.get("db", DEFAULT_DB_TERM))
        table_name = table_args[0]
    elif len(table_args) == 2:
        db_name = _db_name(table_args[0])
        table_name = table_args[1]
    else:
        return None
    if db_name is None or type(table_name) is not str:
        return None
    return db_name, table_name, key


def _db_name(term: Any) -> str | None:
    if type(term) is list and len(term) == 2 and term[0] == DB and type(term[1]) is list and len(term[1]) == 1:
        name = term[1][0]
        return name if type(name) is str else None
    return None


def _plain_key(key: Any) -> Any:
    """Strings and exactly representable integers only (other keys take the general path)."""
    t = type(key)
    if t is str:
        return None if "\x00" in key else key  # the general path words the NUL-byte error
    if t is int and -MAX_SAFE <= key <= MAX_SAFE:
        return key
    return None
