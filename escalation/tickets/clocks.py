"""A ticket's SLA clock rows: started, paused, resumed and stopped in working time.

The arithmetic is `escalation.tickets.sla`; this module keeps the `ticket_clock` rows in
step with it, inside the transaction of the change that moves them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.tickets.calendar import WorkingCalendar
from escalation.tickets.sla import Pause, SlaPolicy, Targets, deadline, used, warning_at
from storage.models import ClockResult, Ticket, TicketClock

# The clocks an agent's message to the customer stops.
RESPONSE_CLOCKS = ("first_response", "next_response")


def pauses(row: TicketClock) -> list[Pause]:
    """Return the finished pauses of a clock, oldest first."""
    return [
        (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in json.loads(row.pauses)
    ]


def clock_state(row: TicketClock, now: datetime) -> str:
    """Return on_track | due_soon | breached | paused, or the result of a stopped clock."""
    if row.stopped_at is not None:
        return row.result or "met"
    if row.paused_since is not None:
        return "paused"
    if now >= row.due_at:
        return "breached"
    if now >= row.warn_at:
        return "due_soon"
    return "on_track"


async def running_clocks(s: AsyncSession, ticket_id: int) -> list[TicketClock]:
    """Return a ticket's clocks that have not stopped (paused ones included)."""
    return list(
        (
            await s.execute(
                select(TicketClock)
                .where(TicketClock.ticket_id == ticket_id, TicketClock.stopped_at.is_(None))
                .order_by(TicketClock.id)
            )
        ).scalars()
    )


async def all_clocks(s: AsyncSession, ticket_id: int) -> list[TicketClock]:
    """Return every clock a ticket has had, oldest first."""
    return list(
        (
            await s.execute(
                select(TicketClock)
                .where(TicketClock.ticket_id == ticket_id)
                .order_by(TicketClock.id)
            )
        ).scalars()
    )


class SlaClocks:
    """The policy applied to clock rows: what each ticket is owed, and by when."""

    def __init__(self, policy: SlaPolicy) -> None:
        self.policy = policy

    @property
    def calendar(self) -> WorkingCalendar:
        return self.policy.calendar

    def targets(self, t: Ticket) -> Targets:
        """Return what the policy asks of this ticket."""
        return self.policy.targets(t.type, t.category, t.priority)

    def hold_until(self, at: datetime, hold: bool) -> datetime:
        """Return when a notification may go out: now, or the next working moment."""
        if not hold:
            return at
        return self.calendar.add(at, timedelta(0))

    def _schedule(self, row: TicketClock, targets: Targets) -> None:
        within = timedelta(seconds=row.within_s)
        finished = pauses(row)
        row.due_at = deadline(self.calendar, row.started_at, within, finished)
        row.warn_at = warning_at(self.calendar, row.started_at, within, targets, finished)

    def start(self, s: AsyncSession, t: Ticket, clock: str, cycle: int, at: datetime) -> None:
        """Start one cycle of a clock, if the policy has that clock for this ticket."""
        targets = self.targets(t)
        within = targets.within.get(clock)
        if within is None:
            return
        row = TicketClock(
            ticket_id=t.id,
            clock=clock,
            cycle=cycle,
            started_at=at,
            within_s=int(within.total_seconds()),
            pauses="[]",
            warned=False,
            breached=False,
        )
        self._schedule(row, targets)
        s.add(row)

    async def restart(self, s: AsyncSession, t: Ticket, clock: str, at: datetime) -> None:
        """Start the next cycle of a clock."""
        top = (
            await s.execute(
                select(func.max(TicketClock.cycle)).where(
                    TicketClock.ticket_id == t.id, TicketClock.clock == clock
                )
            )
        ).scalar_one_or_none()
        self.start(s, t, clock, 0 if top is None else int(top) + 1, at)

    def stop(self, row: TicketClock, at: datetime, *, cancelled: bool = False) -> None:
        """Stop a clock and record whether it met its deadline."""
        if row.stopped_at is not None:
            return
        if row.paused_since is not None:
            self.resume(row, at, None)
        row.stopped_at = at
        spent = used(self.calendar, row.started_at, at, pauses(row))
        row.used_s = int(spent.total_seconds())
        row.result = (
            ClockResult.CANCELLED
            if cancelled
            else (ClockResult.MET if at <= row.due_at else ClockResult.BREACHED)
        )

    def resume(self, row: TicketClock, at: datetime, targets: Targets | None) -> None:
        """End a clock's pause; with targets, move its deadline by the time it was paused."""
        if row.paused_since is None:
            return
        finished = json.loads(row.pauses)
        finished.append([row.paused_since.isoformat(), at.isoformat()])
        row.pauses = json.dumps(finished)
        row.paused_since = None
        if targets is not None:
            self._schedule(row, targets)

    def replan(self, rows: Sequence[TicketClock], t: Ticket) -> None:
        """Re-plan a ticket's running clocks for what the policy gives it now (after its
        priority changed).

        Each clock keeps its start and its pauses, so the working time it has already run
        still counts: its allowance becomes the new priority's, and its deadline and
        warning time are worked out again as if it had run under that priority from the
        start (start + new allowance in working time on the same calendar, pushed back by
        its finished pauses). A paused clock gets the new allowance and is timed from it
        when it resumes. Nothing is sent here: a clock whose new warning time or deadline
        is already past gets its notice from the next sweep (a breach then stands for the
        warning too). A notice already sent for a clock is not sent again (the sweep's
        ledger holds one per clock and stage), so lowering a priority warns no one twice;
        a clock the new priority has no target for keeps the one it had.
        """
        targets = self.targets(t)
        for row in rows:
            within = targets.within.get(row.clock)
            if row.stopped_at is not None or within is None:
                continue
            row.within_s = int(within.total_seconds())
            self._schedule(row, targets)

    @staticmethod
    def pause(rows: Sequence[TicketClock], at: datetime) -> None:
        """Pause the running clocks (waiting on the customer)."""
        for row in rows:
            row.paused_since = row.paused_since or at
