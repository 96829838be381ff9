"""Which database errors are a database away for a moment, and what the retry does then."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage import retry as store
from storage.retry import DatabaseUnavailable, transient


class _PgError(Exception):
    """A driver error carrying its SQLSTATE, as asyncpg's (and SQLAlchemy's adapter) do."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(message: str, sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _PgError(message, sqlstate))


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        OSError(errno.ECONNREFUSED, "Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),
        _wrapped("terminating connection due to administrator command", "57P01"),
        _wrapped("the database system is shutting down", "57P03"),
        _wrapped("the database system is starting up", "57P03"),
        _wrapped("connection was closed in the middle of operation", "08003"),
        _wrapped("sorry, too many clients already", "53300"),
        _wrapped("could not serialize access due to concurrent update", "40001"),
        OperationalError("INSERT", {}, Exception("database is locked")),
    ],
    ids=lambda e: str(e)[:40],
)
def test_a_database_away_for_a_moment_is_transient(exc: BaseException) -> None:
    assert transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, _PgError("duplicate key value", "23505")),
        _wrapped('column "x" does not exist', "42703"),
        # A wrong statement that happens to mention a connection is still wrong.
        _wrapped("invalid input value: connection refused", "22P02"),
        OperationalError("SELECT x", {}, Exception("no such column: x")),
        OSError(errno.ENOENT, "No such file or directory"),
        ValueError("connection"),
    ],
    ids=lambda e: str(e)[:40],
)
def test_a_wrong_statement_is_not_transient(exc: BaseException) -> None:
    assert not transient(exc)


async def test_the_retry_waits_then_says_the_database_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    calls = 0

    @store.retrying
    async def away() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")

    with pytest.raises(DatabaseUnavailable) as caught:
        await away()
    assert calls == 4  # the first try and one after each wait
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_an_inner_unit_that_gave_up_is_not_retried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "RETRY_DELAYS", (0.0, 0.0))
    outer_calls = 0

    @store.retrying
    async def inner() -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")

    @store.retrying
    async def outer() -> None:
        nonlocal outer_calls
        outer_calls += 1
        await inner()

    with pytest.raises(DatabaseUnavailable):
        await outer()
    assert outer_calls == 1
