"""The SLA sweep: the warnings and breach notices that are due, each created once.

A unique `sla_event` row per (clock, stage) and, on PostgreSQL, FOR UPDATE SKIP LOCKED
make each notice fire once across restarts and several instances on one database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.tickets import notices
from escalation.tickets.changes import Changes
from escalation.tickets.clocks import SlaClocks
from storage.models import SlaEvent, SlaStage, Ticket, TicketClock
from storage.retry import retrying


class SlaSweep:
    """Fires the SLA notices that are due."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clocks: SlaClocks, changes: Changes
    ) -> None:
        self._sessions = sessions
        self.clocks = clocks
        self.changes = changes

    @retrying
    async def sweep(self, now: datetime, batch: int = 500) -> int:
        """Create the warnings and breach notices that are due; return how many.

        Rows are locked with FOR UPDATE SKIP LOCKED on PostgreSQL, so two instances
        share the work; the ledger's unique (clock, stage) makes each fire once anyway.
        """
        changed: set[str] = set()
        async with self._sessions.begin() as s:
            rows = (
                await s.execute(
                    select(TicketClock, Ticket)
                    .join(Ticket, Ticket.id == TicketClock.ticket_id)
                    .where(
                        TicketClock.stopped_at.is_(None),
                        TicketClock.paused_since.is_(None),
                        # warn_at <= due_at always: this bounds the scan by the index on
                        # (stopped_at, warn_at), so an idle sweep reads almost nothing.
                        TicketClock.warn_at <= now,
                        or_(
                            and_(TicketClock.warned.is_(False), TicketClock.warn_at <= now),
                            and_(TicketClock.breached.is_(False), TicketClock.due_at <= now),
                        ),
                    )
                    .order_by(TicketClock.due_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True, of=TicketClock)
                )
            ).all()
            for clock, t in rows:
                self._fire(s, clock, t, now)
                changed.add(t.reference)
            await s.flush()
        for reference in changed:
            await self.changes.changed(reference)
        return len(rows)

    def _fire(self, s: AsyncSession, clock: TicketClock, t: Ticket, now: datetime) -> None:
        """Record the stage a clock reached and queue its notice for each chat to tell."""
        if not clock.breached and clock.due_at <= now:
            stage = SlaStage.BREACH
            clock.breached = clock.warned = True
        else:
            stage = SlaStage.WARNING
            clock.warned = True
        targets = self.clocks.targets(t)
        s.add(SlaEvent(clock_id=clock.id, ticket_id=t.id, stage=stage, at=now))
        text = notices.sla_notice(
            stage=stage,
            reference=t.reference,
            clock=clock.clock,
            due=clock.due_at,
            priority=t.priority,
            assignee=t.assignee,
        )
        names = targets.notify_breach if stage == "breach" else targets.notify_warning
        when = self.clocks.hold_until(now, targets.hold_outside_hours)
        change = self.changes.within(s, t)
        for name in names:
            change.to_chat(
                name,
                text,
                "sla",
                now,
                key=f"sla:{clock.id}:{stage}:{name}",
                not_before=when,
                reply_to_card=name == "agents",
            )
