"""What every step of the incident wing shares: the status names, the errors, the views the
channels read, what a step knows besides its session (`Context`), and the row-level helpers
(lock an incident, add to its timeline, tell a chat)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.delivery import ReportView, latest_by_kind
from escalation.incidents.plan import EmergencyPlan, Level
from escalation.routing import Routes, queue_message
from knowledge.masking import mask_pii
from storage.models import Incident, IncidentEvent
from storage.outbox import Button

STATUS_NAMES = {
    "open": "处置中（未确认）",
    "acknowledged": "已确认",
    "mitigated": "已缓解",
    "resolved": "已解决",
}
ACTIVE = ("open", "acknowledged", "mitigated")
LEVEL_ORDER = {"I": 0, "II": 1, "III": 2, "IV": 3}
SHANGHAI = ZoneInfo("Asia/Shanghai")


class IncidentError(ValueError):
    """An incident action that cannot be done; the message (Chinese) says why."""


class IncidentNotFound(IncidentError):
    """No incident has that reference."""


class IncidentForbidden(IncidentError):
    """The actor may not do this (a report needs a supervisor)."""


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    reference: str
    level: str
    label: str
    title: str
    category: str | None
    status: str
    source: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    eta: datetime | None
    reports: tuple[ReportView, ...] = ()  # to the bureau, where they are read with it

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)

    @property
    def unsent(self) -> tuple[ReportView, ...]:
        """Return the latest reports of each kind that have not reached the bureau."""
        return tuple(r for r in latest_by_kind(self.reports) if r.delivery != "sent")

    @property
    def last_report(self) -> str:
        """Return the report approved last and where it stands: "初报：待报送"."""
        handed = [r for r in self.reports if r.status == "sent"]
        return f"{handed[-1].name}：{handed[-1].delivery_name}" if handed else ""


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    view: IncidentView
    events: list[tuple[str, str, str, datetime]]  # (kind, actor, detail, at)
    reports: list[ReportView]
    tickets: int
    users: int
    messages: int


@dataclass(frozen=True, slots=True)
class Notice:
    """What a user asking about an open incident is told, and which incident it is."""

    incident_id: int
    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class Context:
    """What every incident step reads besides its session."""

    plan: EmergencyPlan
    routes: Routes
    tz: ZoneInfo = SHANGHAI
    contact: str = "平台客服值班室"  # who the bureau's reports name
    webhook: bool = False  # reports also go to the bureau's webhook

    def level(self, key: str) -> Level:
        return self.plan.levels[key]


def view_of(ctx: Context, i: Incident, reports: Sequence[ReportView] = ()) -> IncidentView:
    """Return what the channels show of an incident row (with its reports, when read)."""
    return IncidentView(
        i.id,
        i.reference,
        i.level,
        ctx.level(i.level).label,
        i.title,
        i.category,
        i.status,
        i.source,
        i.opened_at,
        i.acknowledged_at,
        i.resolved_at,
        i.eta,
        tuple(reports),
    )


def add_event(
    s: AsyncSession, i: Incident, kind: str, actor: str, detail: str, at: datetime
) -> None:
    """Add an entry to the incident's timeline (masked, so no number is kept in it)."""
    s.add(
        IncidentEvent(
            incident_id=i.id, kind=kind, actor=actor, detail=mask_pii(detail)[:2000], at=at
        )
    )


async def locked(s: AsyncSession, reference: str) -> Incident:
    """Return the incident with this reference, locked for the transaction of `s`."""
    i = (
        await s.execute(
            select(Incident).where(Incident.reference == reference.upper()).with_for_update()
        )
    ).scalar_one_or_none()
    if i is None:
        raise IncidentNotFound(f"没有找到事件 {reference}，请核对编号。")
    return i


def notify(
    ctx: Context,
    s: AsyncSession,
    i: Incident,
    chat: str,
    text: str,
    at: datetime,
    *,
    key: str | None = None,
    purpose: str = "incident",
    buttons: Sequence[Button] = (),
) -> bool:
    """Queue a message about the incident for a chat by name; False if no such chat."""
    return queue_message(
        s,
        ctx.routes,
        chat,
        text,
        purpose,
        at,
        incident_id=i.id,
        buttons=buttons,
        key=key,
    )
