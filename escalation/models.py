"""The conversation record: users, messages, feedback and hand-offs. The only schema."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
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


class User(Base):
    """One person on one channel, with the conversation state the core keeps for them."""

    __tablename__ = "chat_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. "telegram:5512"
    role: Mapped[str | None] = mapped_column(String(16))
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
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    kind: Mapped[str] = mapped_column(String(16))  # text, command, sticker, answer, suggest...
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of button texts
    # The channel's id of an inbound message (Telegram update id, web client id): the key
    # that makes a redelivered message be answered once.
    external_id: Mapped[str | None] = mapped_column(String(128))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    kb_entry_id: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Float)
    sent: Mapped[int] = mapped_column(Integer, default=0)  # outbound: delivered to channel
    created_at: Mapped[datetime]


class Feedback(Base):
    """A user's verdict on an answer (有帮助 / 没帮助)."""

    __tablename__ = "answer_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"))
    kb_entry_id: Mapped[str] = mapped_column(String(80))
    helpful: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Handoff(Base):
    """A request to talk to a person; the tickets issue turns these into tickets."""

    __tablename__ = "handoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_user.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # asked, no_answer, unhelpful
    last_question: Mapped[str | None] = mapped_column(Text)  # masked
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]


class TicketStatus(enum.Enum):
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
    type: Mapped[str] = mapped_column(String(8))  # 咨询 求助 建议 投诉 举报
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(2))  # P1..P4
    status: Mapped[TicketStatus] = mapped_column(
        Enum(
            TicketStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=TicketStatus.NEW,
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


class TicketEntry(Base):
    """The ticket's thread: customer messages, agent replies, internal notes, system lines."""

    __tablename__ = "ticket_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # customer | agent | note | system
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)  # masked
    at: Mapped[datetime]


class Agent(Base):
    """A registered support agent or supervisor; nobody else may work tickets."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor
    created_at: Mapped[datetime]
