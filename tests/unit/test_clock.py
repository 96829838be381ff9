from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import SYSTEM_CLOCK, Clock, ManualClock, utc_now

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)


def test_the_system_clock_reads_the_wall_clock_in_utc() -> None:
    before = utc_now()
    now = SYSTEM_CLOCK.now()
    assert now.tzinfo is UTC
    assert before <= now <= utc_now()


def test_a_manual_clock_stands_still_until_moved() -> None:
    clock: Clock = ManualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.now().tzinfo is UTC


def test_a_manual_clock_advances_and_is_set_anywhere() -> None:
    clock = ManualClock(START)
    assert clock.advance(timedelta(hours=3)) == START + timedelta(hours=3) == clock.now()
    assert clock.set(START - timedelta(days=1)) == START - timedelta(days=1) == clock.now()


def test_a_manual_clock_refuses_naive_times_and_going_back_by_advance() -> None:
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2025, 6, 2, 9, 0))  # noqa: DTZ001
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="set"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2025, 6, 2, 9, 0))  # noqa: DTZ001
    assert clock.now() == START
