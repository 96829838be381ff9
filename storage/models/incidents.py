"""Incidents under the emergency plan: the timeline, durable timers, reports to the bureau,
the signals that open them and the alerts' nonces."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


class IncidentLevel(enum.StrEnum):
    I = "I"  # noqa: E741 (the plan names levels I to IV, I the most severe)
    II = "II"
    III = "III"
    IV = "IV"


class IncidentSource(enum.StrEnum):
    DECLARED = "declared"
    DETECTED = "detected"
    ALERT = "alert"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class Incident(Base):
    """An incident handled by the emergency plan (应急预案)."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. I20250602-01
    level: Mapped[IncidentLevel] = mapped_column(closed_set(IncidentLevel, 4))
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    merchant: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[IncidentSource] = mapped_column(closed_set(IncidentSource, 16))
    status: Mapped[IncidentStatus] = mapped_column(closed_set(IncidentStatus, 16))
    detail: Mapped[str] = mapped_column(Text, default="")  # masked
    cause: Mapped[str | None] = mapped_column(Text)
    eta: Mapped[datetime | None]
    # Set while the incident is not resolved: one open incident per signal key, so
    # new signals attach to it, even from two instances at once.
    open_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class IncidentEvent(Base):
    """The incident's timeline: every signal, notification, change and report."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class TimerKind(enum.StrEnum):
    CHAIN = "chain"  # notify the next on the plan's chain
    REMINDER = "reminder"
    FIRST = "first"  # report deadlines
    FOLLOW_UP = "follow_up"
    FINAL = "final"


class IncidentTimer(Base):
    """A durable step of the plan: a chain notification, a reminder, a report deadline.

    The sweep fires each once (fired_at, under a row lock); acknowledging cancels the
    chain's rows in the same transaction."""

    __tablename__ = "incident_timer"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind", "seq", name="uq_incident_timer"),
        Index("ix_incident_timer_due", "fired_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[TimerKind] = mapped_column(closed_set(TimerKind, 16))
    seq: Mapped[int] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(40))  # chain: whom to notify
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportKind(enum.StrEnum):
    FIRST = "first"  # 初报
    FOLLOW_UP = "follow_up"  # 续报
    FINAL = "final"  # 终报


class ReportStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"


class IncidentReport(Base):
    """A report to the bureau: 初报, 续报 or 终报, drafted, approved, sent."""

    __tablename__ = "incident_report"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "seq", name="uq_incident_report"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[ReportKind] = mapped_column(closed_set(ReportKind, 16))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ReportStatus] = mapped_column(closed_set(ReportStatus, 16))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class IncidentDraft(Base):
    """A declaration on a chat that still asks for what the report needs (the category,
    what happened): one open per person and chat, closed once declared or cancelled."""

    __tablename__ = "incident_draft"
    __table_args__ = (Index("ix_incident_draft_chat_actor", "chat_id", "actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(80))  # agent:7001
    level: Mapped[IncidentLevel] = mapped_column(closed_set(IncidentLevel, 4))
    category: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")  # masked
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))


class IncidentSignal(Base):
    """One observation that may add up to an incident: a ticket of a category, a ticket
    about a merchant, a message with a high-risk phrase."""

    __tablename__ = "incident_signal"
    __table_args__ = (Index("ix_incident_signal_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))  # category:系统故障, merchant:某某, phrase:外挂
    user_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]


class AlertNonce(Base):
    """Signatures of external alerts already accepted: a replay is refused."""

    __tablename__ = "alert_nonce"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime]
