"""The agents' desk: a ticket's life from opening to closing, and the parts it is made of.

Every change to a ticket is one transaction that also writes its audit row, its thread
entry, its clock changes and the messages it owes people (the outbox): see
`escalation.tickets.changes`. The clocks are `clocks`, what the desk shows is `views`,
the customer's side is `customer`, the SLA sweep is `sweep`; the actions agents take,
whatever the channel, are the table in `actions`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.agents import AGENT_ROLES, AgentStore
from escalation.routing import Actor, Routes
from escalation.tickets import notices
from escalation.tickets.changes import (
    AlreadyClosed,
    BadInput,
    Change,
    Changes,
    CustomerChat,
    DeskError,
    Forbidden,
    no_chat,
)
from escalation.tickets.clocks import RESPONSE_CLOCKS, SlaClocks, running_clocks
from escalation.tickets.customer import CustomerSide
from escalation.tickets.rules import ANONYMISED_MARKERS
from escalation.tickets.search import TicketFinder
from escalation.tickets.sla import SlaPolicy
from escalation.tickets.store import TicketStore, TicketView
from escalation.tickets.sweep import SlaSweep
from escalation.tickets.views import (
    DONE_STATUSES,
    TicketRow,
    TicketViews,
    card_buttons,
    card_text,
    current_row,
)
from knowledge.masking import mask_pii
from storage.models import Ticket, TicketPriority, TicketStatus
from storage.outbox import OUTBOX_LEASE, OutboxQueue
from storage.retry import retrying

log = logging.getLogger(__name__)

_FRESH = (TicketStatus.NEW, TicketStatus.REOPENED)  # nobody works on it yet


class Desk:
    """Ticket work for agents, and the parts the channels use: the views, the customer's
    side, the SLA sweep and the outbox."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tickets: TicketStore,
        agents: AgentStore,
        policy: SlaPolicy,
        routes: Routes,
        *,
        outbox_lease: timedelta = OUTBOX_LEASE,
        customer_chat: CustomerChat = no_chat,
    ) -> None:
        self.tickets = tickets
        self.agents = agents
        self.policy = policy
        self.routes = routes
        self.outbox = OutboxQueue(sessions, outbox_lease)
        self.clocks = SlaClocks(policy)
        self.changes = Changes(sessions, routes, customer_chat)
        self.views = TicketViews(sessions, policy.calendar)
        self.finder = TicketFinder(sessions, policy.calendar.tz)
        self.customers = CustomerSide(sessions, self.changes, self.clocks)
        self.sla = SlaSweep(sessions, self.clocks, self.changes)

    # ------------------------------------------------------------------ opening
    async def open(self, *, at: datetime, **fields: Any) -> TicketView:
        """Open a ticket (see TicketStore.open) with its clocks and its card, in one go."""

        async def extra(s: AsyncSession, t: Ticket) -> None:
            self.clocks.start(s, t, "first_response", 0, at)
            self.clocks.start(s, t, "resolution", 0, at)
            await s.flush()
            self.changes.within(s, t).to_chat(
                "agents",
                await card_text(s, t, at),
                "card",
                at,
                buttons=card_buttons(t.reference, bool(t.contact_phone)),
                key=f"card:{t.id}",
            )

        view = await self.tickets.open(at=at, extra=extra, **fields)
        await self.changes.changed(view.reference)
        return view

    # ------------------------------------------------------------------ agent actions
    @retrying
    async def claim(self, reference: str, actor: Actor, at: datetime) -> TicketRow:
        """Take a ticket (a supervisor may take it from another agent)."""
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status in DONE_STATUSES:
                raise DeskError(notices.DONE_REOPEN_FIRST.format(ref=t.reference))
            if t.assignee and t.assignee != actor.name and not actor.is_supervisor:
                raise DeskError(
                    notices.CLAIMED_BY_OTHER.format(ref=t.reference, assignee=t.assignee)
                )
            if t.assignee != actor.name:
                c.assign(actor, at)
            if t.status in _FRESH:
                c.set_status(TicketStatus.ASSIGNED, actor, at)
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row

    @retrying
    async def reveal_phone(self, reference: str, actor: Actor, at: datetime) -> str:
        """The customer's call-back number in full, for the agent working the ticket (its
        assignee) only; every look is an audited action."""
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if actor.role not in AGENT_ROLES:
                raise Forbidden(notices.PHONE_AGENTS_ONLY)
            if not t.contact_phone:
                raise DeskError(notices.NO_PHONE.format(ref=t.reference))
            if t.assignee != actor.name:
                log.warning("desk: %s asked for the phone of %s, not theirs", actor.key, reference)
                raise Forbidden(notices.PHONE_ASSIGNEE_ONLY.format(ref=t.reference))
            c.audit(actor, "reveal_phone", at, "contact_phone", None, None)
            return t.contact_phone

    @retrying
    async def escalate(self, reference: str, actor: Actor, at: datetime) -> TicketRow:
        """Raise the priority one step and tell the supervisors."""
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status in DONE_STATUSES:
                raise DeskError(notices.DONE_NO_ESCALATE.format(ref=t.reference))
            before = t.priority
            await self._set_priority(c, TicketPriority(f"P{max(1, int(before[1:]) - 1)}"))
            c.audit(actor, "escalate", at, "priority", before, t.priority)
            text = notices.ESCALATED.format(
                ref=t.reference,
                name=actor.name,
                before=before,
                after=t.priority,
                type=t.type,
                category=t.category,
                assignee=t.assignee or notices.UNASSIGNED,
            )
            c.to_chat("supervisors", text, "escalation", at)
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row

    async def _set_priority(self, c: Change, priority: TicketPriority) -> None:
        """Change a ticket's priority and re-plan its running clocks for it (see
        SlaClocks.replan); every priority change goes through here."""
        c.t.priority = priority
        self.clocks.replan(await running_clocks(c.s, c.t.id), c.t)

    @retrying
    async def reply(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        """Send an agent's text to the customer; stops the response clocks."""
        text = text.strip()
        if not text:
            raise BadInput(notices.EMPTY_REPLY)
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status in DONE_STATUSES:
                raise DeskError(notices.DONE_REOPEN_FIRST.format(ref=t.reference))
            await self._respond(c, actor, text, at)
            if t.status in _FRESH:
                if not t.assignee:
                    c.assign(actor, at)
                c.set_status(TicketStatus.ASSIGNED, actor, at)
            await c.to_customer(notices.AGENT_REPLY.format(ref=t.reference, text=text), at)
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row

    async def _respond(self, c: Change, actor: Actor, text: str, at: datetime) -> None:
        """Record an agent's message to the customer; it stops the response clocks."""
        c.entry("agent", actor.name, text, at)
        c.audit(actor, "reply", at, None, None, mask_pii(text)[:200])
        if c.t.first_response_at is None:
            c.t.first_response_at = at
        for row in await running_clocks(c.s, c.t.id):
            if row.clock in RESPONSE_CLOCKS:
                self.clocks.stop(row, at)

    @retrying
    async def note(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        """Add an internal note, never sent to the customer."""
        text = text.strip()
        if not text:
            raise BadInput(notices.EMPTY_NOTE)
        async with self.changes.ticket(reference, at) as c:
            c.entry("note", actor.name, text, at)
            c.audit(actor, "note", at, None, None, mask_pii(text)[:200])
            row = await current_row(c.s, c.t, at)
        await self.changes.changed(c.t.reference)
        return row

    @retrying
    async def pending(
        self, reference: str, actor: Actor, text: str | None, at: datetime
    ) -> TicketRow:
        """Wait on the customer: the clocks pause until they answer."""
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status in DONE_STATUSES:
                raise DeskError(notices.DONE_ALREADY.format(ref=t.reference))
            if text and text.strip():
                await self._respond(c, actor, text.strip(), at)
                await c.to_customer(
                    notices.PENDING_NOTICE.format(ref=t.reference, text=text.strip()), at
                )
            if not t.assignee:
                c.assign(actor, at)
            c.set_status(TicketStatus.WAITING, actor, at)
            self.clocks.pause(await running_clocks(c.s, t.id), at)
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row

    @retrying
    async def close(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        """Close with the result, which the customer receives with a request to rate."""
        text = text.strip()
        if not text:
            raise BadInput(notices.CLOSE_NEEDS_RESULT.format(ref=reference))
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status is TicketStatus.CLOSED:
                raise AlreadyClosed(notices.ALREADY_CLOSED.format(ref=t.reference))
            await self._respond(c, actor, notices.CLOSED_ENTRY.format(text=text), at)
            if not t.assignee:
                c.assign(actor, at)
            for clock in await running_clocks(c.s, t.id):
                self.clocks.stop(clock, at)
            c.set_status(TicketStatus.CLOSED, actor, at)
            await c.to_customer(
                notices.CLOSED_NOTICE.format(ref=t.reference, text=text),
                at,
                kind="notice",
                choices=(*notices.CSAT_CHOICES, notices.NOT_SOLVED),
            )
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row

    @retrying
    async def reopen(
        self, reference: str, actor: Actor, at: datetime, text: str | None = None
    ) -> TicketRow:
        """Reopen a resolved or closed ticket: an agent's decision, or the customer's
        问题没解决 (with what they wrote)."""
        async with self.changes.ticket(reference, at) as c:
            t = c.t
            if t.status not in DONE_STATUSES:
                raise DeskError(notices.NOT_DONE_YET.format(ref=t.reference))
            if t.summary in ANONYMISED_MARKERS:
                raise DeskError(notices.ANONYMISED_NO_REOPEN.format(ref=t.reference))
            c.set_status(TicketStatus.REOPENED, actor, at)
            # The rating (csat_score) stays: it was for the first round.
            await self.clocks.restart(c.s, t, "resolution", at)
            await self.clocks.restart(c.s, t, "next_response", at)
            if actor.role == "customer":
                said = text or notices.NOT_SOLVED
                c.entry("customer", actor.key, said, at)
                c.to_chat(
                    "agents",
                    notices.CUSTOMER_REOPENED.format(ref=t.reference, text=mask_pii(said)[:500]),
                    "thread",
                    at,
                    reply_to_card=True,
                )
            else:
                c.entry("system", actor.name, notices.REOPENED_ENTRY, at)
                await c.to_customer(
                    notices.REOPENED_BY_AGENT.format(ref=t.reference), at, kind="notice"
                )
            row = await current_row(c.s, t, at)
        await self.changes.changed(t.reference)
        return row
