"""Whether a report reached the bureau: a report approved (or sent by the plan) is only
queued; it has been reported (已报送) once its outbox row to the bureau's chat was sent, or
its delivery to the bureau's webhook was accepted. Read from those rows when it is shown,
so what people see is what happened, never what was meant to happen."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.reports import REPORT_NAMES
from storage.lease import NEVER
from storage.models import Incident, IncidentReport, IncidentTimer, Outbox, WebhookDelivery

SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAFT = "draft"  # waits for a supervisor's approval
QUEUED = "queued"  # approved; waiting for a channel's sender
SENDING = "sending"  # a sender holds it now
SENT = "sent"  # delivered: the chat or the webhook accepted it
NO_CHANNEL = "no_channel"  # approved, but neither a bureau chat nor a webhook is configured
FAILED = "failed"  # every channel gave up on it
DELIVERY_NAMES = {
    DRAFT: "待审核",
    QUEUED: "待报送",
    SENDING: "发送中",
    SENT: "已报送",
    NO_CHANNEL: "未报送（未配置报送渠道）",
    FAILED: "报送失败",
}
# The reports whose deadline is the plan's (初报 within first_report of opening, 终报 within
# final_report of resolution); 续报 fall due one after another.
DEADLINED = ("first", "final")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One channel's row for a report: when it was delivered, and its claim."""

    delivered_at: datetime | None
    claimed_until: datetime | None

    @property
    def given_up(self) -> bool:
        return self.delivered_at is None and self.claimed_until == NEVER


@dataclass(frozen=True, slots=True)
class ReportView:
    """A report to the bureau as people see it: its text and where its delivery stands."""

    kind: str  # first | follow_up | final
    seq: int
    status: str  # draft | sent (approved, or sent by the plan: handed to the channels)
    text: str
    delivery: str  # one of DELIVERY_NAMES
    delivered_at: datetime | None
    due_at: datetime | None  # the plan's deadline (初报, 终报); None for 续报

    @property
    def name(self) -> str:
        """Return "初报", or "续报（第2号）" for a report that has a number."""
        name = REPORT_NAMES.get(self.kind, self.kind)
        return f"{name}（第{self.seq}号）" if self.kind == "follow_up" else name

    @property
    def delivery_name(self) -> str:
        """Return "已报送 06-02 09:40", "待报送", "未报送（未配置报送渠道）", ..."""
        name = DELIVERY_NAMES[self.delivery]
        if self.delivered_at is not None:
            return f"{name} {self.delivered_at.astimezone(SHANGHAI):%m-%d %H:%M}"
        return name

    def met(self, now: datetime) -> bool | None:
        """Whether the plan's deadline was met: None while it may still be (or has none)."""
        if self.due_at is None:
            return None
        if self.delivered_at is not None:
            return self.delivered_at <= self.due_at
        return False if now >= self.due_at else None


def report_key(incident_id: int, kind: str, seq: int) -> str:
    """Return the key of a report's outbox row and webhook delivery (one of each at most)."""
    return f"report:{incident_id}:{kind}:{seq}"


def incident_of_key(key: str) -> int | None:
    """Return the incident id in a report's key; None for any other key."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "report" or not parts[1].isdigit():
        return None
    return int(parts[1])


def delivery_state(status: str, attempts: Sequence[Attempt], now: datetime | None) -> str:
    """Return where a report's delivery stands, from its rows on every channel (`now`
    tells a live claim from a lapsed one; without it every claim counts as live)."""
    if status == DRAFT:
        return DRAFT
    if any(a.delivered_at is not None for a in attempts):
        return SENT
    if not attempts:
        return NO_CHANNEL
    if all(a.given_up for a in attempts):
        return FAILED
    held = any(
        a.claimed_until is not None
        and a.claimed_until < NEVER
        and (now is None or now <= a.claimed_until)
        for a in attempts
    )
    return SENDING if held else QUEUED


def webhook_body(i: Incident, kind: str, seq: int, text: str, at: datetime) -> str:
    """Return the JSON the bureau's webhook gets for a report (the text is masked)."""
    return json.dumps(
        {
            "type": "helpdesk.incident_report",
            "reference": i.reference,
            "kind": kind,
            "name": REPORT_NAMES[kind],
            "seq": seq,
            "level": i.level,
            "category": i.category,
            "title": i.title,
            "text": text,
            "at": at.isoformat(),
        },
        ensure_ascii=False,
    )


async def deliveries(s: AsyncSession, keys: Sequence[str]) -> dict[str, list[Attempt]]:
    """Return every channel's row for these report keys."""
    attempts: dict[str, list[Attempt]] = {}
    for query in (
        select(Outbox.key, Outbox.sent_at, Outbox.claimed_until).where(Outbox.key.in_(keys)),
        select(
            WebhookDelivery.key, WebhookDelivery.delivered_at, WebhookDelivery.claimed_until
        ).where(WebhookDelivery.key.in_(keys)),
    ):
        for key, at, claimed in await s.execute(query):
            attempts.setdefault(str(key), []).append(Attempt(at, claimed))
    return attempts


def delivered_at(attempts: Sequence[Attempt]) -> datetime | None:
    """Return when a report first reached the bureau, on any channel."""
    return min((a.delivered_at for a in attempts if a.delivered_at is not None), default=None)


async def report_views(
    s: AsyncSession, incident_id: int, now: datetime | None = None
) -> list[ReportView]:
    """Return an incident's reports, oldest first, each with where its delivery stands."""
    reports = list(
        (
            await s.execute(
                select(IncidentReport)
                .where(IncidentReport.incident_id == incident_id)
                .order_by(IncidentReport.id)
            )
        ).scalars()
    )
    keys = [report_key(incident_id, r.kind, r.seq) for r in reports]
    attempts = await deliveries(s, keys)
    due = {
        str(kind): at
        for kind, at in await s.execute(
            select(IncidentTimer.kind, IncidentTimer.due_at).where(
                IncidentTimer.incident_id == incident_id,
                IncidentTimer.kind.in_(DEADLINED),
                IncidentTimer.seq == 1,
            )
        )
    }
    return [
        ReportView(
            r.kind,
            r.seq,
            r.status,
            r.text,
            delivery_state(r.status, attempts.get(key, []), now),
            delivered_at(attempts.get(key, [])),
            due.get(r.kind) if r.kind in DEADLINED else None,
        )
        for r, key in zip(reports, keys, strict=True)
    ]


def latest_by_kind(views: Sequence[ReportView]) -> list[ReportView]:
    """Return the latest report of each kind, in the order 初报, 续报, 终报."""
    latest: dict[str, ReportView] = {}
    for v in views:
        if v.kind not in latest or v.seq >= latest[v.kind].seq:
            latest[v.kind] = v
    return [latest[k] for k in REPORT_NAMES if k in latest]
