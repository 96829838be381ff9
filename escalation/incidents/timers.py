"""Every deadline of an incident is a row in `incident_timer`: the escalation chain's
steps, the no-progress reminder and the reports' deadlines. Here they are added and
cancelled; `sweep` fires the due ones."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.plan import Level
from escalation.incidents.records import Context
from storage.models import Incident, IncidentTimer


def add_timer(
    s: AsyncSession,
    i: Incident,
    kind: str,
    seq: int,
    due: datetime,
    target: str | None = None,
) -> None:
    """Add a deadline of this kind; `target` is the chat a chain step notifies."""
    s.add(
        IncidentTimer(
            incident_id=i.id, kind=kind, seq=seq, target=target, due_at=due, cancelled=False
        )
    )


async def next_seq(s: AsyncSession, i: Incident, kind: str) -> int:
    """Return the number the incident's next timer of this kind takes."""
    top = (
        await s.execute(
            select(func.max(IncidentTimer.seq)).where(
                IncidentTimer.incident_id == i.id, IncidentTimer.kind == kind
            )
        )
    ).scalar_one_or_none()
    return 1 if top is None else int(top) + 1


async def cancel_timers(s: AsyncSession, i: Incident, *kinds: str) -> None:
    """Cancel the incident's timers of these kinds that have not fired."""
    await s.execute(
        update(IncidentTimer)
        .where(
            IncidentTimer.incident_id == i.id,
            IncidentTimer.kind.in_(kinds),
            IncidentTimer.fired_at.is_(None),
        )
        .values(cancelled=True)
    )


async def remind_later(ctx: Context, s: AsyncSession, i: Incident, at: datetime) -> None:
    """Move the no-progress reminder to one reminder period after `at`."""
    await cancel_timers(s, i, "reminder")
    level = ctx.level(i.level)
    add_timer(s, i, "reminder", await next_seq(s, i, "reminder"), at + level.reminder)


def schedule_chain(s: AsyncSession, i: Incident, level: Level, at: datetime) -> None:
    """Add every step of the level's escalation chain, its repeats included."""
    offset = timedelta(0)
    seq = 0
    for _round in range(level.repeat + 1):
        for step in level.chain:
            add_timer(s, i, "chain", seq, at + offset, step.notify)
            offset += step.wait
            seq += 1
