"""The outbox: every message the service owes a chat is a row here, written in the
transaction of what caused it, and sent by whichever sender claims it first.

`outbound()` is the one constructor of such a row; `OutboxQueue` is the one claim (a lease
that lapses when its sender died, storage/lease.py), confirmation and failure of them, and
`OutboxQueue.deliver` the one loop that hands claimed rows to a channel's `Sender`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.lease import NEVER, claim_rows
from storage.models import AttachmentKind, Message, Outbox, OutboxPurpose, Ticket
from storage.retry import retrying

log = logging.getLogger(__name__)

OUTBOX_LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 8
_older = aliased(Outbox)


@dataclass(frozen=True, slots=True)
class Button:
    """A button as the service means it; each channel encodes it its own way.

    Without an action it is a choice: pressing it says its label, as if typed; a choice
    under a stored reply of the conversation has `on` "reply" and that message's id as
    `reference`, so that a press names the button, not only its label. With an action,
    pressing it does that action ("claim", "ack", ...) to the ticket or incident
    `reference`, with `arg` where the action needs one (the KB entry a "kb" button sends).
    """

    label: str
    action: str | None = None
    on: str | None = None  # what the action is on: "ticket" | "incident" (a choice: "reply")
    reference: str | None = None
    arg: str | None = None
    data: str | None = None  # only in rows queued as channel data: sent as it was stored

    @classmethod
    def on_ticket(cls, label: str, action: str, reference: str, arg: str | None = None) -> Button:
        return cls(label, action, "ticket", reference, arg)

    @classmethod
    def on_incident(cls, label: str, action: str, reference: str) -> Button:
        return cls(label, action, "incident", reference)


_FIELDS = frozenset(Button.__dataclass_fields__)


def outbound(
    *,
    chat_id: int,
    purpose: str,
    text: str,
    at: datetime,
    channel: str = "telegram",
    buttons: Sequence[Button] = (),
    key: str | None = None,
    ticket_id: int | None = None,
    incident_id: int | None = None,
    message_id: int | None = None,
    reply_to_card: bool = False,
    not_before: datetime | None = None,
    attachment: bytes | None = None,
    attachment_name: str | None = None,
    attachment_kind: str | None = None,
    attachment_ref: str | None = None,
    digest_id: int | None = None,
) -> Outbox:
    """A message owed to a chat; add it to the session of what caused it.

    `buttons` are stored by meaning (see Button); `key` makes it once only (a unique idempotency
    key); `message_id` links the customer's copy in `message`, marked sent with it. An
    attachment is its bytes, or `attachment_ref`: a file the channel holds already."""
    return Outbox(
        key=key,
        channel=channel,
        chat_id=chat_id,
        purpose=OutboxPurpose(purpose),
        text=text,
        buttons=dump_buttons(buttons),
        ticket_id=ticket_id,
        incident_id=incident_id,
        message_id=message_id,
        reply_to_card=reply_to_card,
        created_at=at,
        not_before=not_before or at,
        attempts=0,
        attachment=attachment,
        attachment_name=attachment_name,
        attachment_kind=AttachmentKind(attachment_kind) if attachment_kind else None,
        attachment_ref=attachment_ref,
        digest_id=digest_id,
    )


def choice_buttons(choices: Sequence[str], reply: int | None = None) -> list[Button]:
    """Buttons for a customer's choices, under the stored reply (message id) `reply` if
    they belong to one; the channel answers a press with the label (and the reply)."""
    if reply is None:
        return [Button(c) for c in choices]
    return [Button(c, on="reply", reference=str(reply)) for c in choices]


def dump_buttons(buttons: Sequence[Button]) -> str:
    """Return buttons as the outbox stores them (JSON objects of their fields)."""
    return json.dumps(
        [{k: v for k, v in asdict(b).items() if v is not None} for b in buttons],
        ensure_ascii=False,
    )


def load_buttons(text: str) -> list[Button]:
    """Read the stored buttons; a row queued before buttons were stored by meaning holds
    [label, channel data] pairs, kept as they were (Button.data)."""
    buttons = []
    for raw in json.loads(text):
        if isinstance(raw, dict):
            buttons.append(Button(**{k: str(v) for k, v in raw.items() if k in _FIELDS}))
        else:
            label, data = raw
            buttons.append(Button(str(label), data=str(data)))
    return buttons


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    chat_id: int
    purpose: str
    text: str
    buttons: list[Button]
    reply_to: int | None  # message id in that chat to reply to
    attachment: bytes | None = None  # a digest's chart or file; the text is its caption
    attachment_name: str | None = None
    attachment_kind: str | None = None  # photo | document | voice
    attachment_ref: str | None = None  # instead of the bytes: the channel's id of the file

    @property
    def has_attachment(self) -> bool:
        return self.attachment is not None or self.attachment_ref is not None


class SendFailed(Exception):
    """A channel could not deliver an item; `permanent` when sending it again cannot help
    (the chat blocked the bot, the message was refused), else it is retried later."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Sender(Protocol):
    """What a channel implements to deliver outbox items."""

    async def send(self, item: OutboxItem) -> int | None:
        """Deliver one item; return the channel's id of the (first) message sent, if it has
        one. Raise SendFailed when it was not delivered."""
        ...


