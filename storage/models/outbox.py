"""The outbox: every message owed to a chat, until a channel has sent it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


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
    VOICE = "voice"


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
    # A digest's chart or file, or a customer's file relayed to the agents: sent with
    # sendPhoto / sendDocument / sendVoice, the text as caption. Either the bytes, or a
    # reference to a file the channel holds already (a Telegram file_id).
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(120))
    attachment_ref: Mapped[str | None] = mapped_column(String(255))
    attachment_kind: Mapped[AttachmentKind | None] = mapped_column(closed_set(AttachmentKind, 8))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id"), index=True)
