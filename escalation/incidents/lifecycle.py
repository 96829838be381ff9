"""An incident's life under the plan: opened (declared, detected or alerted), acknowledged,
updated, raised or lowered a level, mitigated, resolved, and its reports approved.

Each step works on the locked incident row in the caller's transaction and leaves the
timeline entry, the timers and the messages it owes in that same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.bureau import draft_report, send_report
from escalation.incidents.plan import EmergencyPlan, Level
from escalation.incidents.records import (
    Context,
    IncidentError,
    add_event,
    notify,
)
from escalation.incidents.reports import REPORT_NAMES
from escalation.incidents.timers import add_timer, cancel_timers, remind_later, schedule_chain
from escalation.routing import Actor
from knowledge.masking import mask_pii
from storage.models import Incident, IncidentLevel, IncidentStatus, Ticket


async def open_incident(
    ctx: Context,
    s: AsyncSession,
    *,
    level: Level,
    title: str,
    source: str,
    actor: str,
    at: datetime,
    category: str | None = None,
    merchant: str | None = None,
    detail: str = "",
    open_key: str | None = None,
) -> Incident:
    """Add an incident with the next reference of its day, its chain and its 初报 draft.

    Another opening in the same instant may take the reference or the key: the flush
    then raises IntegrityError, and the caller tries again or finds that one."""
    prefix = f"I{at.astimezone(ctx.tz).date():%Y%m%d}-"
    count = (
        await s.execute(
            select(func.count())
            .select_from(Incident)
            .where(Incident.reference >= prefix, Incident.reference < prefix[:-1] + ".")
        )
    ).scalar_one()
    i = Incident(
        reference=f"{prefix}{int(count) + 1:02d}",
        level=level.key,
        title=mask_pii(title)[:200],
        category=category,
        merchant=merchant,
        source=source,
        status=IncidentStatus.OPEN,
        detail=mask_pii(detail)[:2000],
        open_key=open_key,
        opened_at=at,
        updated_at=at,
    )
    s.add(i)
    await s.flush()
    add_event(s, i, "open", actor, f"{level.label}事件：{i.title}", at)
    schedule_chain(s, i, level, at)
    add_timer(s, i, "first", 1, at + level.first_report)
    await draft_report(ctx, s, i, "first", 1, at)
    if category and open_key and open_key.startswith("category:"):
        await _link_tickets(s, i, category=category, since=at - _window(ctx.plan, open_key))
    if merchant:
        await _link_tickets(s, i, merchant=merchant, since=at - timedelta(hours=24))
    return i


async def _link_tickets(
    s: AsyncSession,
    i: Incident,
    *,
    since: datetime,
    category: str | None = None,
    merchant: str | None = None,
) -> None:
    query = update(Ticket).where(Ticket.incident_id.is_(None), Ticket.opened_at >= since)
    if category is not None:
        query = query.where(Ticket.category == category)
    if merchant is not None:
        query = query.where(Ticket.merchant_name == merchant)
    await s.execute(query.values(incident_id=i.id))


def _window(plan: EmergencyPlan, key: str) -> timedelta:
    """How far back tickets of a category incident's key belong to it: its trigger's window."""
    spans = [
        t.within
        for t in plan.triggers
        if t.category and f"category:{t.category}" == key and not t.phrases
    ]
    return max(spans, default=timedelta(hours=1))


# ---------------------------------------------------------------------- the steps
# Each takes (ctx, s, the locked incident, actor, at, text): a row of actions.ACTIONS.
async def acknowledge(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Take the incident on: the chain stops, the no-progress reminder starts."""
    if i.status != "open":
        raise IncidentError(f"事件 {i.reference} 已由 {i.acknowledged_by} 确认。")
    i.status = IncidentStatus.ACKNOWLEDGED
    i.acknowledged_at, i.acknowledged_by = at, actor.name
    await cancel_timers(s, i, "chain")
    add_event(s, i, "ack", actor.key, f"{actor.name}确认，启动处置", at)
    await remind_later(ctx, s, i, at)


async def mitigate(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Mark the impact mitigated (acknowledging it if nobody had)."""
    if i.status == "open":
        i.acknowledged_at, i.acknowledged_by = at, actor.name
        await cancel_timers(s, i, "chain")
    i.status, i.mitigated_at = IncidentStatus.MITIGATED, at
    add_event(s, i, "mitigate", actor.key, f"{actor.name}：影响已缓解", at)
    await remind_later(ctx, s, i, at)


async def resolve(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Close the incident (`text`: the cause); its 终报 is drafted and falls due."""
    level = ctx.level(i.level)
    i.status, i.resolved_at, i.open_key = IncidentStatus.RESOLVED, at, None
    if i.acknowledged_at is None:
        i.acknowledged_at, i.acknowledged_by = at, actor.name
    if text:
        i.cause = mask_pii(text)[:1000]
    await cancel_timers(s, i, "chain", "reminder", "follow_up")
    add_event(s, i, "resolve", actor.key, f"{actor.name}：事件已解决 {text}".strip(), at)
    add_timer(s, i, "final", 1, at + level.final_report)
    await draft_report(ctx, s, i, "final", 1, at)


async def raise_level(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Move the incident one level more severe."""
    _change_level(ctx, s, i, actor, at, ctx.plan.higher(i.level), "最高")


async def lower_level(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Move the incident one level less severe."""
    _change_level(ctx, s, i, actor, at, ctx.plan.lower(i.level), "最低")


def _change_level(
    ctx: Context,
    s: AsyncSession,
    i: Incident,
    actor: Actor,
    at: datetime,
    target: str | None,
    limit: str,
) -> None:
    level = ctx.level(i.level)
    if target is None:
        raise IncidentError(f"事件 {i.reference} 已是{limit}级别（{level.label}）。")
    new = ctx.level(target)
    i.level = IncidentLevel(target)
    add_event(s, i, "level", actor.key, f"{actor.name}将级别由{level.label}调整为{new.label}", at)
    for chat in ("oncall", "supervisors"):
        notify(ctx, s, i, chat, f"事件 {i.reference} 级别调整为{new.label}：{i.title}", at)


async def set_eta(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Record when service should be back (`text`: HH:MM, local time)."""
    eta = parse_eta(text, at, ctx.tz)
    if eta is None:
        raise IncidentError("请写预计恢复时间，例如 /eta I20250602-01 18:30。")
    i.eta = eta
    add_event(s, i, "eta", actor.key, f"预计恢复时间 {eta.astimezone(ctx.tz):%H:%M}", at)


async def add_note(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Add a progress update to the timeline."""
    if not text.strip():
        raise IncidentError("请写上进展内容。")
    add_event(s, i, "note", actor.key, f"{actor.name}：{text.strip()}", at)


async def approve(
    ctx: Context, s: AsyncSession, i: Incident, actor: Actor, at: datetime, text: str
) -> None:
    """Send the pending report to the bureau: 初报, or 终报 once resolved."""
    kind = "final" if i.status == "resolved" else "first"
    if not await send_report(ctx, s, i, kind, at, actor.key):
        raise IncidentError(f"事件 {i.reference} 的{REPORT_NAMES[kind]}已发送过。")


def parse_eta(text: str, at: datetime, tz: ZoneInfo) -> datetime | None:
    """Return the next HH:MM (local) after `at`; None when `text` is not a time of day."""
    text = text.strip().replace("：", ":")
    try:
        hour, minute = (int(x) for x in text.split(":", 1))
    except ValueError:
        return None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    local = at.astimezone(tz)
    eta = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if eta < local:
        eta += timedelta(days=1)
    return eta
