"""The one place that reads the wall clock, and the clock everything else is given.

`Server` holds one `Clock` and passes it to every job and channel: what the SLA sweep, the
digests, the outbox, a message's `received_at`, a console session's expiry and the alerts'
replay window read. In production that is `SYSTEM_CLOCK`; tests give a `ManualClock` and
move it instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, Protocol


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return utc_now()


SYSTEM_CLOCK: Final = SystemClock()


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock needs an aware datetime, not the naive {at.isoformat()}")
    return at.astimezone(UTC)


class ManualClock:
    """A clock that stands still until it is moved: what tests give the server."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> datetime:
        """Move forward by `by`; return the new time."""
        if by < timedelta(0):
            raise ValueError(f"advance moves forward only; use set() to go back {-by}")
        self._at += by
        return self._at

    def set(self, at: datetime) -> datetime:
        """Stand at `at` (aware; any zone), forward or back; return it in UTC."""
        self._at = _aware_utc(at)
        return self._at
