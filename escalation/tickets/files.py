"""Files customers attach to their tickets: the limits, the bytes into the attachments
folder, the row, the thread line and the copy for the agents, in one change.

The bytes are written first and the row in the ticket's transaction after; a transaction
that fails removes the bytes again, so a row always has its file (a file without a row can
only be left by a crash between the two, and is never served).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.tickets import notices
from escalation.tickets.changes import Change, Changes, NotFound
from escalation.tickets.clocks import SlaClocks
from escalation.tickets.customer import customer, customer_spoke
from knowledge.masking import mask_pii
from storage.attachments import AttachmentFolder
from storage.models import FileKind, Ticket, TicketFile
from storage.outbox import outbound
from storage.retry import retrying

log = logging.getLogger(__name__)

MAX_NAME = 120  # the column; longer names keep their extension
_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,50}")
DEFAULT_MIMES = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "document": "application/octet-stream",
}
# Images a browser may show in the console; anything else (SVG above all, which may hold
# scripts) is only ever downloaded.
INLINE_IMAGES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class FileTooBig(Exception):
    """The channel found the file larger than it was allowed to fetch."""

    def __init__(self, size: int | None) -> None:
        super().__init__(f"file of {size} bytes is over the limit")
        self.size = size


class FetchFailed(Exception):
    """The channel could not fetch the file (its server away, the link expired)."""


Fetch = Callable[[int], Awaitable[bytes]]  # the bytes, at most that many, or FileTooBig


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_bytes: int = 10 * 1024 * 1024
    per_ticket: int = 20


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file a channel received, not yet fetched."""

    kind: str  # photo | document | voice
    name: str | None
    mime: str | None
    size: int | None  # as the channel announced it, if it did
    fetch: Fetch
    channel_file_id: str | None = None

    @classmethod
    def of_bytes(cls, kind: str, name: str | None, mime: str | None, data: bytes) -> NewFile:
        """A file the channel received whole (a web upload): its bytes are its fetch."""

        async def fetch(max_bytes: int) -> bytes:
            if len(data) > max_bytes:
                raise FileTooBig(len(data))
            return data

        return cls(kind, name, mime, len(data), fetch)


class Outcome(enum.StrEnum):
    ADDED = "added"
    TOO_BIG = "too_big"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class AttachResult:
    outcome: Outcome
    reference: str
    name: str = ""
    size: int | None = None


@dataclass(frozen=True, slots=True)
class FileView:
    id: int
    kind: str
    name: str
    mime: str
    size: int
    sha256: str
    path: str
    author: str
    at: datetime

    @property
    def inline(self) -> bool:
        """Whether a browser may show it in the page (a photo of a known image type)."""
        return self.mime in INLINE_IMAGES


def file_view(f: TicketFile) -> FileView:
    return FileView(f.id, f.kind.value, f.name, f.mime, f.size, f.sha256, f.path, f.author, f.at)


def clean_mime(mime: str | None, kind: str) -> str:
    """Return a well-formed content type for the file, or the kind's default."""
    value = (mime or "").strip().lower()
    return value if _MIME.fullmatch(value) else DEFAULT_MIMES.get(kind, DEFAULT_MIMES["document"])


def clean_name(name: str | None, kind: str, at: datetime) -> str:
    """Return the file's name for display: no folders, no control characters, no personal
    numbers (a photo named after an ID card is shown masked), not too long."""
    text = mask_pii((name or "").replace("\\", "/").rpartition("/")[2])
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip(" .")
    if not text:
        label = notices.FILE_KIND_NAMES.get(kind, kind)
        text = notices.FILE_DEFAULT_NAME.format(kind=label, at=at.astimezone(notices.TZ))
    if len(text) > MAX_NAME:
        _stem, dot, ext = text.rpartition(".")
        keep = f".{ext}" if dot and len(ext) <= 10 else ""
        text = text[: MAX_NAME - len(keep)] + keep
    return text


def image_type(data: bytes) -> str | None:
    """Return the type of an image the console may show, read from its bytes, or None."""
    for mime, magics in INLINE_IMAGES.items():
        if any(data.startswith(magic) for magic in magics):
            if mime == "image/webp" and data[8:12] != b"WEBP":  # RIFF is also WAV, AVI
                continue
            return mime
    return None


def inline_ok(mime: str, data: bytes) -> bool:
    """Whether the bytes are the image their type says (never trust the type alone)."""
    return image_type(data) == mime


def refusal(size: int | None, count: int, limits: FileLimits) -> Outcome | None:
    """Return why a file cannot be added to a ticket holding `count` files, or None."""
    if size is not None and size > limits.max_bytes:
        return Outcome.TOO_BIG
    if count >= limits.per_ticket:
        return Outcome.TOO_MANY
    return None


async def _count(s: AsyncSession, ticket_id: int) -> int:
    return int(
        (
            await s.execute(
                select(func.count())
                .select_from(TicketFile)
                .where(TicketFile.ticket_id == ticket_id)
            )
        ).scalar_one()
    )


