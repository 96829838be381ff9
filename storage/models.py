"""The conversation record: users, messages, feedback and hand-offs. The only schema."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Store UTC; give back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


def closed_set(members: type[enum.StrEnum], length: int) -> Enum:
    """The column type of a closed set of strings: its values in a VARCHAR(length)."""
    # Non-native, so both databases keep the VARCHAR the column always had: no PostgreSQL
    # ENUM type to create, alter or drop, and rows written before read back as members.
    # No CHECK constraint, so a new member needs no table rebuild on SQLite; instead an
    # unknown value is refused on write (validate_strings) and on read (LookupError).
    # The values are stored, not the member names, so a row still reads "open", "P2".
    return Enum(
        members,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class UserRole(enum.StrEnum):
    CONSUMER = "consumer"
    MERCHANT = "merchant"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class RiskLevel(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class HandoffReason(enum.StrEnum):
    ASKED = "asked"
    NO_ANSWER = "no_answer"
    UNHELPFUL = "unhelpful"


class HandoffStatus(enum.StrEnum):
    OPEN = "open"


class User(Base):
    """One person on one channel, with the conversation state the core keeps for them."""

    __tablename__ = "chat_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. "telegram:5512"
    role: Mapped[UserRole | None] = mapped_column(closed_set(UserRole, 16))
    state: Mapped[str] = mapped_column(Text, default="{}")  # JSON of handlers' flow state
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Message(Base):
    """Every message in and out. Text is stored with ID and phone numbers masked."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external"),
        Index("ix_message_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[Direction] = mapped_column(closed_set(Direction, 3))
    kind: Mapped[str] = mapped_column(String(16))  # text, command, sticker, answer, suggest...
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of button texts
    # The channel's id of an inbound message (Telegram update id, web client id): the key
    # that makes a redelivered message be answered once.
    external_id: Mapped[str | None] = mapped_column(String(128))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    kb_entry_id: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Float)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)  # outbound: delivered
    created_at: Mapped[datetime]
    # An inbound message about a known incident (answered with its notice).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    # The risk scorer's verdict on an inbound message; digests count them by level and tag.
    risk_level: Mapped[RiskLevel | None] = mapped_column(closed_set(RiskLevel, 8))
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_tags: Mapped[str | None] = mapped_column(String(200))  # comma-joined tags


class Feedback(Base):
    """A user's verdict on an answer (有帮助 / 没帮助)."""

    __tablename__ = "answer_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"))
    kb_entry_id: Mapped[str] = mapped_column(String(80))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class Handoff(Base):
    """A request to talk to a person; the tickets issue turns these into tickets."""

    __tablename__ = "handoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[HandoffReason] = mapped_column(closed_set(HandoffReason, 32))
    last_question: Mapped[str | None] = mapped_column(Text)  # masked
    status: Mapped[HandoffStatus] = mapped_column(
        closed_set(HandoffStatus, 16), default=HandoffStatus.OPEN
    )
    created_at: Mapped[datetime]


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


class OutboxPurpose(enum.StrEnum):
    CARD = "card"  # a ticket's card in the agents' chat
    THREAD = "thread"  # a reply under a ticket's card
    SLA = "sla"
    ESCALATION = "escalation"
    CUSTOMER = "customer"  # the desk's message to the customer
    REPLY = "reply"  # the bot's answer, on a channel that does not answer in the request
    RISK = "risk"
    INCIDENT = "incident"
    INCIDENT_CARD = "incident_card"
    REPORT = "report"  # to the bureau
    DIGEST = "digest"


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class Outbox(Base):
    """A message the service owes a chat, sent by whichever instance claims it first."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(160), unique=True)  # idempotency key
    channel: Mapped[str] = mapped_column(String(16))  # telegram
    chat_id: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[OutboxPurpose] = mapped_column(closed_set(OutboxPurpose, 16))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[str] = mapped_column(Text, default="[]")  # JSON of outbox.Button
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))  # customer copy
    reply_to_card: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # A digest's chart or file: sent with sendPhoto / sendDocument, the text as caption.
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(120))
    attachment_kind: Mapped[AttachmentKind | None] = mapped_column(closed_set(AttachmentKind, 8))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id"), index=True)


class DeskUpdate(Base):
    """A channel message that changed a ticket (a Telegram update id): a redelivered
    update finds its row and changes nothing twice."""

    __tablename__ = "desk_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    at: Mapped[datetime]


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


class SubsidyStat(Base):
    """One day and industry of the platform's T+1 subsidy export (the helpdesk issues none).

    A re-import of the same day and industry replaces the row."""

    __tablename__ = "subsidy_stat"
    __table_args__ = (UniqueConstraint("day", "industry", name="uq_subsidy_stat_day_industry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai calendar day
    industry: Mapped[str] = mapped_column(String(32))
    quotas_issued: Mapped[int] = mapped_column(BigInteger)
    amount_issued: Mapped[int] = mapped_column(BigInteger)  # money in fen (0.01 yuan): exact sums
    users_claiming: Mapped[int] = mapped_column(BigInteger)
    users_using: Mapped[int] = mapped_column(BigInteger)
    uses: Mapped[int] = mapped_column(BigInteger)
    amount_used: Mapped[int] = mapped_column(BigInteger)
    matching_discount: Mapped[int] = mapped_column(BigInteger)  # merchants' own discount
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    merchants: Mapped[int] = mapped_column(BigInteger)
    driven_sales: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime]


class DigestKind(enum.StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class DigestStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    EMPTY = "empty"  # nothing to say, or nobody to say it to


class Digest(Base):
    """The ledger of scheduled digests: one row per (kind, period), written in the same
    transaction as the messages it queues, so each period is reported once."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("kind", "period_start", name="uq_digest_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DigestKind] = mapped_column(closed_set(DigestKind, 8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    label: Mapped[str] = mapped_column(String(80))
    status: Mapped[DigestStatus] = mapped_column(closed_set(DigestStatus, 8))
    queued_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """A digest owed to the bureau's webhook: retried with backoff until accepted; the
    body is signed when it is sent, so a retry carries a fresh timestamp."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_pending", "delivered_at", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # JSON, masked
    created_at: Mapped[datetime]
    next_try_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status of the last try
    error: Mapped[str | None] = mapped_column(Text)


class PrivacyAction(enum.StrEnum):
    PURGE = "purge"
    ERASE = "erase"


class PrivacyAudit(Base):
    """Every retention purge and erasure (PIPL Art. 19 and 47): when, who ran it, the
    cut-off and how many rows changed; never the data itself."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[PrivacyAction] = mapped_column(closed_set(PrivacyAction, 8))
    actor: Mapped[str] = mapped_column(String(80))  # "cli:ops", "scheduler"
    at: Mapped[datetime]
    cutoff: Mapped[datetime | None]  # purge: data older than this went
    # A scheduled purge's slot ("purge:2025-06-02T03:30:00+08:00"): the instance that writes
    # it first runs that purge, in the same transaction; another finds it taken.
    run_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # erase: SHA-256 of the channel identity, not the identity, so that a repeated request
    # is answered "already erased" without keeping who it was in the clear.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON {what: rows}
