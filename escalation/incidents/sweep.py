"""Firing the due `incident_timer` rows: a chain step sends the card, a reminder nags the
acknowledged incident that made no progress, a report deadline sends or asks for the report.

The rows are taken FOR UPDATE SKIP LOCKED (PostgreSQL), and each fired row writes what it
owes people to the outbox in the same transaction, so restarts and several instances
neither lose nor double a step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.bureau import send_report
from escalation.incidents.cards import card_buttons, card_text
from escalation.incidents.delivery import SENT, latest_by_kind, report_views
from escalation.incidents.records import Context, add_event, notify
from escalation.incidents.reports import REPORT_NAMES
from escalation.incidents.timers import add_timer, next_seq
from storage.models import Incident, IncidentTimer

LATE_UNAPPROVED = (
    "❗ 事件 {reference}（{label}）{name}已到报送时限仍未发送，请立即审核：/approve {reference}"
)
LATE_UNDELIVERED = (
    "❗ 事件 {reference}（{label}）{name}已到报送时限仍未送达主管部门（{state}），"
    "报送时限未达成。请检查报送渠道，或先通过其他方式报送。"
)

# (ctx, session, the timer, its incident, now) -> whether the incident changed
Fire = Callable[[Context, AsyncSession, IncidentTimer, Incident, datetime], Awaitable[bool]]


async def due_timers(
    s: AsyncSession, now: datetime, batch: int
) -> list[tuple[IncidentTimer, Incident]]:
    """Take up to `batch` due timers, oldest first, locked against other sweeps."""
    rows = (
        await s.execute(
            select(IncidentTimer, Incident)
            .join(Incident, Incident.id == IncidentTimer.incident_id)
            .where(
                IncidentTimer.fired_at.is_(None),
                IncidentTimer.cancelled.is_(False),
                IncidentTimer.due_at <= now,
            )
            .order_by(IncidentTimer.due_at, IncidentTimer.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=IncidentTimer)
        )
    ).all()
    return [(timer, i) for timer, i in rows]


async def fire(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    """Do what the timer is due for; return whether the incident changed."""
    step = FIRES.get(timer.kind)
    return False if step is None else await step(ctx, s, timer, i, now)


async def _chain_step(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    if i.status != "open" or timer.target is None:
        return False
    sent = notify(
        ctx,
        s,
        i,
        timer.target,
        card_text(ctx, i, await report_views(s, i.id, now)),
        now,
        key=f"inc:{timer.id}",
        purpose="incident_card",
        buttons=card_buttons(i.reference, i.status),
    )
    add_event(
        s, i, "notify", "system", f"通知 {timer.target}" + ("" if sent else "（未配置）"), now
    )
    return True


async def _reminder(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    level = ctx.level(i.level)
    if i.status not in ("acknowledged", "mitigated"):
        return False
    if i.updated_at > now - level.reminder:  # updated since: look again later
        add_timer(
            s, i, "reminder", await next_seq(s, i, "reminder"), i.updated_at + level.reminder
        )
        return False
    minutes = int(level.reminder / timedelta(minutes=1))
    for chat in ("oncall", "supervisors"):
        notify(
            ctx,
            s,
            i,
            chat,
            f"⏰ 事件 {i.reference}（{level.label}）已确认，"
            f"但 {minutes} 分钟没有进展更新，请尽快处置并更新：{i.title}",
            now,
            key=f"inc:{timer.id}:{chat}",
        )
    add_event(s, i, "notify", "system", "无进展提醒", now)
    add_timer(s, i, "reminder", await next_seq(s, i, "reminder"), now + level.reminder)
    return True


async def _first_report_due(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    return await _report_due(ctx, s, i, "first", now, ctx.level(i.level).auto_report)


async def _follow_up_due(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    if i.status == "resolved":
        return False
    return await send_report(ctx, s, i, "follow_up", now, None)


async def _final_report_due(
    ctx: Context, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
) -> bool:
    return await _report_due(ctx, s, i, "final", now, True)


async def _report_due(
    ctx: Context, s: AsyncSession, i: Incident, kind: str, now: datetime, auto: bool
) -> bool:
    """At a report's deadline: send it by itself (`auto`) or ask for it while nobody has
    approved it; once approved, the deadline is met only if it reached the bureau."""
    report = next(
        (v for v in latest_by_kind(await report_views(s, i.id, now)) if v.kind == kind), None
    )
    if report is None or report.status == "draft":
        if auto:
            return await send_report(ctx, s, i, kind, now, None)
        text = LATE_UNAPPROVED
    elif report.delivery == SENT:
        return False
    else:
        text = LATE_UNDELIVERED
    level = ctx.level(i.level)
    state = report.delivery_name if report is not None else ""
    for chat in ("supervisors", "leadership"):
        notify(
            ctx,
            s,
            i,
            chat,
            text.format(
                reference=i.reference, label=level.label, name=REPORT_NAMES[kind], state=state
            ),
            now,
            key=f"inc:{i.id}:{kind}:late:{chat}",
        )
    add_event(
        s, i, "notify", "system", f"{REPORT_NAMES[kind]}超时提醒（{state or '未审核'}）", now
    )
    return True


FIRES: Mapping[str, Fire] = MappingProxyType(
    {
        "chain": _chain_step,
        "reminder": _reminder,
        "first": _first_report_due,
        "follow_up": _follow_up_due,
        "final": _final_report_due,
    }
)
