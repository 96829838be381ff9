"""Units of work run again while the database is away for a moment (restart, failover)."""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

# A database that is away for a moment (failover, restart) gets these waits, about eight
# seconds in all: a PostgreSQL restart takes a few. Then the caller is told it is away.
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.5, 2.0, 3.0)
P = ParamSpec("P")
T = TypeVar("T")

# SQLSTATE codes of a server that is away, not of a wrong statement: connection
# exceptions (class 08), admin/crash shutdown and "cannot connect now" (57P01-57P03),
# too many connections (53300), and serialisation failures and deadlocks (40001, 40P01),
# which succeed when the transaction is run again.
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
_TRANSIENT_WORDS = (
    "connection",
    "database is locked",
    "database table is locked",
    "busy",
    "timeout",
    "timed out",
    "terminat",
    "closed",
    "refused",
    "shutdown",
    "shutting down",
    "starting up",
    "cannot connect now",
    "unable to open database",
)


_SOCKET_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENOTCONN,
    }
)


class DatabaseUnavailable(RuntimeError):
    """The database stayed away through every retry; nothing of the unit was written."""


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is x for x in seen) or len(seen) > 8:
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return seen


def transient(exc: BaseException) -> bool:
    """Whether an error means the database is away for a moment (retry) rather than that
    the statement is wrong (raise): refused, reset or closed connections, a server
    shutting down or starting up, a locked SQLite file, a timeout."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for e in _causes(exc):
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and state:
            return state.startswith(_TRANSIENT_STATES)
    for e in _causes(exc):
        if isinstance(e, ConnectionError | TimeoutError):
            return True
        if isinstance(e, OSError) and e.errno in _SOCKET_ERRNOS:
            return True  # a socket that could not be opened or was cut
    # Only the driver's own errors may be read as transient by their wording.
    driver = type(exc).__module__.split(".")[0] in ("asyncpg", "sqlite3", "aiosqlite")
    if not isinstance(exc, DBAPIError | OSError) and not driver:
        return False
    text = " ".join(str(e) for e in _causes(exc)).lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def retrying(op: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a unit of work again while the database is briefly unavailable; raise
    DatabaseUnavailable once it stayed away through every wait."""

    @functools.wraps(op)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        last: BaseException | None = None
        for delay in (*RETRY_DELAYS, None):
            try:
                return await op(*args, **kwargs)
            except DatabaseUnavailable:
                raise  # an inner unit already waited its full time
            except (DBAPIError, OSError, TimeoutError) as exc:
                if not transient(exc):
                    raise
                last = exc
                if delay is None:
                    break
                log.warning(
                    "database unavailable (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
        raise DatabaseUnavailable("the database did not answer; try again shortly") from last

    return wrapper
