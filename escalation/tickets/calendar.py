"""Working time: weekly hours with a lunch break, public holidays and make-up days (调休).

Pure arithmetic on aware datetimes; the SLA clocks are built on `add` and `between`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escalation.config_files import read_mapping

DEFAULT_CALENDAR = Path(__file__).parent / "data" / "calendar.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Working time is searched at most this far ahead: a calendar with no working hours at
# all is an operator's mistake to report, not a loop to run forever.
MAX_DAYS = 3 * 366

_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Period = tuple[time, time]


class CalendarError(ValueError):
    """A calendar file or value that cannot be used; names the file and field."""


def parse_periods(text: str | Sequence[str], where: str = "hours") -> tuple[Period, ...]:
    """Parse "09:00-12:00,13:30-18:00" (or a list of such) into ordered periods."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    periods: list[Period] = []
    for part in parts:
        if not str(part).strip():
            continue
        m = _PERIOD.match(str(part))
        if not m:
            raise CalendarError(f"{where}: {part!r} is not HH:MM-HH:MM, e.g. 09:00-12:00.")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise CalendarError(f"{where}: {part!r} is not a valid time range.")
        start = time(h1, m1)
        end = time.max if h2 == 24 else time(h2, m2)
        if end <= start:
            raise CalendarError(f"{where}: {part!r} ends before it starts.")
        periods.append((start, end))
    periods.sort()
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise CalendarError(f"{where}: periods overlap.")
    return tuple(periods)


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    weekly: Mapping[int, tuple[Period, ...]] = field(default_factory=dict)  # 0 = Monday
    makeup_hours: tuple[Period, ...] = ()
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days

    @classmethod
    def always(cls, tz: str = "Asia/Shanghai") -> WorkingCalendar:
        """A 24/7 calendar: every minute counts."""
        full = ((time(0, 0), time.max),)
        return cls(ZoneInfo(tz), dict.fromkeys(range(7), full), full)

    def with_hours(self, periods: tuple[Period, ...]) -> WorkingCalendar:
        """Return this calendar with Monday–Friday (and make-up days) on these hours."""
        weekly = dict(self.weekly)
        for day in range(5):
            weekly[day] = periods
        return WorkingCalendar(self.tz, weekly, periods, self.holidays, self.workdays)

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return the working periods of a local date as aware datetimes."""
        if day in self.holidays:
            return []
        hours = self.makeup_hours if day in self.workdays else self.weekly.get(day.weekday(), ())
        out = []
        for start, end in hours:
            a = datetime.combine(day, start, self.tz)
            b = (
                datetime.combine(day + timedelta(days=1), time(0, 0), self.tz)
                if end == time.max
                else datetime.combine(day, end, self.tz)
            )
            out.append((a, b))
        return out

    def _periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self.periods_on(day):
                if b > local:
                    yield max(a, local), b
            day += timedelta(days=1)
        raise CalendarError(f"no working time within {MAX_DAYS} days: check the weekly hours.")

    def add(self, start: datetime, working: timedelta) -> datetime:
        """Return the moment `working` time after `start`, counting only working hours.

        The result is inside a working period, or at the end of one when the time runs out
        exactly there (17:00 + 1 h on a day ending at 18:00 is 18:00, not next morning).
        """
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if working < timedelta(0):
            raise ValueError("working time must not be negative")
        left = working
        for a, b in self._periods_from(start):
            if left == timedelta(0):
                return a
            if b - a >= left:
                return a + left
            left -= b - a
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Return the working time from `start` to `end` (zero when end <= start)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        for a, b in self._periods_from(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total


def _dates(raw: Iterable[Any] | None, where: str) -> set[date]:
    out: set[date] = set()
    for item in raw or ():
        if isinstance(item, date):
            out.add(item)
            continue
        text = str(item)
        try:
            if ".." in text:
                first, last = (date.fromisoformat(p.strip()) for p in text.split(".."))
                if last < first:
                    raise CalendarError(f"{where}: range {text} ends before it starts.")
                out.update(first + timedelta(days=i) for i in range((last - first).days + 1))
            else:
                out.add(date.fromisoformat(text.strip()))
        except ValueError as exc:
            if isinstance(exc, CalendarError):
                raise
            raise CalendarError(
                f"{where}: {text!r} is not a date (YYYY-MM-DD) or range (A..B)."
            ) from None
    return out


def load_calendar(path: Path | str = DEFAULT_CALENDAR) -> WorkingCalendar:
    """Read a calendar YAML file (see escalation/tickets/data/calendar.yaml)."""
    path = Path(path)
    data = read_mapping(path, CalendarError)
    try:
        tz = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{path}: timezone {data.get('timezone')!r} is unknown.") from None
    weekly_raw = data.get("weekly_hours") or {}
    unknown = set(weekly_raw) - set(WEEKDAYS)
    if unknown:
        raise CalendarError(f"{path}: weekly_hours has unknown days {sorted(unknown)}.")
    weekly = {
        i: parse_periods(weekly_raw.get(day) or [], f"{path}: weekly_hours.{day}")
        for i, day in enumerate(WEEKDAYS)
    }
    makeup_raw = data.get("makeup_hours")
    makeup = parse_periods(makeup_raw, f"{path}: makeup_hours") if makeup_raw else weekly[0]
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year, spec in (data.get("years") or {}).items():
        spec = spec or {}
        holidays |= _dates(spec.get("holidays"), f"{path}: years.{year}.holidays")
        workdays |= _dates(spec.get("workdays"), f"{path}: years.{year}.workdays")
    both = holidays & workdays
    if both:
        raise CalendarError(f"{path}: {sorted(both)[0]} is both a holiday and a workday.")
    return WorkingCalendar(tz, weekly, makeup, frozenset(holidays), frozenset(workdays))
