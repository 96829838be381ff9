"""The files customers attach to their tickets: one row per file, its bytes on disk."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


class FileKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"


class TicketFile(Base):
    """A photo, file or voice note a customer sent about a ticket.

    The bytes are in the attachments folder at `path` (relative to it, a name the service
    chose); the customer's own file name is kept for display only, never as a path.
    """

    __tablename__ = "ticket_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[FileKind] = mapped_column(closed_set(FileKind, 8))
    name: Mapped[str] = mapped_column(String(120))  # as the customer named it, cleaned
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)  # bytes
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(80), unique=True)
    author: Mapped[str] = mapped_column(String(80))  # the sender, e.g. "telegram:5512"
    at: Mapped[datetime]
    # The channel's id of the file (a Telegram file_id): the agents' chat gets it relayed
    # by that id, without uploading the bytes again.
    channel_file_id: Mapped[str | None] = mapped_column(String(255))
    # The channel message that carried it ("telegram:812"): a redelivered message finds
    # its file instead of storing it twice.
    source: Mapped[str | None] = mapped_column(String(160), unique=True)
