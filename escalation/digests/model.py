"""What a digest is made of: the period it covers and the figures a report holds.

The report's builder (report.py) fills these from the record; the renderers (render.py,
chart.py) and the schedule read them. Plain data, so every one of them imports this
module and none imports another for its types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalation.digests.stats import IndustryStat

SHANGHAI = ZoneInfo("Asia/Shanghai")  # periods are Beijing calendar days, weeks and hours
KIND_NAMES = {"hourly": "风险小时报", "daily": "每日报告", "weekly": "每周报告"}


# ---------------------------------------------------------------------- periods
@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "hourly" | "daily" | "weekly"
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    label: str  # Chinese, e.g. "2025年6月2日" / "2025年6月2日—6月8日" / "6月2日 09:00—10:00"

    @property
    def first_day(self) -> date:
        """Return the first Beijing calendar day of the period."""
        return self.start.astimezone(SHANGHAI).date()

    @property
    def last_day(self) -> date:
        """Return the last Beijing calendar day the period touches."""
        return (self.end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()

    @property
    def title(self) -> str:
        """Return e.g. "每日报告（2025年6月2日）"."""
        return f"{KIND_NAMES[self.kind]}（{self.label}）"

    def previous(self) -> Period:
        """Return the period of the same kind just before this one, for trends."""
        if self.kind == "daily":
            return daily_period(self.first_day - timedelta(days=1))
        if self.kind == "weekly":
            return weekly_period(self.first_day - timedelta(days=7))
        return hourly_period(self.start.astimezone(SHANGHAI) - timedelta(hours=1))


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def _day_label(day: date, *, year: bool = True) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"


def daily_period(day: date) -> Period:
    """Return the Beijing calendar day `day` as a period."""
    return Period(
        "daily", _local_midnight(day), _local_midnight(day + timedelta(days=1)), _day_label(day)
    )


def weekly_period(monday: date) -> Period:
    """Return the Monday-to-Sunday week containing `monday` (any day picks its week)."""
    first = monday - timedelta(days=monday.weekday())
    last = first + timedelta(days=6)
    label = f"{_day_label(first)}—{_day_label(last, year=last.year != first.year)}"
    return Period(
        "weekly", _local_midnight(first), _local_midnight(last + timedelta(days=1)), label
    )


def hourly_period(start_local: datetime) -> Period:
    """Return the Beijing clock hour that contains `start_local` (naive means Beijing time)."""
    local = (
        start_local.replace(tzinfo=SHANGHAI)
        if start_local.tzinfo is None
        else start_local.astimezone(SHANGHAI)
    )
    local = local.replace(minute=0, second=0, microsecond=0)
    end = local + timedelta(hours=1)
    label = f"{_day_label(local.date(), year=False)} {local:%H:%M}—{end:%H:%M}"
    return Period("hourly", local.astimezone(UTC), end.astimezone(UTC), label)


# ---------------------------------------------------------------------- the report
@dataclass(frozen=True, slots=True)
class AudienceLine:
    audience: str | None  # consumer | merchant | None (not chosen yet)
    label: str
    messages: int
    users: int


@dataclass(frozen=True, slots=True)
class Unanswered:
    text: str  # masked excerpt
    count: int


@dataclass(frozen=True, slots=True)
class SlaLine:
    clock: str
    label: str
    met: int
    breached: int

    @property
    def rate(self) -> float | None:
        """Return met / (met + breached), or None when no clock of this kind stopped."""
        done = self.met + self.breached
        return self.met / done if done else None


@dataclass(frozen=True, slots=True)
class IncidentLine:
    reference: str
    level: str  # I..IV
    level_label: str  # "Ⅲ级（较大）"
    title: str  # masked
    status: str
    opened_in_period: bool
    resolved_in_period: bool
    reports: tuple[str, ...]  # sent in the period and delivered: "初报", "续报（第2号）"
    # Sent in the period but not delivered: "初报（未报送（未配置报送渠道））"
    unsent: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CountTrend:
    key: str
    label: str
    count: int
    previous: int


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    previous_label: str
    messages_in: int
    users: int
    audiences: tuple[AudienceLine, ...]
    questions: int  # inbound questions
    answered: int  # of which answered from the KB
    suggested: int  # of which offered a "did you mean" list
    categories: tuple[tuple[str, int], ...]  # (KB category, questions answered), top first
    unanswered_total: int
    unanswered: tuple[Unanswered, ...]  # top few, masked, deduplicated
    tickets_opened: int
    tickets_closed: int
    tickets_overdue: int  # with a clock past its deadline and still running at period end
    sla: tuple[SlaLine, ...]
    csat_count: int
    csat_average: float | None
    incidents_opened: int
    incidents_resolved: int
    incidents: tuple[IncidentLine, ...]
    risk_levels: tuple[CountTrend, ...]
    risk_tags: tuple[CountTrend, ...]
    subsidy: tuple[IndustryStat, ...]  # by industry, then the 合计 row; () when none

    @property
    def empty(self) -> bool:
        """Return whether nobody wrote to the helpdesk in the period."""
        return self.messages_in == 0

    @property
    def risk_total(self) -> int:
        return sum(r.count for r in self.risk_levels)

    @property
    def risk_previous(self) -> int:
        return sum(r.previous for r in self.risk_levels)


@dataclass(frozen=True, slots=True)
class RiskSummary:
    period: Period
    levels: tuple[CountTrend, ...]  # medium and high (previous: the hour before)
    tags: tuple[CountTrend, ...]
    examples: tuple[str, ...]  # 3–5 masked excerpts, highest risk first

    @property
    def total(self) -> int:
        return sum(r.count for r in self.levels)
