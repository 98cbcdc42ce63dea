"""ReQL errors as the server raises them, one class per response/error type.

A raised error remembers the term it was raised at (``term``), from which the
response's backtrace (``b``) is computed; the driver only uses it to underline
the failing part of the query.  They live in the bottom layer because the
datum model, the storage engine and the wire protocol raise and encode them
too; finding the raising term of an error raised without one is the
evaluator's business (``systables.reql.backtrace``).
"""

from __future__ import annotations

from typing import Any

from .ql2 import ErrorType, ResponseType


class ReqlError(Exception):
    response_type: ResponseType = ResponseType.RUNTIME_ERROR
    error_type: ErrorType | None = None

    def __init__(self, message: str, term: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.term = term

    def at(self, term: Any) -> "ReqlError":
        if self.term is None:
            self.term = term
        return self

    def backtrace(self) -> list:
        """The frames from the query's root to the term the error was raised at
        (terms link to their parent; see ``systables.reql.backtrace.locate``)."""
        term = self.term
        frames: list = []
        while term is not None and getattr(term, "parent", None) is not None:
            frames.append(term.frame)
            term = term.parent
        frames.reverse()
        return frames


class ReqlClientError(ReqlError):
    response_type = ResponseType.CLIENT_ERROR


class ReqlCompileError(ReqlError):
    response_type = ResponseType.COMPILE_ERROR


class ReqlRuntimeError(ReqlError):
    response_type = ResponseType.RUNTIME_ERROR


class ReqlInternalError(ReqlRuntimeError):
    error_type = ErrorType.INTERNAL


class ReqlResourceLimitError(ReqlRuntimeError):
    error_type = ErrorType.RESOURCE_LIMIT


class ReqlQueryLogicError(ReqlRuntimeError):
    error_type = ErrorType.QUERY_LOGIC


class ReqlNonExistenceError(ReqlQueryLogicError):
    error_type = ErrorType.NON_EXISTENCE


def array_over_limit(limit: int, term: Any = None) -> ReqlResourceLimitError:
    """RethinkDB's error for an array longer than the query's ``array_limit``."""
    return ReqlResourceLimitError(
        f"Array over size limit `{limit}`.  To raise the number of allowed elements, modify the `array_limit` "
        "option to `.run` (not available in the Data Explorer), or use an index.",
        term,
    )


class ReqlOpFailedError(ReqlRuntimeError):
    error_type = ErrorType.OP_FAILED


class ReqlOpIndeterminateError(ReqlRuntimeError):
    error_type = ErrorType.OP_INDETERMINATE


class ReqlUserError(ReqlRuntimeError):
    error_type = ErrorType.USER


class ReqlPermissionError(ReqlRuntimeError):
    error_type = ErrorType.PERMISSION_ERROR


class ReqlInterrupted(ReqlOpIndeterminateError):
    """The query was interrupted; the message says by what (jobs table, shutdown, ...)."""


# Interruption reasons (messages are RethinkDB's).
KILLED_BY_JOBS = "Query terminated by the `rethinkdb.jobs` table."
SERVER_SHUTDOWN = "Server is shutting down."
CLIENT_CLOSED = "Client closed the connection."
UNKNOWN_CAUSE = "Query terminated by an unknown cause."
HTTP_TERMINATED = "This ReQL connection has been terminated."
HTTP_TIMED_OUT = "HTTP ReQL query timed out after 300 seconds."
# Beyond RethinkDB: a connection closed by deleting its `rethinkdb.connections` row,
# and a query past its time limit (its own words, not the jobs table's: #4819).
CLOSED_BY_CONNECTIONS = "Connection closed by the `rethinkdb.connections` table."
TIME_LIMIT_PREFIX = "Query terminated: it exceeded its time limit of "
# Beyond RethinkDB: a user's connections closed when his password changes or he is deleted,
# and a console login ended (logout, expiry).
CLOSED_PASSWORD_CHANGED = "Connection closed: its user's password was changed."
CLOSED_USER_DELETED = "Connection closed: its user was deleted."
CONSOLE_LOGGED_OUT = "Connection closed: its console session ended."


def time_limit_message(seconds: float) -> str:
    return f"{TIME_LIMIT_PREFIX}{seconds:g} seconds."
