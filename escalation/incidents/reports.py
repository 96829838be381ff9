"""Reports to the bureau (初报, 续报, 终报) rendered from the plan's templates.

Pure: the caller gathers the facts of an incident (and the time); this fills in the
template. Every text value is masked, so no ID-card or phone number leaves in a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from escalation.incidents.plan import REPORT_KINDS, EmergencyPlan, Level
from knowledge.masking import mask_pii

REPORT_NAMES = {"first": "初报", "follow_up": "续报", "final": "终报"}
STATUS_NAMES = {
    "open": "处置中",
    "acknowledged": "已确认",
    "mitigated": "已缓解",
    "resolved": "已解决",
}
TZ = ZoneInfo("Asia/Shanghai")
NOT_YET = "—"


@dataclass(frozen=True)
class IncidentFacts:
    """What a report says about one incident at `now`."""

    reference: str
    title: str
    level: Level
    category: str | None
    status: str  # open / acknowledged / mitigated / resolved
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    detail: str
    tickets: int
    users: int
    messages: int
    measures: tuple[str, ...]  # what was done, oldest first (timeline lines)
    changes: tuple[str, ...]  # what changed since the previous report
    cause: str | None
    eta: datetime | None
    contact: str
    report_no: int
    now: datetime


def moment(value: datetime | None) -> str:
    """Return "2025年06月02日 09:30" in Beijing time, or "—" for a time not yet reached."""
    if value is None:
        return NOT_YET
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a report; pass an aware one")
    return value.astimezone(TZ).strftime("%Y年%m月%d日 %H:%M")


def span(value: timedelta) -> str:
    """Return a duration for people: "2小时15分钟", "45分钟", "1天3小时"."""
    minutes = max(0, int(value / timedelta(minutes=1)))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}天"] if days else []
    if hours:
        parts.append(f"{hours}小时")
    if mins or not parts:
        parts.append(f"{mins}分钟")
    return "".join(parts)


def _lines(items: tuple[str, ...]) -> list[str]:
    # One line per item: a line break inside an item would break the numbering.
    return [" ".join(item.split()) for item in items if item.strip()]


def _text(value: str | None, empty: str) -> str:
    return mask_pii(value.strip()) if value and value.strip() else empty


def template_values(kind: str, facts: IncidentFacts) -> dict[str, object]:
    """Return what the placeholders of a template stand for (plan.PLACEHOLDERS)."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"report kind {kind!r} is not one of {', '.join(REPORT_KINDS)}")
    if facts.status not in STATUS_NAMES:
        raise ValueError(
            f"incident status {facts.status!r} is not one of {', '.join(STATUS_NAMES)}"
        )
    if facts.now.tzinfo is None or facts.opened_at.tzinfo is None:
        raise ValueError("naive datetime given to a report; pass an aware one")
    measures = _lines(facts.measures)
    changes = _lines(facts.changes)
    return {
        "reference": _text(facts.reference, NOT_YET),
        "title": _text(facts.title, NOT_YET),
        "level": facts.level.label,
        "colour": facts.level.colour,
        "category": _text(facts.category, "未分类"),
        "status": STATUS_NAMES[facts.status],
        "opened_at": moment(facts.opened_at),
        "acknowledged_at": moment(facts.acknowledged_at),
        "mitigated_at": moment(facts.mitigated_at),
        "resolved_at": moment(facts.resolved_at),
        "now": moment(facts.now),
        "duration": span((facts.resolved_at or facts.now) - facts.opened_at),
        "detail": _text(facts.detail, "暂无"),
        "tickets": facts.tickets,
        "users": facts.users,
        "messages": facts.messages,
        "measures": "\n".join(f"{i}. {mask_pii(m)}" for i, m in enumerate(measures, 1)) or "暂无",
        "changes": "\n".join(mask_pii(c) for c in changes) or "无",
        "cause": _text(facts.cause, "待查明"),
        "eta": moment(facts.eta) if facts.eta else "暂无",
        "contact": _text(facts.contact, NOT_YET),
        "report_no": facts.report_no,
        "report_name": REPORT_NAMES[kind],
    }


def render(plan: EmergencyPlan, kind: str, facts: IncidentFacts) -> str:
    """Return the report of this kind ("first", "follow_up" or "final") for the facts."""
    filled = template_values(kind, facts)
    # The template itself comes from the plan; mask once more in case it carries a number.
    return mask_pii(plan.templates[kind].format(**filled))