class TicketFiles:
    """Attach files to tickets, list them, and read them back."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        changes: Changes,
        clocks: SlaClocks,
        folder: AttachmentFolder,
        limits: FileLimits = FileLimits(),
    ) -> None:
        self._sessions = sessions
        self.changes = changes
        self.clocks = clocks
        self.folder = folder
        self.limits = limits

    @retrying
    async def _state(self, reference: str, source: str | None) -> tuple[int, TicketFile | None]:
        """Return how many files the ticket has, and the file `source` stored before."""
        async with self._sessions() as s:
            ticket_id = (
                await s.execute(select(Ticket.id).where(Ticket.reference == reference.upper()))
            ).scalar_one_or_none()
            if ticket_id is None:
                raise NotFound(notices.NO_SUCH_TICKET.format(ref=reference))
            seen = None
            if source is not None:
                seen = (
                    await s.execute(select(TicketFile).where(TicketFile.source == source))
                ).scalar_one_or_none()
            return await _count(s, ticket_id), seen

    async def attach(
        self,
        reference: str,
        sender: str,
        new: NewFile,
        at: datetime,
        *,
        caption: str = "",
        source: str | None = None,
    ) -> AttachResult:
        """Add a customer's file to their ticket, or say which limit refuses it.

        Raises FetchFailed when the channel could not fetch it."""
        count, seen = await self._state(reference, source)
        if seen is not None:  # a redelivered message: stored the first time
            return AttachResult(Outcome.ADDED, reference, seen.name, seen.size)
        refused = refusal(new.size, count, self.limits)
        if refused is not None:
            return AttachResult(refused, reference, size=new.size)
        try:
            data = await new.fetch(self.limits.max_bytes)
        except FileTooBig as exc:
            return AttachResult(Outcome.TOO_BIG, reference, size=exc.size)
        if len(data) > self.limits.max_bytes:
            return AttachResult(Outcome.TOO_BIG, reference, size=len(data))
        name = clean_name(new.name, new.kind, at)
        # The bytes say what an image is (Telegram's photos are JPEG, a file's type is
        # whatever the sender's client said); anything else keeps its announced type.
        mime = image_type(data) or clean_mime(new.mime, new.kind)
        path = await self.folder.write(data, mime, at)
        fields = {
            "kind": FileKind(new.kind),
            "name": name,
            "mime": mime,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "path": path,
            "author": sender,
            "at": at,
            "channel_file_id": new.channel_file_id,
            "source": source,
        }
        try:
            outcome = await self._record(reference, fields, caption, data)
        except BaseException:
            await self.folder.remove([path])
            raise
        if outcome is not Outcome.ADDED:
            await self.folder.remove([path])
            return AttachResult(outcome, reference, size=len(data))
        await self.changes.changed(reference)
        return AttachResult(Outcome.ADDED, reference, name, len(data))

    @retrying
    async def _record(
        self, reference: str, fields: dict[str, Any], caption: str, data: bytes
    ) -> Outcome:
        async with self.changes.ticket(reference, fields["at"]) as c:
            # Counted again under the ticket's lock: two files sent at once both counted
            # the same number before.
            if await _count(c.s, c.t.id) >= self.limits.per_ticket:
                return Outcome.TOO_MANY
            # A new row each try: a retried transaction must not reuse a rolled-back one.
            row = TicketFile(ticket_id=c.t.id, **fields)
            c.s.add(row)
            await c.s.flush()
            actor = customer(row.author)
            kind = notices.FILE_KIND_NAMES[row.kind.value]
            size = notices.file_size_text(row.size)
            line = notices.FILE_ENTRY.format(kind=kind, name=row.name, size=size)
            if caption:
                line += notices.FILE_ENTRY_CAPTION.format(text=caption[:500])
            c.entry("customer", row.author, line, row.at)
            c.audit(actor, "customer_file", row.at, None, None, f"{row.id}:{row.name}")
            await customer_spoke(c, self.clocks, actor, row.at)
            self._relay(c, row, kind, size, caption, data)
        return Outcome.ADDED

    @staticmethod
    def _relay(
        c: Change, row: TicketFile, kind: str, size: str, caption: str, data: bytes
    ) -> None:
        """Queue the file for the agents' chat, under the ticket's card."""
        chat_id = c.routes.chat("agents")
        if chat_id is None:
            return
        text = notices.CUSTOMER_FILE.format(ref=c.t.reference, kind=kind, name=row.name, size=size)
        if caption:
            text += notices.CUSTOMER_FILE_CAPTION.format(text=mask_pii(caption)[:500])
        c.s.add(
            outbound(
                chat_id=chat_id,
                purpose="thread",
                text=text,
                at=row.at,
                key=f"file:{row.id}",
                ticket_id=c.t.id,
                reply_to_card=True,
                # The channel's own copy when it has one; otherwise the bytes go along.
                attachment=None if row.channel_file_id else data,
                attachment_ref=row.channel_file_id,
                attachment_name=row.name,
                attachment_kind=row.kind.value,
            )
        )

    @retrying
    async def of_ticket(self, reference: str) -> list[FileView]:
        """Return the files of a ticket, oldest first."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(TicketFile)
                    .join(Ticket, Ticket.id == TicketFile.ticket_id)
                    .where(Ticket.reference == reference.upper())
                    .order_by(TicketFile.id)
                )
            ).scalars()
            return [file_view(f) for f in rows]

    async def read(self, reference: str, file_id: int) -> tuple[FileView, bytes] | None:
        """Return one file of a ticket with its bytes; None when there is no such file."""
        found = next((f for f in await self.of_ticket(reference) if f.id == file_id), None)
        if found is None:
            return None
        try:
            return found, await self.folder.read(found.path)
        except FileNotFoundError:
            log.warning("attachments: file %s of %s is missing on disk", file_id, reference)
            return None
