from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.config_files import parse_duration
from escalation.tickets.calendar import load_calendar
from escalation.tickets.sla import (
    ClockState,
    SlaError,
    clock_state,
    deadline,
    load_policy,
    used,
    warning_at,
)

POLICY = load_policy()
CAL = POLICY.calendar


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_12345_norms_are_the_defaults() -> None:
    day = POLICY.day
    assert day == timedelta(hours=7, minutes=30)
    assert POLICY.targets("咨询", "其他", "P4").within["resolution"] == 2 * day
    assert POLICY.targets("建议", "其他", "P4").within["resolution"] == 10 * day
    assert POLICY.targets("投诉", "商户拒用补贴", "P3").within["resolution"] == 15 * day


def test_the_first_matching_rule_wins_and_later_rules_fill_gaps() -> None:
    urgent = POLICY.targets("投诉", "系统故障", "P1")
    assert urgent.within["first_response"] == timedelta(minutes=15)
    assert urgent.notify_breach == ("supervisors",)
    assert urgent.hold_outside_hours is False
    normal = POLICY.targets("投诉", "系统故障", "P3")
    assert normal.within["first_response"] == timedelta(hours=4)
    assert normal.notify_warning == ("agents",)
    assert normal.hold_outside_hours is True


def test_deadline_is_pushed_back_by_waiting_on_the_customer() -> None:
    opened = at("2025-06-04T09:00+08:00")  # Wednesday
    plain = deadline(CAL, opened, timedelta(hours=4))
    assert plain == at("2025-06-04T14:30+08:00")  # lunch not counted
    pause = (at("2025-06-04T10:00+08:00"), at("2025-06-04T11:00+08:00"))
    assert deadline(CAL, opened, timedelta(hours=4), [pause]) == at("2025-06-04T15:30+08:00")
    assert used(CAL, opened, at("2025-06-04T11:30+08:00"), [pause]) == timedelta(hours=1.5)


def test_warning_comes_at_80_percent_or_15_minutes_before() -> None:
    targets = POLICY.targets("咨询", "其他", "P4")
    opened = at("2025-06-04T09:00+08:00")
    # 2 h clock: 80 % (96 min) comes before "15 min before" (105 min).
    assert warning_at(CAL, opened, timedelta(hours=2), targets) == at("2025-06-04T10:36+08:00")
    # 30 min clock: 15 min before (15 min) comes before 80 % (24 min).
    assert warning_at(CAL, opened, timedelta(minutes=30), targets) == at("2025-06-04T09:15+08:00")


def test_clock_state_moves_from_on_track_to_breached() -> None:
    targets = POLICY.targets("咨询", "其他", "P4")
    opened = at("2025-06-04T09:00+08:00")
    within = timedelta(hours=2)

    def state(now: str, stopped: str | None = None) -> ClockState:
        stop = at(stopped) if stopped else None
        return clock_state(CAL, opened, within, targets, at(now), stop)

    assert state("2025-06-04T10:00+08:00") is ClockState.ON_TRACK
    assert state("2025-06-04T10:40+08:00") is ClockState.DUE_SOON
    assert state("2025-06-04T11:00+08:00") is ClockState.BREACHED
    assert state("2025-06-04T12:00+08:00", "2025-06-04T10:59+08:00") is ClockState.MET
    assert state("2025-06-04T12:00+08:00", "2025-06-04T11:01+08:00") is ClockState.BREACHED


def test_bad_policy_files_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "sla.yaml"
    bad.write_text("rules:\n  - match: {type: 投诉}\n    resolution: soon\n", encoding="utf-8")
    with pytest.raises(SlaError, match=r"rules #1.resolution: 'soon' is not a duration"):
        load_policy(bad)
    bad.write_text("rules:\n  - match: {colour: red}\n", encoding="utf-8")
    with pytest.raises(SlaError, match="match may use only"):
        load_policy(bad)
    with pytest.raises(SlaError, match="file not found"):
        load_policy(tmp_path / "none.yaml")


def test_a_24x7_policy_counts_nights(tmp_path: Path) -> None:
    always = tmp_path / "sla.yaml"
    always.write_text("calendar: 24x7\nrules:\n  - match: {}\n    resolution: 1d\n", "utf-8")
    policy = load_policy(always)
    opened = at("2025-06-06T23:00+08:00")
    due = deadline(policy.calendar, opened, policy.targets("投诉", "x", "P3").within["resolution"])
    assert due == opened + timedelta(hours=24)


def test_durations() -> None:
    day = load_calendar().weekly[0]
    assert day
    assert parse_duration("90m", timedelta(hours=8), "x", SlaError) == timedelta(minutes=90)
    assert parse_duration("1.5h", timedelta(hours=8), "x", SlaError) == timedelta(minutes=90)
    assert parse_duration("2d", timedelta(hours=8), "x", SlaError) == timedelta(hours=16)


_CAL = CAL
_moments = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2026, 11, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_minutes = st.integers(min_value=1, max_value=40 * 60).map(lambda m: timedelta(minutes=m))
_gaps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=72 * 60), st.integers(min_value=1, max_value=72 * 60)
    ),
    max_size=3,
)


@settings(max_examples=120, deadline=None)
@given(_moments, _minutes, _gaps)
def test_a_deadline_uses_exactly_the_allowed_time_whatever_the_pauses(
    start: datetime, within: timedelta, gaps: list[tuple[int, int]]
) -> None:
    # Pauses one after another in wall time, each after a gap: they never overlap.
    pauses, cursor = [], start
    for gap, length in gaps:
        a = cursor + timedelta(minutes=gap)
        b = a + timedelta(minutes=length)
        pauses.append((a, b))
        cursor = b
    due = deadline(_CAL, start, within, pauses)
    assert used(_CAL, start, due, pauses) == within
    assert not any(a < due < b for a, b in pauses)  # a clock never runs out while paused
