"""Tickets and the agents' register in storage. Each method is one unit of work."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.tickets import notices
from escalation.tickets.rules import (
    TICKET_TYPES,
    apply_status,
    can_move,
    day_prefix,
    priority_for,
    reference_for,
)
from knowledge.masking import mask_pii
from storage.models import EntryKind, Ticket, TicketAudit, TicketEntry, TicketStatus, User
from storage.retry import retrying

ALLOCATE_TRIES = 30  # attempts at a free daily reference under concurrent openings


class TicketError(ValueError):
    """A ticket operation that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class TicketView:
    reference: str
    status: TicketStatus
    type: str
    category: str
    priority: str
    summary: str
    assignee: str | None
    opened_at: datetime
    thread: tuple[tuple[str, str, str], ...] = ()  # (kind, author, text)
    id: int = 0
    merchant_name: str | None = None


def _view(t: Ticket, entries: Sequence[TicketEntry] = ()) -> TicketView:
    return TicketView(
        t.reference,
        t.status,
        t.type,
        t.category,
        t.priority,
        t.summary,
        t.assignee,
        t.opened_at,
        tuple((e.kind, e.author, e.text) for e in entries),
        t.id,
        t.merchant_name,
    )


async def thread_of(s: AsyncSession, ticket_id: int) -> list[TicketEntry]:
    """Return a ticket's thread (customer, agent, note and system entries), oldest first."""
    return list(
        (
            await s.execute(
                select(TicketEntry)
                .where(TicketEntry.ticket_id == ticket_id)
                .order_by(TicketEntry.id)
            )
        ).scalars()
    )


async def _user_id(s: AsyncSession, sender: str) -> int:
    user_id = (await s.execute(select(User.id).where(User.sender == sender))).scalar_one_or_none()
    if user_id is None:
        raise TicketError(f"no user {sender!r}: they must have written first")
    return int(user_id)


async def _opened_on(s: AsyncSession, day: date) -> int:
    """Return how many tickets were opened on a local day."""
    prefix = day_prefix(day)
    count = (
        await s.execute(
            select(func.count())
            .select_from(Ticket)
            # A range, not LIKE: it uses the unique index on both databases ("." sorts
            # right after "-").
            .where(Ticket.reference >= prefix, Ticket.reference < prefix[:-1] + ".")
        )
    ).scalar_one()
    return int(count)


async def _add_opened(
    s: AsyncSession, ticket: Ticket, sender: str, summary: str, at: datetime
) -> None:
    """Add a new ticket with its first thread entry (what the customer said) and audit."""
    s.add(ticket)
    await s.flush()
    s.add(
        TicketEntry(
            ticket_id=ticket.id,
            kind=EntryKind.CUSTOMER,
            author=sender,
            text=mask_pii(summary),
            at=at,
        )
    )
    s.add(
        TicketAudit(
            ticket_id=ticket.id,
            actor=sender,
            action="open",
            field=None,
            before=None,
            after=ticket.reference,
            at=at,
        )
    )


