"""The customer's side of a ticket: what the conversation needs to know of it, their
messages and rating, and what the desk sent a web customer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.routing import SYSTEM, Actor
from escalation.tickets import notices
from escalation.tickets.changes import Change, Changes
from escalation.tickets.clocks import RESPONSE_CLOCKS, SlaClocks, running_clocks
from knowledge.masking import mask_pii
from storage.models import Message, Ticket, TicketAudit, TicketEntry, TicketStatus, User
from storage.retry import retrying

PUSH_KINDS = ("agent", "notice")  # outbound messages pushed to a customer by the desk


@dataclass(frozen=True, slots=True)
class CustomerTicket:
    """A customer's latest ticket, as the conversation needs to know it."""

    reference: str
    status: str
    answered: bool  # an agent has written to the customer
    awaiting_ack: bool  # the last thing in the thread is an agent's message
    done_at: datetime | None  # when it was resolved or closed
    csat: int | None


@dataclass(frozen=True, slots=True)
class CustomerTicketLine:
    """One of a customer's tickets, as a list of them shows it."""

    reference: str
    type: str
    category: str
    status: str
    updated_at: datetime


def customer(sender: str) -> Actor:
    """Return the customer as the audit trail names them."""
    return Actor(sender, sender, "customer")


async def customer_spoke(c: Change, clocks: SlaClocks, actor: Actor, at: datetime) -> None:
    """What the customer's word on a ticket does to it: a wait on them ends (the clocks run
    again) and, unless one runs, the next response clock starts."""
    t = c.t
    if t.status is TicketStatus.WAITING:
        c.set_status(TicketStatus.ASSIGNED, actor, at)
        targets = clocks.targets(t)
        for row in await running_clocks(c.s, t.id):
            clocks.resume(row, at, targets)
    running = await running_clocks(c.s, t.id)
    if not any(r.clock in RESPONSE_CLOCKS for r in running):
        await clocks.restart(c.s, t, "next_response", at)


class CustomerSide:
    """Tickets as their customers meet them."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], changes: Changes, clocks: SlaClocks
    ) -> None:
        self._sessions = sessions
        self.changes = changes
        self.clocks = clocks

    @retrying
    async def latest_ticket(self, sender: str) -> CustomerTicket | None:
        """Return the customer's latest ticket, or None."""
        async with self._sessions() as s:
            t = (
                await s.execute(
                    select(Ticket)
                    .join(User, User.id == Ticket.user_id)
                    .where(User.sender == sender)
                    .order_by(Ticket.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if t is None:
                return None
            last_kind = (
                await s.execute(
                    select(TicketEntry.kind)
                    .where(
                        TicketEntry.ticket_id == t.id, TicketEntry.kind.in_(("customer", "agent"))
                    )
                    .order_by(TicketEntry.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            return CustomerTicket(
                t.reference,
                t.status.value,
                t.first_response_at is not None,
                last_kind == "agent",
                t.closed_at or t.resolved_at,
                t.csat_score,
            )

    @retrying
    async def tickets_of(self, sender: str, limit: int) -> list[CustomerTicketLine]:
        """Return the customer's tickets (this channel identity only), last changed first."""
        changed = func.coalesce(Ticket.updated_at, Ticket.opened_at)
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(Ticket)
                    .join(User, User.id == Ticket.user_id)
                    .where(User.sender == sender)
                    .order_by(changed.desc(), Ticket.id.desc())
                    .limit(limit)
                )
            ).scalars()
            return [
                CustomerTicketLine(
                    t.reference, t.type, t.category, t.status.value, t.updated_at or t.opened_at
                )
                for t in rows
            ]

    @retrying
    async def note_risk(
        self,
        reference: str,
        at: datetime,
        level: str,
        tags: tuple[str, ...],
        note: str,
        message_id: int | None = None,
    ) -> None:
        """Link a new ticket to the risk verdict that raised its priority: an audited
        change (level and tags) and a line in its thread for the agents (masked)."""
        async with self.changes.ticket(reference, at) as c:
            linked = await c.s.execute(
                select(TicketAudit.id).where(
                    TicketAudit.ticket_id == c.t.id, TicketAudit.action == "risk"
                )
            )
            if linked.first() is not None:  # the same message again opened the same ticket
                return
            c.entry("system", SYSTEM.name, note, at)
            verdict = f"{level}: {','.join(tags) or '-'}"
            if message_id is not None:  # the message that raised it (and its alert)
                verdict += f" (message {message_id})"
            c.audit(SYSTEM, "risk", at, "risk", None, verdict)
        await self.changes.changed(reference)

    @retrying
    async def message(self, reference: str, sender: str, text: str, at: datetime) -> None:
        """A customer's message on a ticket an agent is working: into the thread and chat.

        It ends a wait on the customer (the clocks run again) and, unless one runs,
        starts the next response clock."""
        actor = customer(sender)
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            c.entry("customer", sender, text, at)
            c.audit(actor, "customer_message", at)
            await customer_spoke(c, self.clocks, actor, at)
            c.to_chat(
                "agents",
                notices.CUSTOMER_WROTE.format(ref=t.reference, text=mask_pii(text)[:1500]),
                "thread",
                at,
                reply_to_card=True,
            )
        await self.changes.changed(reference)

    @retrying
    async def rate(
        self, reference: str, sender: str, at: datetime, score: int | None, comment: str | None
    ) -> None:
        """Record the customer's rating of a closed ticket, and their comment."""
        actor = customer(sender)
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if score is not None:
                c.audit(actor, "csat", at, "csat_score", str(t.csat_score), str(score))
                t.csat_score = score
            if comment:
                t.csat_comment = mask_pii(comment)[:1000]
                c.audit(actor, "csat_comment", at, None, None, t.csat_comment[:200])
        await self.changes.changed(reference)

    @retrying
    async def pushed(self, sender: str) -> list[tuple[str, tuple[str, ...]]]:
        """Return (and mark delivered) what the desk sent a web customer since last asked."""
        async with self._sessions.begin() as s:
            rows = list(
                (
                    await s.execute(
                        select(Message)
                        .join(User, User.id == Message.user_id)
                        .where(
                            User.sender == sender,
                            Message.direction == "out",
                            Message.kind.in_(PUSH_KINDS),
                            Message.sent.is_(False),
                        )
                        .order_by(Message.id)
                    )
                ).scalars()
            )
            for m in rows:
                m.sent = True
            return [(m.text, tuple(json.loads(m.choices))) for m in rows]
