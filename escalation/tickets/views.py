"""What the desk shows of tickets: queue rows, a ticket's detail, its card, the
supervisors' view. Reading only; every change is in `escalation.tickets.desk`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.tickets import notices
from escalation.tickets.calendar import WorkingCalendar
from escalation.tickets.changes import NotFound
from escalation.tickets.clocks import all_clocks, clock_state, running_clocks
from escalation.tickets.files import FileView, file_view
from escalation.tickets.store import thread_of
from storage.models import Outbox, Ticket, TicketAudit, TicketClock, TicketFile, TicketStatus
from storage.outbox import Button
from storage.retry import retrying

OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.WAITING,
    TicketStatus.REOPENED,
)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class ClockView:
    clock: str
    cycle: int
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    state: str  # on_track | due_soon | breached | paused | met | cancelled
    result: str | None
    used_minutes: float | None


@dataclass(frozen=True, slots=True)
class TicketRow:
    reference: str
    status: str
    type: str
    category: str
    priority: str
    assignee: str | None
    summary: str
    opened_at: datetime
    channel: str
    order_no: str | None
    merchant_name: str | None
    contact_phone: str | None  # masked
    csat: int | None
    next_due: datetime | None
    next_clock: str | None
    state: str  # of the most urgent running clock, or "paused" / "none"

    @property
    def status_name(self) -> str:
        return notices.STATUS_NAMES.get(self.status, self.status)


@dataclass(frozen=True, slots=True)
class TicketDetail:
    row: TicketRow
    thread: list[tuple[str, str, str, datetime]]  # (kind, author, text, at)
    clocks: list[ClockView]
    audit: list[tuple[str, str, str | None, str | None, datetime]]  # actor, action, before, after
    files: list[FileView] = field(default_factory=list)  # what the customer attached


@dataclass(frozen=True, slots=True)
class Card:
    chat_id: int
    message_id: int
    text: str
    buttons: list[Button]


def card_buttons(reference: str, has_phone: bool = False) -> list[Button]:
    """The card's buttons; 显示电话 where the customer left a call-back number."""
    actions = [*notices.CARD_ACTIONS, *((notices.REVEAL_PHONE_ACTION,) if has_phone else ())]
    return [Button.on_ticket(label, action, reference) for label, action in actions]


def masked_phone(phone: str | None) -> str | None:
    """Return a call-back number as agents see it in lists: 138****5678."""
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def ticket_row(t: Ticket, clocks: Sequence[TicketClock], now: datetime) -> TicketRow:
    """Return a ticket as a queue row, timed by its most urgent running clock."""
    running = [c for c in clocks if c.stopped_at is None and c.paused_since is None]
    urgent = min(running, key=lambda c: c.due_at, default=None)
    if urgent is not None:
        state, due, clock = clock_state(urgent, now), urgent.due_at, urgent.clock
    elif any(c.stopped_at is None for c in clocks):
        state, due, clock = "paused", None, None
    else:
        state, due, clock = "none", None, None
    return TicketRow(
        t.reference,
        t.status.value,
        t.type,
        t.category,
        t.priority,
        t.assignee,
        t.summary,
        t.opened_at,
        t.channel,
        t.order_no,
        t.merchant_name,
        masked_phone(t.contact_phone),
        t.csat_score,
        due,
        clock,
        state,
    )


def clock_view(c: TicketClock, now: datetime) -> ClockView:
    return ClockView(
        c.clock,
        c.cycle,
        c.started_at,
        c.due_at,
        c.warn_at,
        clock_state(c, now),
        c.result,
        None if c.used_s is None else round(c.used_s / 60, 1),
    )


async def current_row(s: AsyncSession, t: Ticket, now: datetime) -> TicketRow:
    """Return a ticket's row as it stands in this session."""
    return ticket_row(t, await running_clocks(s, t.id), now)


async def card_text(s: AsyncSession, t: Ticket, now: datetime) -> str:
    """Return the text of a ticket's card in the agents' chat, as it reads now."""
    running = await running_clocks(s, t.id)
    row = ticket_row(t, running, now)
    paused = row.state == "paused"
    change = (
        await s.execute(
            select(TicketAudit.before, TicketAudit.after)
            .where(TicketAudit.ticket_id == t.id, TicketAudit.field == "priority")
            .order_by(TicketAudit.id.desc())
            .limit(1)
        )
    ).first()
    replanned = None
    if change is not None and change.before != change.after:
        deadlines = [(c.clock, c.due_at) for c in running if c.paused_since is None]
        replanned = (str(change.before), str(change.after), deadlines)
    return notices.card_text(
        reference=t.reference,
        priority=t.priority,
        ticket_type=t.type,
        category=t.category,
        status=t.status.value,
        assignee=t.assignee,
        summary=t.summary,
        order_no=t.order_no,
        merchant_name=t.merchant_name,
        has_phone=bool(t.contact_phone),
        channel=t.channel,
        clock=(row.next_clock or "", row.next_due, row.state)
        if row.next_due is not None
        else (("first_response", now, "paused") if paused else None),
        now=now,
        replanned=replanned,
    )


async def _find(s: AsyncSession, reference: str) -> Ticket | None:
    return (
        await s.execute(select(Ticket).where(Ticket.reference == reference.upper()))
    ).scalar_one_or_none()