class TicketStore:
    """Tickets, their thread and audit trail. Every change writes an audit row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tz: ZoneInfo) -> None:
        self._sessions = sessions
        self._tz = tz  # references number tickets per local day

    @retrying
    async def open(
        self,
        *,
        sender: str,
        channel: str,
        ticket_type: str,
        category: str,
        summary: str,
        at: datetime,
        order_no: str | None = None,
        merchant_name: str | None = None,
        contact_phone: str | None = None,
        risk: str | None = None,
        source: str | None = None,
        extra: Callable[[AsyncSession, Ticket], Awaitable[None]] | None = None,
    ) -> TicketView:
        """Open a ticket for a known user; return it with its new reference.

        `source` names the channel message that asked for it: the same message again
        returns the ticket it opened. `extra` adds rows in the same transaction.
        """
        if ticket_type not in TICKET_TYPES:
            raise TicketError(f"unknown ticket type {ticket_type!r}")
        day = at.astimezone(self._tz).date()
        for attempt in range(ALLOCATE_TRIES):
            if attempt:  # two openings took the same number: back off a random moment
                await asyncio.sleep(random.uniform(0.005, 0.05) * min(attempt, 5))
            if source is not None and (known := await self._opened_by(source)) is not None:
                return known
            try:
                async with self._sessions.begin() as s:
                    ticket = Ticket(
                        reference=reference_for(day, await _opened_on(s, day) + 1),
                        user_id=await _user_id(s, sender),
                        channel=channel,
                        type=ticket_type,
                        category=category,
                        priority=priority_for(ticket_type, category, risk),
                        status=TicketStatus.NEW,
                        summary=mask_pii(summary),
                        # Free text like any message: an ID or card number typed here is
                        # masked; only contact_phone keeps a number, for the call-back.
                        order_no=mask_pii(order_no)[:64] if order_no else None,
                        merchant_name=mask_pii(merchant_name)[:128] if merchant_name else None,
                        contact_phone=contact_phone,
                        opened_at=at,
                        updated_at=at,
                        source=source,
                    )
                    await _add_opened(s, ticket, sender, summary, at)
                    if extra is not None:
                        await extra(s, ticket)
                    return _view(ticket)
            except IntegrityError:
                continue  # another ticket took that number in the same instant: count again
        raise TicketError("could not allocate a ticket reference; try again")

    async def _opened_by(self, source: str) -> TicketView | None:
        async with self._sessions() as s:
            known = (
                await s.execute(select(Ticket).where(Ticket.source == source))
            ).scalar_one_or_none()
            return None if known is None else _view(known)

    @retrying
    async def get(self, reference: str) -> TicketView | None:
        """Return a ticket with its thread, or None."""
        async with self._sessions() as s:
            t = (
                await s.execute(select(Ticket).where(Ticket.reference == reference.upper()))
            ).scalar_one_or_none()
            if t is None:
                return None
            return _view(t, await thread_of(s, t.id))

    @retrying
    async def get_for_owner(
        self, reference: str, sender: str, phone: str | None = None
    ) -> TicketView | None:
        """Return a ticket only to the person who opened it: the same channel identity, or
        the call-back phone given at intake; None for everyone else and unknown ones."""
        async with self._sessions() as s:
            row = (
                await s.execute(
                    select(Ticket, User.sender)
                    .join(User, User.id == Ticket.user_id)
                    .where(Ticket.reference == reference.upper())
                )
            ).first()
            if row is None:
                return None
            ticket, owner = row
            if owner != sender and (phone is None or ticket.contact_phone != phone):
                return None
            return _view(ticket)

    @retrying
    async def move(
        self, reference: str, target: TicketStatus, *, actor: str, at: datetime
    ) -> TicketView:
        """Change a ticket's status, recording who did it and what it was before."""
        async with self._sessions.begin() as s:
            t = (
                await s.execute(select(Ticket).where(Ticket.reference == reference))
            ).scalar_one_or_none()
            if t is None:
                raise TicketError(notices.NO_SUCH_TICKET_SHORT.format(ref=reference))
            if not can_move(t.status, target):
                raise TicketError(
                    notices.CANNOT_MOVE_PLAIN.format(
                        ref=reference, now=t.status.value, to=target.value
                    )
                )
            before = apply_status(t, target, at)
            s.add(
                TicketAudit(
                    ticket_id=t.id,
                    actor=actor,
                    action="status",
                    field="status",
                    before=before.value,
                    after=target.value,
                    at=at,
                )
            )
            return _view(t)

    @retrying
    async def audit(self, reference: str) -> list[tuple[str, str, str | None, str | None]]:
        """Return (actor, action, before, after) rows of a ticket, oldest first."""
        async with self._sessions() as s:
            rows = await s.execute(
                select(
                    TicketAudit.actor, TicketAudit.action, TicketAudit.before, TicketAudit.after
                )
                .join(Ticket, Ticket.id == TicketAudit.ticket_id)
                .where(Ticket.reference == reference)
                .order_by(TicketAudit.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
