"""SLA policy as data, and the pure arithmetic of a ticket's clocks.

Three clocks per ticket: first response, next response (restarted by each customer
message) and resolution. Each runs in working time on a calendar and stops while the
ticket waits on the customer.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from escalation.config_files import parse_duration, read_mapping
from escalation.tickets.calendar import (
    DEFAULT_CALENDAR,
    CalendarError,
    WorkingCalendar,
    load_calendar,
)

DEFAULT_SLA = Path(__file__).parent / "data" / "sla.yaml"
CLOCKS = ("first_response", "next_response", "resolution")
_MATCH_KEYS = frozenset({"type", "category", "priority"})

Pause = tuple[datetime, datetime]


class SlaError(ValueError):
    """An SLA policy file that cannot be used; names the file and field."""


class ClockState(enum.Enum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True, slots=True)
class Targets:
    """What the policy asks of one ticket."""

    within: Mapping[str, timedelta]  # clock name -> working time allowed
    warn_percent: float
    warn_before: timedelta
    notify_warning: tuple[str, ...]
    notify_breach: tuple[str, ...]
    hold_outside_hours: bool


@dataclass(frozen=True, slots=True)
class Rule:
    match: Mapping[str, frozenset[str]]
    within: Mapping[str, timedelta]
    notify_warning: tuple[str, ...] | None = None
    notify_breach: tuple[str, ...] | None = None
    hold_outside_hours: bool | None = None

    def fits(self, ticket_type: str, category: str, priority: str) -> bool:
        values = {"type": ticket_type, "category": category, "priority": priority}
        return all(values[key] in allowed for key, allowed in self.match.items())


@dataclass(frozen=True)
class SlaPolicy:
    calendar: WorkingCalendar
    rules: tuple[Rule, ...]
    warn_percent: float = 80.0
    warn_before: timedelta = timedelta(minutes=15)
    notify_warning: tuple[str, ...] = ("agents",)
    notify_breach: tuple[str, ...] = ("agents", "supervisors")
    hold_outside_hours: bool = True
    day: timedelta = field(default=timedelta(hours=7, minutes=30))

    def targets(self, ticket_type: str, category: str, priority: str) -> Targets:
        """Return the clocks and notifications for a ticket of this kind."""
        within: dict[str, timedelta] = {}
        warning = breach = None
        hold = None
        for rule in self.rules:
            if not rule.fits(ticket_type, category, priority):
                continue
            for clock, value in rule.within.items():
                within.setdefault(clock, value)
            warning = warning if warning is not None else rule.notify_warning
            breach = breach if breach is not None else rule.notify_breach
            hold = hold if hold is not None else rule.hold_outside_hours
        return Targets(
            within,
            self.warn_percent,
            self.warn_before,
            warning if warning is not None else self.notify_warning,
            breach if breach is not None else self.notify_breach,
            hold if hold is not None else self.hold_outside_hours,
        )


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise SlaError(f"{where}: must be a list of names, e.g. [agents, supervisors].")
    return tuple(raw)


def _outside(raw: Any, where: str) -> bool:
    if raw not in ("hold", "send"):
        raise SlaError(f"{where}: {raw!r} is not hold or send.")
    return bool(raw == "hold")


def load_policy(path: Path | str = DEFAULT_SLA) -> SlaPolicy:
    """Read an SLA policy YAML file (see escalation/tickets/data/sla.yaml)."""
    path = Path(path)
    data = read_mapping(path, SlaError)
    cal_ref = str(data.get("calendar", "default"))
    try:
        if cal_ref == "24x7":
            calendar = WorkingCalendar.always()
        elif cal_ref == "default":
            calendar = load_calendar(DEFAULT_CALENDAR)
        else:
            cal_path = Path(cal_ref)
            calendar = load_calendar(
                cal_path if cal_path.is_absolute() else path.parent / cal_path
            )
    except CalendarError as exc:
        raise SlaError(f"{path}: calendar: {exc}") from None
    # A working day is Monday's working hours (7.5 h on the shipped calendar).
    day = sum(
        (
            (1440 if e == time.max else e.hour * 60 + e.minute) - (s.hour * 60 + s.minute)
            for s, e in calendar.weekly.get(0, ())
        ),
        0,
    )
    day_td = timedelta(minutes=day) if day > 0 else timedelta(hours=24)
    warning = data.get("warning") or {}
    percent = float(warning.get("percent", 80))
    if not 0 < percent <= 100:
        raise SlaError(f"{path}: warning.percent must be between 0 and 100.")
    before = parse_duration(
        warning.get("before", "15m"), day_td, f"{path}: warning.before", SlaError
    )
    notify = data.get("notify") or {}
    rules = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise SlaError(f"{path}: rules must be a non-empty list.")
    for i, raw in enumerate(raw_rules, start=1):
        where = f"{path}: rules #{i}"
        if not isinstance(raw, dict):
            raise SlaError(f"{where}: must be a mapping with match and clocks.")
        unknown = set(raw) - {"match", *CLOCKS, "notify", "outside_hours"}
        if unknown:
            raise SlaError(f"{where}: unknown field(s) {sorted(unknown)}.")
        match_raw = raw.get("match") or {}
        if set(match_raw) - _MATCH_KEYS:
            raise SlaError(f"{where}: match may use only type, category, priority.")
        match = {k: frozenset(_names(v, f"{where}.match.{k}")) for k, v in match_raw.items()}
        within = {
            c: parse_duration(raw[c], day_td, f"{where}.{c}", SlaError) for c in CLOCKS if c in raw
        }
        rule_notify = raw.get("notify") or {}
        rules.append(
            Rule(
                match,
                within,
                _names(rule_notify["warning"], f"{where}.notify.warning")
                if "warning" in rule_notify
                else None,
                _names(rule_notify["breach"], f"{where}.notify.breach")
                if "breach" in rule_notify
                else None,
                _outside(raw["outside_hours"], f"{where}.outside_hours")
                if "outside_hours" in raw
                else None,
            )
        )
    return SlaPolicy(
        calendar=calendar,
        rules=tuple(rules),
        warn_percent=percent,
        warn_before=before,
        notify_warning=_names(notify.get("warning", ["agents"]), f"{path}: notify.warning"),
        notify_breach=_names(
            notify.get("breach", ["agents", "supervisors"]), f"{path}: notify.breach"
        ),
        hold_outside_hours=_outside(data.get("outside_hours", "hold"), f"{path}: outside_hours"),
        day=day_td,
    )


def _paused(
    calendar: WorkingCalendar, pauses: Sequence[Pause], start: datetime, end: datetime
) -> timedelta:
    total = timedelta(0)
    for a, b in pauses:
        total += calendar.between(max(a, start), min(b, end))
    return total


def used(
    calendar: WorkingCalendar, started: datetime, now: datetime, pauses: Sequence[Pause] = ()
) -> timedelta:
    """Return the working time a clock has run from `started` to `now`, pauses excluded."""
    return calendar.between(started, now) - _paused(calendar, pauses, started, now)


def _merged(pauses: Sequence[Pause]) -> list[Pause]:
    out: list[Pause] = []
    for a, b in sorted(p for p in pauses if p[1] > p[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def deadline(
    calendar: WorkingCalendar, started: datetime, within: timedelta, pauses: Sequence[Pause] = ()
) -> datetime:
    """Return when a clock started at `started` runs out, pushed back by its pauses."""
    left, cursor = within, started
    for a, b in _merged(pauses):
        if b <= cursor:
            continue
        if a > cursor:
            run = calendar.between(cursor, a)
            if run >= left:
                return calendar.add(cursor, left)
            left -= run
        cursor = max(cursor, b)
    return calendar.add(cursor, left)


def warning_at(
    calendar: WorkingCalendar,
    started: datetime,
    within: timedelta,
    targets: Targets,
    pauses: Sequence[Pause] = (),
) -> datetime:
    """Return when to warn: at the percent used, or `before` the end, whichever is first."""
    by_percent = within * (targets.warn_percent / 100)
    by_before = max(timedelta(0), within - targets.warn_before)
    return deadline(calendar, started, min(by_percent, by_before), pauses)


def clock_state(
    calendar: WorkingCalendar,
    started: datetime,
    within: timedelta,
    targets: Targets,
    now: datetime,
    stopped_at: datetime | None = None,
    pauses: Sequence[Pause] = (),
) -> ClockState:
    """Return a clock's state at `now` (MET or BREACHED once stopped)."""
    due = deadline(calendar, started, within, pauses)
    if stopped_at is not None:
        return ClockState.MET if stopped_at <= due else ClockState.BREACHED
    if now >= due:
        return ClockState.BREACHED
    if now >= warning_at(calendar, started, within, targets, pauses):
        return ClockState.DUE_SOON
    return ClockState.ON_TRACK
