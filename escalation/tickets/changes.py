"""One change to one ticket: the locked row, its audit and thread entries, and the messages
it owes people, all in one transaction; then the listeners hear of it.

A channel that may redeliver a message sets `update_key` to the message's id while the
change runs: the change is recorded with it, and the same message again is refused
(`AlreadyDone`) instead of done twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.routing import Actor, Routes, queue_message
from escalation.tickets import notices
from escalation.tickets.rules import apply_status, can_move
from knowledge.masking import mask_pii
from storage.models import (
    DeskUpdate,
    Direction,
    Message,
    Ticket,
    TicketAudit,
    TicketEntry,
    TicketStatus,
    User,
)
from storage.outbox import Button, choice_buttons, outbound

log = logging.getLogger(__name__)

Listener = Callable[[str], Awaitable[None]]

# The channel's id of the message being handled (e.g. "telegram:8812"), set by a channel
# that may redeliver: the change it makes is recorded with it, once.
update_key: ContextVar[str | None] = ContextVar("desk_update_key", default=None)


class DeskError(ValueError):
    """A desk action that cannot be done; the message (Chinese) says why and what to do."""


class NotFound(DeskError):
    """No such ticket (or agent)."""


class BadInput(DeskError):
    """Something required is missing, such as the text of a reply."""


class AlreadyDone(DeskError):
    """The channel delivered this command before, and it was carried out then."""


class AlreadyClosed(DeskError):
    """The ticket is closed already (a second or stale 关闭): nothing was done."""


class Forbidden(DeskError):
    """The actor's role may not do this."""


# Where the desk's messages reach a customer: the chat of their channel identity in the
# outbox, or None where the channel collects them itself (the web chat). The channel
# supplies it (bot/telegram_wire.py): the identity's format is the channel's.
CustomerChat = Callable[[str], int | None]


def no_chat(_sender: str) -> int | None:
    """Reach no customer through the outbox (they collect the desk's messages)."""
    return None


@dataclass(frozen=True, slots=True)
class Change:
    """The session and the locked ticket of one change, with what the change writes."""

    s: AsyncSession
    t: Ticket
    routes: Routes
    customer_chat: CustomerChat

    def audit(
        self,
        actor: Actor,
        action: str,
        at: datetime,
        field: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> None:
        """Record who did what to the ticket (every change writes one)."""
        self.t.updated_at = at
        self.s.add(
            TicketAudit(
                ticket_id=self.t.id,
                actor=actor.key,
                action=action,
                field=field,
                before=before,
                after=after,
                at=at,
            )
        )

    def assign(self, actor: Actor, at: datetime) -> None:
        """Make the actor the assignee, audited."""
        self.audit(actor, "assign", at, "assignee", self.t.assignee, actor.name)
        self.t.assignee = actor.name

    def set_status(self, target: TicketStatus, actor: Actor, at: datetime) -> None:
        """Move the ticket to a status the rules allow, audited."""
        t = self.t
        if t.status is target:
            return
        if not can_move(t.status, target):
            raise DeskError(
                notices.CANNOT_MOVE.format(
                    ref=t.reference,
                    now=notices.STATUS_NAMES[t.status.value],
                    to=notices.STATUS_NAMES[target.value],
                )
            )
        before = apply_status(t, target, at)
        self.audit(actor, "status", at, "status", before.value, target.value)

    def entry(self, kind: str, author: str, text: str, at: datetime) -> None:
        """Add to the ticket's thread (masked)."""
        self.s.add(
            TicketEntry(ticket_id=self.t.id, kind=kind, author=author, text=mask_pii(text), at=at)
        )

    def to_chat(
        self,
        chat: str | int,
        text: str,
        purpose: str,
        at: datetime,
        *,
        buttons: Sequence[Button] = (),
        key: str | None = None,
        reply_to_card: bool = False,
        not_before: datetime | None = None,
    ) -> None:
        """Queue a message about this ticket for a chat, by name or id."""
        queue_message(
            self.s,
            self.routes,
            chat,
            text,
            purpose,
            at,
            ticket_id=self.t.id,
            buttons=buttons,
            key=key,
            reply_to_card=reply_to_card,
            not_before=not_before,
        )

    async def to_customer(
        self, text: str, at: datetime, *, kind: str = "agent", choices: Sequence[str] = ()
    ) -> None:
        """Give the customer a message from the desk on their channel.

        The web chat collects it from `message` (CustomerSide.pushed); a channel with a
        chat for the customer also gets it in the outbox."""
        t = self.t
        sender = (
            await self.s.execute(select(User.sender).where(User.id == t.user_id))
        ).scalar_one()
        row = Message(
            user_id=t.user_id,
            channel=t.channel,
            direction=Direction.OUT,
            kind=kind,
            text=text,
            choices=json.dumps(list(choices), ensure_ascii=False),
            sent=False,
            created_at=at,
        )
        self.s.add(row)
        await self.s.flush()
        chat_id = self.customer_chat(sender)
        if chat_id is not None:
            self.s.add(
                outbound(
                    chat_id=chat_id,
                    channel=t.channel,
                    purpose="customer",
                    text=text,
                    at=at,
                    buttons=choice_buttons(choices),
                    ticket_id=t.id,
                    message_id=row.id,
                )
            )


class Changes:
    """Opens changes to tickets and tells the listeners of each changed ticket."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        routes: Routes,
        customer_chat: CustomerChat = no_chat,
    ) -> None:
        self._sessions = sessions
        self.routes = routes
        self.customer_chat = customer_chat
        self.listeners: list[Listener] = []  # told the reference of each changed ticket

    def within(self, s: AsyncSession, t: Ticket) -> Change:
        """Return a change to a ticket inside a unit of work that already holds it."""
        return Change(s, t, self.routes, self.customer_chat)

    @asynccontextmanager
    async def ticket(self, reference: str, at: datetime) -> AsyncIterator[Change]:
        """Lock a ticket for one change, committed when the block ends."""
        async with self._sessions.begin() as s:
            t = (
                await s.execute(
                    select(Ticket).where(Ticket.reference == reference.upper()).with_for_update()
                )
            ).scalar_one_or_none()
            if t is None:
                raise NotFound(notices.NO_SUCH_TICKET.format(ref=reference))
            key = update_key.get()
            if key is not None:
                seen = (
                    await s.execute(select(DeskUpdate.id).where(DeskUpdate.key == key))
                ).scalar_one_or_none()
                if seen is not None:
                    raise AlreadyDone(notices.ALREADY_DONE)
                s.add(DeskUpdate(key=key, at=at))
            yield self.within(s, t)

    async def changed(self, reference: str) -> None:
        """Tell the listeners (a channel editing the ticket's card) it changed."""
        for listener in self.listeners:
            try:
                await listener(reference)
            except Exception:  # a card that cannot be edited must not undo the change
                log.exception("desk: listener failed for %s", reference)
