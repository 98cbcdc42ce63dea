"""Which term an error was raised at, when the code raising it did not say.

Looking it up only when an error is reported keeps the happy path free of
bookkeeping: the innermost ``Term.eval`` frame of the traceback is the term
RethinkDB's backtrace points at.
"""

from __future__ import annotations

from ..datum.errors import ReqlError
from .term import Term


def locate(exc: ReqlError) -> ReqlError:
    """Set ``exc.term`` from its traceback if it has none; returns ``exc``."""
    if exc.term is None:
        found = None
        tb = exc.__traceback__
        while tb is not None:
            candidate = tb.tb_frame.f_locals.get("self")
            if isinstance(candidate, Term):
                found = candidate
            tb = tb.tb_next
        exc.term = found
    return exc