async def rows_of(s: AsyncSession, tickets: list[Ticket], now: datetime) -> list[TicketRow]:
    """Return the tickets as queue rows, in their order, each timed by its running clocks."""
    if not tickets:
        return []
    clocks: dict[int, list[TicketClock]] = {t.id: [] for t in tickets}
    for c in (
        await s.execute(
            select(TicketClock).where(
                TicketClock.ticket_id.in_(list(clocks)), TicketClock.stopped_at.is_(None)
            )
        )
    ).scalars():
        clocks[c.ticket_id].append(c)
    return [ticket_row(t, clocks[t.id], now) for t in tickets]


class TicketViews:
    """The desk's read models, each one unit of work."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], calendar: WorkingCalendar
    ) -> None:
        self._sessions = sessions
        self.calendar = calendar

    @retrying
    async def card(self, reference: str, now: datetime) -> Card | None:
        """Return a ticket's card as it should read now, if it was posted."""
        async with self._sessions() as s:
            t = await _find(s, reference)
            if t is None or t.card_chat_id is None or t.card_message_id is None:
                return None
            done = t.status in DONE_STATUSES
            return Card(
                t.card_chat_id,
                t.card_message_id,
                await card_text(s, t, now),
                [] if done else card_buttons(t.reference, bool(t.contact_phone)),
            )

    @retrying
    async def ticket_for_message(self, chat_id: int, message_id: int) -> str | None:
        """Return the reference of the ticket a desk message in a chat was about."""
        async with self._sessions() as s:
            ref = (
                await s.execute(
                    select(Ticket.reference).where(
                        Ticket.card_chat_id == chat_id, Ticket.card_message_id == message_id
                    )
                )
            ).scalar_one_or_none()
            if ref is not None:
                return str(ref)
            ref = (
                await s.execute(
                    select(Ticket.reference)
                    .join(Outbox, Outbox.ticket_id == Ticket.id)
                    .where(Outbox.chat_id == chat_id, Outbox.tg_message_id == message_id)
                )
            ).scalar_one_or_none()
            return None if ref is None else str(ref)

    @retrying
    async def detail(self, reference: str, now: datetime) -> TicketDetail:
        """Return a ticket with its thread, every clock it had, its audit trail and files."""
        async with self._sessions() as s:
            t = await _find(s, reference)
            if t is None:
                raise NotFound(notices.NO_SUCH_TICKET.format(ref=reference))
            clocks = await all_clocks(s, t.id)
            entries = await thread_of(s, t.id)
            audit = (
                await s.execute(
                    select(TicketAudit)
                    .where(TicketAudit.ticket_id == t.id)
                    .order_by(TicketAudit.id)
                )
            ).scalars()
            files = (
                await s.execute(
                    select(TicketFile).where(TicketFile.ticket_id == t.id).order_by(TicketFile.id)
                )
            ).scalars()
            return TicketDetail(
                ticket_row(t, clocks, now),
                [(e.kind, e.author, e.text, e.at) for e in entries],
                [clock_view(c, now) for c in clocks],
                [(a.actor, a.action, a.before, a.after, a.at) for a in audit],
                [file_view(f) for f in files],
            )

    @retrying
    async def queue(
        self, now: datetime, *, assignee: str | None = None, limit: int = 50
    ) -> list[TicketRow]:
        """Open tickets, most urgent first (by the earliest running clock's deadline)."""
        async with self._sessions() as s:
            due = (
                select(
                    TicketClock.ticket_id.label("tid"),
                    func.min(TicketClock.due_at).label("due"),
                )
                .where(TicketClock.stopped_at.is_(None), TicketClock.paused_since.is_(None))
                .group_by(TicketClock.ticket_id)
                .subquery()
            )
            query = (
                select(Ticket)
                .outerjoin(due, due.c.tid == Ticket.id)
                .where(Ticket.status.in_(OPEN_STATUSES))
                .order_by(due.c.due.is_(None), due.c.due, Ticket.id)
                .limit(limit)
            )
            if assignee is not None:
                query = query.where(Ticket.assignee == assignee)
            tickets = list((await s.execute(query)).scalars())
            return await rows_of(s, tickets, now)

    @retrying
    async def supervisor_view(self, now: datetime) -> tuple[list[TicketRow], list[TicketRow]]:
        """Return (tickets due within the hour, tickets breached today)."""
        tz = self.calendar.tz
        midnight = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz)
        async with self._sessions() as s:
            soon_ids = select(TicketClock.ticket_id).where(
                TicketClock.stopped_at.is_(None),
                TicketClock.paused_since.is_(None),
                TicketClock.due_at > now,
                TicketClock.due_at <= now + timedelta(hours=1),
            )
            breached_ids = select(TicketClock.ticket_id).where(
                TicketClock.due_at >= midnight,
                TicketClock.due_at <= now,
                or_(
                    TicketClock.result == "breached",
                    and_(TicketClock.stopped_at.is_(None), TicketClock.paused_since.is_(None)),
                ),
            )
            soon = list(
                (
                    await s.execute(
                        select(Ticket)
                        .where(Ticket.id.in_(soon_ids), Ticket.status.in_(OPEN_STATUSES))
                        .limit(100)
                    )
                ).scalars()
            )
            breached = list(
                (
                    await s.execute(select(Ticket).where(Ticket.id.in_(breached_ids)).limit(100))
                ).scalars()
            )
            return await rows_of(s, soon, now), await rows_of(s, breached, now)
