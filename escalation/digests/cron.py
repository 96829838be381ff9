"""Five-field cron expressions, read in Asia/Shanghai, and when one last fired.

Asia/Shanghai has had no daylight saving since 1991, so every local minute exists once and
a fire time is never skipped or repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from escalation.digests.model import SHANGHAI

# A cron expression that has not fired in this long never will (e.g. "0 9 31 2 *").
_SEARCH_DAYS = 8 * 366 + 2


class CronError(ValueError):
    """A cron expression that cannot be used; the message says what is wrong."""


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (  # name, lowest, highest, names (their index + lowest is the number)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
EXAMPLE = "'0 9 * * *' (09:00 every day) or '0 9 * * mon' (09:00 on Mondays)"


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression; weekdays are Python's (Monday 0 … Sunday 6)."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # the day-of-month field is "*"
    any_weekday: bool  # the day-of-week field is "*"

    def on(self, day: date) -> bool:
        """Whether the expression fires at some time on this day (cron's rule: when both
        day fields are restricted, either may match)."""
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.weekday() in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return by_weekday
        if self.any_weekday:
            return by_day
        return by_day or by_weekday


def _number(token: str, name: str, low: int, high: int, names: Sequence[str]) -> int:
    word = token.lower()
    if word in names:
        return names.index(word) + (low if name == "month" else 0)
    if not token.isdigit():
        raise CronError(f"{name} {token!r} is not a number from {low} to {high}")
    value = int(token)
    if not low <= value <= high:
        raise CronError(f"{name} {value} is outside {low}–{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: Sequence[str]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} step {step_text!r} must be a positive number")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = (_number(a, name, low, high, names), _number(b, name, low, high, names))
            if first > last:
                raise CronError(f"{name} range {span!r} runs backwards")
        else:
            first = _number(span, name, low, high, names)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return values


def parse_cron(text: str) -> Cron:
    """Parse 'minute hour day-of-month month day-of-week'; raise CronError saying why not."""
    parts = text.split()
    if len(parts) != 5:
        raise CronError(
            f"{text!r} has {len(parts)} field(s); write five: minute hour day month weekday, "
            f"e.g. {EXAMPLE}"
        )
    try:
        fields = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    except CronError as exc:
        raise CronError(f"{text!r}: {exc}; e.g. {EXAMPLE}") from None
    minutes, hours, days, months, cron_weekdays = fields
    cron = Cron(
        text=text,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset((d + 6) % 7 for d in cron_weekdays),  # cron: 0 and 7 are Sunday
        any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
    )
    start = date(2024, 1, 1)
    if not any(cron.on(start + timedelta(days=i)) for i in range(_SEARCH_DAYS)):
        raise CronError(f"{text!r} never fires (no such day); e.g. {EXAMPLE}")
    return cron


def previous_fires(cron: Cron, now: datetime, limit: int) -> list[datetime]:
    """Return the last `limit` times the expression fired at or before now, newest first,
    aware in Asia/Shanghai."""
    local = now.astimezone(SHANGHAI)
    fires: list[datetime] = []
    day = local.date()
    for _ in range(_SEARCH_DAYS):
        if cron.on(day):
            for hour in reversed(cron.hours):
                for minute in reversed(cron.minutes):
                    fire = datetime.combine(day, time(hour, minute), SHANGHAI)
                    if fire <= local:
                        fires.append(fire)
                        if len(fires) >= limit:
                            return fires
        day -= timedelta(days=1)
    return fires


def wake_times(crons: Sequence[Cron]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return (minutes, hours) at which any of the expressions may fire: a scheduler woken
    then, every day, never misses one (the digests themselves decide what is due)."""
    minutes = sorted({m for c in crons for m in c.minutes})
    hours = sorted({h for c in crons for h in c.hours})
    return tuple(minutes), tuple(hours)