class OutboxQueue:
    """Claiming, confirming and failing outbox rows, for any sender on any instance."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], lease: timedelta = OUTBOX_LEASE
    ) -> None:
        self._sessions = sessions
        self.lease = lease

    @retrying
    async def claim(self, now: datetime, limit: int = 20) -> list[OutboxItem]:
        """Claim messages due to be sent, oldest first; a claim lapses after the outbox
        lease if never confirmed (its sender died), and the message goes out again."""
        items: list[OutboxItem] = []
        async with self._sessions.begin() as s:
            rows = await claim_rows(
                s,
                Outbox,
                pending=Outbox.sent_at.is_(None),
                due=Outbox.not_before <= now,
                now=now,
                lease=self.lease,
                limit=limit,
                # A chat's messages keep their order: none goes out while an older one to
                # the same chat is claimed by a sender that may yet send it (or died
                # holding it: its claim lapses, and it goes first).
                also=[
                    ~exists().where(
                        _older.chat_id == Outbox.chat_id,
                        _older.id < Outbox.id,
                        _older.sent_at.is_(None),
                        _older.claimed_until >= now,
                        _older.claimed_until < NEVER,
                    )
                ],
            )
            for row in rows:
                reply_to = None
                if row.reply_to_card and row.ticket_id is not None:
                    card = (
                        await s.execute(
                            select(Ticket.card_chat_id, Ticket.card_message_id).where(
                                Ticket.id == row.ticket_id
                            )
                        )
                    ).one()
                    if card[0] == row.chat_id:
                        reply_to = card[1]
                items.append(
                    OutboxItem(
                        row.id,
                        row.chat_id,
                        row.purpose,
                        row.text,
                        load_buttons(row.buttons),
                        reply_to,
                        row.attachment,
                        row.attachment_name,
                        row.attachment_kind,
                        row.attachment_ref,
                    )
                )
        return items

    @retrying
    async def deliver(self, sender: Sender, due: datetime, now: Callable[[], datetime]) -> int:
        """Claim what is due at `due`, hand each item to `sender` in order, and record each
        outcome as soon as it is known, at `now()`; return how many items were claimed."""
        items = await self.claim(due)
        for item in items:
            try:
                channel_id = await sender.send(item)
            except SendFailed as exc:
                await self.failed(item.id, str(exc), now(), permanent=exc.permanent)
            else:
                await self.sent(item.id, channel_id, now())
        return len(items)

    async def sent(self, item_id: int, tg_message_id: int | None, at: datetime) -> None:
        async with self._sessions.begin() as s:
            row = await s.get(Outbox, item_id)
            if row is None:
                return
            row.sent_at = at
            row.tg_message_id = tg_message_id
            if row.message_id is not None:
                await s.execute(
                    update(Message).where(Message.id == row.message_id).values(sent=True)
                )
            if row.purpose is OutboxPurpose.CARD and row.ticket_id is not None:
                await s.execute(
                    update(Ticket)
                    .where(Ticket.id == row.ticket_id)
                    .values(card_chat_id=row.chat_id, card_message_id=tg_message_id)
                )

    @retrying
    async def failed(
        self, item_id: int, error: str, at: datetime, *, permanent: bool = False
    ) -> None:
        async with self._sessions.begin() as s:
            row = await s.get(Outbox, item_id)
            if row is None:
                return
            row.error = error[:500]
            if permanent or row.attempts >= MAX_ATTEMPTS:
                row.claimed_until = NEVER  # given up: kept for the record, never retried
                log.error("outbox: giving up on message %s to %s: %s", item_id, row.chat_id, error)
            else:
                row.claimed_until = None
                row.not_before = at + timedelta(seconds=min(300, 2**row.attempts))

    async def counts(self) -> dict[str, int]:
        """Return {purpose: messages sent} and pending counts, for tests and health."""
        async with self._sessions() as s:
            rows = await s.execute(
                select(Outbox.purpose, Outbox.sent_at.is_(None), func.count()).group_by(
                    Outbox.purpose, Outbox.sent_at.is_(None)
                )
            )
            out: dict[str, int] = {}
            for purpose, pending, n in rows:
                out[f"{purpose}:{'pending' if pending else 'sent'}"] = int(n)
            return out
