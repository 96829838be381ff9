"""Reports to the bureau from the database: gather an incident's facts, draft a report for
the supervisors to approve, and send one (初报, 续报, 终报). `reports` renders the text."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.delivery import DEADLINED, SENT, report_key, report_views, webhook_body
from escalation.incidents.records import Context, add_event, notify
from escalation.incidents.reports import REPORT_NAMES, IncidentFacts, render
from escalation.incidents.timers import add_timer, cancel_timers, next_seq
from escalation.routing import queue_message
from storage.models import (
    Incident,
    IncidentEvent,
    IncidentReport,
    Message,
    Outbox,
    ReportStatus,
    Ticket,
    WebhookDelivery,
)

# Timeline entries a report lists as measures taken.
MEASURES = ("ack", "mitigate", "resolve", "level", "note", "eta")
NO_CHANNEL_EVENT = "未报送：未配置报送渠道"
NO_CHANNEL_NOTICE = (
    "❗ 事件 {reference} 的{name}已审核，但未配置报送渠道（主管部门的 Telegram 群或接收系统），"
    "未报送主管部门，报送时限仍在计算。请配置报送渠道后发送 /approve {reference} 重新报送，"
    "或先通过其他方式报送。"
)


async def reach(s: AsyncSession, i: Incident) -> tuple[int, int, int]:
    """Return how many tickets, users and messages the incident touched."""
    tickets = int(
        (
            await s.execute(
                select(func.count()).select_from(Ticket).where(Ticket.incident_id == i.id)
            )
        ).scalar_one()
    )
    messages = int(
        (
            await s.execute(
                select(func.count()).select_from(Message).where(Message.incident_id == i.id)
            )
        ).scalar_one()
    )
    users = set(
        (await s.execute(select(Ticket.user_id).where(Ticket.incident_id == i.id))).scalars()
    ) | set(
        (await s.execute(select(Message.user_id).where(Message.incident_id == i.id))).scalars()
    )
    return tickets, len(users), messages


async def gather_facts(
    ctx: Context, s: AsyncSession, i: Incident, now: datetime, since: datetime | None
) -> IncidentFacts:
    """Return what a report says about the incident at `now`; changes since `since`."""
    tickets, users, messages = await reach(s, i)
    events = list(
        (
            await s.execute(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == i.id)
                .order_by(IncidentEvent.id)
            )
        ).scalars()
    )
    measures = tuple(
        f"{e.at.astimezone(ctx.tz):%H:%M} {e.detail}" for e in events if e.kind in MEASURES
    )
    changes = tuple(
        f"{e.at.astimezone(ctx.tz):%H:%M} {e.detail}"
        for e in events
        if since is None or e.at > since
        if e.kind not in ("notify", "report")
    )
    return IncidentFacts(
        reference=i.reference,
        title=i.title,
        level=ctx.level(i.level),
        category=i.category,
        status=i.status,
        opened_at=i.opened_at,
        acknowledged_at=i.acknowledged_at,
        mitigated_at=i.mitigated_at,
        resolved_at=i.resolved_at,
        detail=i.detail,
        tickets=tickets,
        users=users,
        messages=messages,
        measures=measures,
        changes=changes,
        cause=i.cause,
        eta=i.eta,
        contact=ctx.contact,
        report_no=0,
        now=now,
    )


async def draft_report(
    ctx: Context, s: AsyncSession, i: Incident, kind: str, seq: int, at: datetime
) -> None:
    """Draft a report and ask the supervisors to approve it."""
    facts = await gather_facts(ctx, s, i, at, None)
    s.add(
        IncidentReport(
            incident_id=i.id,
            kind=kind,
            seq=seq,
            text=render(ctx.plan, kind, replace(facts, report_no=seq)),
            status=ReportStatus.DRAFT,
            created_at=at,
        )
    )
    notify(
        ctx,
        s,
        i,
        "supervisors",
        f"📝 事件 {i.reference} 的{REPORT_NAMES[kind]}已起草，请审核后发送给主管部门。"
        f"\n发送：/approve {i.reference}",
        at,
        purpose="incident",
    )


async def send_report(
    ctx: Context, s: AsyncSession, i: Incident, kind: str, at: datetime, approver: str | None
) -> bool:
    """Hand a report to the bureau's channels (re-rendered with today's facts); False if it
    was handed over before. Handed over is not reported: `delivery` reads what reached it."""
    report = (
        await s.execute(
            select(IncidentReport)
            .where(IncidentReport.incident_id == i.id, IncidentReport.kind == kind)
            .order_by(IncidentReport.seq.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()
    last_sent = (
        await s.execute(
            select(func.max(IncidentReport.sent_at)).where(
                IncidentReport.incident_id == i.id, IncidentReport.status == "sent"
            )
        )
    ).scalar_one_or_none()
    if report is not None and report.status == "sent" and kind != "follow_up":
        return await _send_again(ctx, s, i, report, at)
    if report is None or report.status == "sent":
        seq = 1 if report is None else report.seq + 1
        report = IncidentReport(
            incident_id=i.id, kind=kind, seq=seq, text="", status=ReportStatus.DRAFT, created_at=at
        )
        s.add(report)
    facts = await gather_facts(ctx, s, i, at, last_sent)
    report.text = render(ctx.plan, kind, replace(facts, report_no=report.seq))
    report.status = ReportStatus.SENT
    report.sent_at = at
    report.approved_by = approver
    _hand_over(ctx, s, i, report, at, approver or "system")
    await _next_deadlines(ctx, s, i, kind, at)
    return True


def _hand_over(
    ctx: Context, s: AsyncSession, i: Incident, report: IncidentReport, at: datetime, actor: str
) -> bool:
    """Queue the report for the bureau's chat and webhook; False when neither is set up
    (the supervisors are told at once: the report has not reached the bureau)."""
    key = report_key(i.id, report.kind, report.seq)
    name = f"{REPORT_NAMES[report.kind]}（第{report.seq}号）"
    chat = queue_message(
        s, ctx.routes, "bureau", report.text, "report", at, incident_id=i.id, key=key
    )
    if ctx.webhook:
        s.add(
            WebhookDelivery(
                key=key,
                body=webhook_body(i, report.kind, report.seq, report.text, at),
                created_at=at,
                next_try_at=at,
                attempts=0,
            )
        )
    if chat or ctx.webhook:
        add_event(s, i, "report", actor, f"{name}已提交报送主管部门", at)
        return True
    add_event(s, i, "report", actor, f"{name}{NO_CHANNEL_EVENT}", at)
    notify(
        ctx,
        s,
        i,
        "supervisors",
        NO_CHANNEL_NOTICE.format(reference=i.reference, name=name),
        at,
        key=f"{key}:unsent",
    )
    return False


async def _send_again(
    ctx: Context, s: AsyncSession, i: Incident, report: IncidentReport, at: datetime
) -> bool:
    """Hand over a report approved while no channel was set up, now that one is; False
    when it was handed over before, or there is still nowhere to send it."""
    key = report_key(i.id, report.kind, report.seq)
    queued = (
        await s.execute(select(func.count()).select_from(Outbox).where(Outbox.key == key))
    ).scalar_one() + (
        await s.execute(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.key == key)
        )
    ).scalar_one()
    if queued or (ctx.routes.chat("bureau") is None and not ctx.webhook):
        return False
    return _hand_over(ctx, s, i, report, at, report.approved_by or "system")


async def _next_deadlines(
    ctx: Context, s: AsyncSession, i: Incident, kind: str, at: datetime
) -> None:
    """After a report: the next 续报 is due a period from now. Its own deadline stays until
    the report is delivered (`settle_deadlines`): handed over is not reported."""
    if kind != "final" and i.status != "resolved":
        await cancel_timers(s, i, "follow_up")
        level = ctx.level(i.level)
        add_timer(s, i, "follow_up", await next_seq(s, i, "follow_up"), at + level.follow_up)


async def settle_deadlines(s: AsyncSession, i: Incident, now: datetime) -> None:
    """Cancel the deadlines of the reports that reached the bureau (初报, 终报)."""
    for view in await report_views(s, i.id, now):
        if view.kind in DEADLINED and view.delivery == SENT:
            await cancel_timers(s, i, view.kind)
