"""The conversation record: users, their messages, feedback on answers and hand-offs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


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
