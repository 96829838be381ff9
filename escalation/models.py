"""The conversation record: users, messages, feedback and hand-offs. The only schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    DateTime,
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
