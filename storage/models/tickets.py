"""Tickets, their audit trail and thread, the agents' register, console sessions, SLA clocks
and the desk's handled updates."""

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


class TicketType(enum.StrEnum):
    INQUIRY = "咨询"
    HELP = "求助"
    SUGGESTION = "建议"
    COMPLAINT = "投诉"
    REPORT = "举报"


class TicketPriority(enum.StrEnum):
    P1 = "P1"  # most urgent
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class TicketStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    WAITING = "waiting"  # waiting on the customer: SLA clocks paused
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Ticket(Base):
    """A complaint or request handled by people, with its SLA-relevant times."""

    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # what users quote
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[TicketType] = mapped_column(closed_set(TicketType, 8))
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[TicketPriority] = mapped_column(closed_set(TicketPriority, 2))
    status: Mapped[TicketStatus] = mapped_column(
        closed_set(TicketStatus, 16), default=TicketStatus.NEW
    )
    assignee: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)  # masked
    order_no: Mapped[str | None] = mapped_column(String(64))
    merchant_name: Mapped[str | None] = mapped_column(String(128))
    # The one place a full phone number is kept: agents may need to call back. It is
    # never logged and never copied into messages or reports.
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The channel message that opened the ticket ("telegram:812"): a redelivered message
    # finds its ticket instead of opening a second one.
    source: Mapped[str | None] = mapped_column(String(160), unique=True)
    # The ticket's card in the agents' chat, edited as the ticket changes.
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)  # masked
    updated_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)


class TicketAudit(Base):
    """Every change to a ticket: who, when, what, before and after."""

    __tablename__ = "ticket_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class EntryKind(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    NOTE = "note"  # internal, never shown to the customer
    SYSTEM = "system"


class TicketEntry(Base):
    """The ticket's thread: customer messages, agent replies, internal notes, system lines."""

    __tablename__ = "ticket_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(closed_set(EntryKind, 8))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)  # masked
    at: Mapped[datetime]


class AgentRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Agent(Base):
    """A registered support agent or supervisor; nobody else may work tickets."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[AgentRole] = mapped_column(closed_set(AgentRole, 16))
    created_at: Mapped[datetime]
    # SHA-256 of the agent's web console token (`helpdesk agents token`); never the token.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ConsoleSession(Base):
    """A signed-in web console session; the cookie holds the token, the table its hash."""

    __tablename__ = "console_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ClockName(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockResult(enum.StrEnum):
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"  # stopped by something other than its goal: not counted


class TicketClock(Base):
    """One SLA clock of a ticket: first response, a next response cycle, or resolution."""

    __tablename__ = "ticket_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "cycle", name="uq_ticket_clock"),
        Index("ix_ticket_clock_open_due", "stopped_at", "due_at"),
        Index("ix_ticket_clock_open_warn", "stopped_at", "warn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    clock: Mapped[ClockName] = mapped_column(closed_set(ClockName, 16))
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    within_s: Mapped[int] = mapped_column(Integer)  # working seconds allowed
    pauses: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[start, end], ...]
    paused_since: Mapped[datetime | None]
    warn_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_at: Mapped[datetime | None]
    # 16 since 0011: "cancelled" did not fit the 8 it had (PostgreSQL would refuse it).
    result: Mapped[ClockResult | None] = mapped_column(closed_set(ClockResult, 16))
    used_s: Mapped[int | None] = mapped_column(Integer)  # working seconds used, at stop


class SlaStage(enum.StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class SlaEvent(Base):
    """The ledger of SLA notifications: one row per (clock, stage), so each fires once."""

    __tablename__ = "sla_event"
    __table_args__ = (UniqueConstraint("clock_id", "stage", name="uq_sla_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("ticket_clock.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    stage: Mapped[SlaStage] = mapped_column(closed_set(SlaStage, 8))
    at: Mapped[datetime]


class DeskUpdate(Base):
    """A channel message that changed a ticket (a Telegram update id): a redelivered
    update finds its row and changes nothing twice."""

    __tablename__ = "desk_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    at: Mapped[datetime]
