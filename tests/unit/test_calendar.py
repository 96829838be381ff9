from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from escalation.tickets.calendar import (
    CalendarError,
    WorkingCalendar,
    load_calendar,
    parse_periods,
)

CST = ZoneInfo("Asia/Shanghai")
CAL = load_calendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_friday_evening_hour_lands_monday_morning() -> None:
    assert CAL.add(at("2025-06-06T17:30+08:00"), timedelta(hours=1)) == at(
        "2025-06-09T09:30+08:00"
    )


def test_time_running_out_at_closing_stays_that_day() -> None:
    assert CAL.add(at("2025-06-06T17:00+08:00"), timedelta(hours=1)) == at(
        "2025-06-06T18:00+08:00"
    )


def test_lunch_break_is_not_counted() -> None:
    assert CAL.add(at("2025-06-04T11:30+08:00"), timedelta(hours=1)) == at(
        "2025-06-04T14:00+08:00"
    )


def test_national_day_holiday_is_skipped() -> None:
    assert CAL.add(at("2025-09-30T17:00+08:00"), timedelta(minutes=120)) == at(
        "2025-10-09T10:00+08:00"
    )


def test_a_makeup_saturday_is_worked() -> None:
    # 2026-02-14 is a Saturday worked before the Spring Festival (调休).
    assert CAL.add(at("2026-02-13T17:00+08:00"), timedelta(hours=2)) == at(
        "2026-02-14T10:00+08:00"
    )


def test_a_start_outside_hours_begins_at_the_next_period() -> None:
    assert CAL.add(at("2025-06-07T03:00+08:00"), timedelta(0)) == at("2025-06-09T09:00+08:00")


def test_between_counts_only_working_time() -> None:
    assert CAL.between(at("2025-06-06T17:30+08:00"), at("2025-06-09T09:30+08:00")) == timedelta(
        hours=1
    )


def test_always_calendar_counts_every_minute() -> None:
    start = at("2025-10-01T23:30+08:00")
    assert WorkingCalendar.always().add(start, timedelta(hours=1)) == start + timedelta(hours=1)


def test_bad_hours_and_files_are_reported() -> None:
    with pytest.raises(CalendarError, match="HH:MM"):
        parse_periods("9-12")
    with pytest.raises(CalendarError, match="overlap"):
        parse_periods("09:00-12:00,11:00-13:00")
    with pytest.raises(CalendarError, match="file not found"):
        load_calendar(Path("/nope/calendar.yaml"))


def test_a_calendar_without_hours_is_an_error_not_a_hang(tmp_path: Path) -> None:
    empty = tmp_path / "c.yaml"
    empty.write_text("weekly_hours: {}\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="no working time"):
        load_calendar(empty).add(at("2025-06-06T17:30+08:00"), timedelta(hours=1))


def test_sla_due_cli_prints_iso_with_offset(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sla", "due", "--from", "2025-09-30T17:00+08:00", "--working-minutes", "120"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "2025-10-09T10:00:00+08:00"
    assert main([*args, "--hours", "09:00-17:30"]) == 0
    assert capsys.readouterr().out.strip() == "2025-10-09T10:30:00+08:00"
    assert main(["sla", "due", "--from", "2025-09-30T17:00", "--working-minutes", "1"]) == 2


moments = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2026, 12, 20),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.integers(min_value=0, max_value=60 * 60).map(lambda m: timedelta(minutes=m))


def _inside_or_closing(moment: datetime) -> bool:
    local = moment.astimezone(CST)
    return any(a <= local <= b for a, b in CAL.periods_on(local.date()))


@settings(max_examples=150, deadline=None)
@given(moments, durations)
def test_adding_working_time_never_lands_outside_working_hours(
    start: datetime, working: timedelta
) -> None:
    due = CAL.add(start, working)
    assert _inside_or_closing(due)
    local = due.astimezone(CST).date()
    assert local not in CAL.holidays


@settings(max_examples=150, deadline=None)
@given(moments, durations)
def test_between_undoes_add(start: datetime, working: timedelta) -> None:
    assert CAL.between(start, CAL.add(start, working)) == working


@settings(max_examples=100, deadline=None)
@given(moments, durations, durations)
def test_a_pause_is_excluded_exactly(start: datetime, before: timedelta, after: timedelta) -> None:
    # Run `before`, pause for a day and a half of wall time, then run `after`: the due time
    # is where `after` of working time runs out counting from the end of the pause.
    paused_at = CAL.add(start, before)
    resumed = paused_at + timedelta(hours=36)
    due = CAL.add(resumed, after)
    assert CAL.between(start, due) - CAL.between(paused_at, resumed) == before + after


def test_holidays_and_makeup_days_come_from_the_file() -> None:
    assert date(2025, 10, 3) in CAL.holidays
    assert date(2025, 9, 28) in CAL.workdays
    assert CAL.periods_on(date(2025, 9, 28))  # a Sunday worked
    assert not CAL.periods_on(date(2025, 10, 6))  # a Monday off
