"""Resumable changefeeds (beyond RethinkDB): ``changes(include_resume_token=
True)`` and ``changes(resume_from=TOKEN)``.

A resumed feed first replays, in commit order, every change the table's
change log holds after the token's position, through subscriptions of its
own (the same filters and transforms as the live ones), then continues
live.  The log reader and the live subscriptions are opened in one step,
so the replay ends exactly where the live feed begins: no change is missed
or delivered twice.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

from .. import datum as D
from ..datum.errors import ReqlOpFailedError, ReqlQueryLogicError
from ..feeds.queue import FeedQueue
from ..feeds.resume import parse_resume_token
from ..feeds.subscriptions import Subscription
from ..storage import TableStore
from ..timeslice import yield_now
from .tables import TableVal

REPLAY_CHUNK = 500  # log entries read between two batches

NOT_ON_LIMIT = "Resume tokens are not supported on `order_by.limit` or `min`/`max` changefeeds."
NOT_ON_SYSTEM = "System tables don't support resume tokens."
ONE_TABLE = "Resume tokens need a changefeed on a single table."
NOT_WITH_INITIAL = "Cannot use `include_initial` with `resume_from`."


def check_resumable(tables: list[TableVal], limit: bool, at: Any) -> None:
    """Refuse feeds whose notifications cannot carry one table's log position."""
    if limit:
        raise ReqlQueryLogicError(NOT_ON_LIMIT, at)
    if any(t.computed_rows for t in tables):
        raise ReqlQueryLogicError(NOT_ON_SYSTEM, at)
    if len({t.id for t in tables}) > 1:
        raise ReqlQueryLogicError(ONE_TABLE, at)


def resume_position(table: TableVal, token: Any, at: Any) -> int:
    """The log position a token names, checked against the table's log."""
    if type(token) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {D.type_name(token)}.", at)
    try:
        table_id, position = parse_resume_token(token)
    except ValueError:
        raise ReqlQueryLogicError(f"Invalid resume token `{token}`.", at) from None
    if table_id != table.id:
        raise ReqlQueryLogicError(f"The resume token is not from a changefeed on table `{table.qualified_name}`.", at)
    store = table.store
    log = store.log
    if position < log.trimmed:
        raise ReqlOpFailedError(
            f"Cannot resume the changefeed: the changes after this resume token are no longer kept "
            f"(table `{table.qualified_name}` keeps changes for {store.log_retention.describe()}, "
            f"its `changefeed_retention`).",
            at,
        )
    if position > log.last:
        raise ReqlOpFailedError(
            f"Cannot resume the changefeed: the resume token is ahead of table `{table.qualified_name}`'s "
            "change log (it does not come from this table's data).",
            at,
        )
    return position


def open_replay(
    store: TableStore, position: int, subscribe: Callable[[FeedQueue, int], list[Subscription]]
) -> AsyncIterator[list[dict]]:
    """Open the log reader now; the notifications it replays come from
    subscriptions made by ``subscribe(queue, after)``, batch by batch."""
    queue = FeedQueue(capacity=1 << 62, squash=False)  # one chunk's notifications at a time
    subs = subscribe(queue, position)
    reader = store.changes_after(position)

    async def batches() -> AsyncIterator[list[dict]]:
        try:
            while True:
                changes = reader.next_chunk(REPLAY_CHUNK)
                if not changes:
                    return
                for sub in subs:
                    sub.on_changes(changes)
                out = queue.take()
                if out:
                    yield out
                else:
                    await yield_now()
        finally:
            reader.close()

    return batches()
