"""Storage of the conversation record. Each method is one unit of work in its own session."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.models import (
    Agent,
    Feedback,
    Handoff,
    Message,
    Outbox,
    Ticket,
    TicketAudit,
    TicketEntry,
    TicketStatus,
    User,
)
from escalation.tickets import (
    TICKET_TYPES,
    apply_status,
    can_move,
    priority_for,
    reference_for,
)
from knowledge.masking import mask_pii

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserState:
    user_id: int | None  # None: never seen
    state_json: str
    previous: StoredExchange | None = None  # this channel message, if seen before


@dataclass(frozen=True, slots=True)
class Outbound:
    text: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Exchange:
    """One inbound message and what the core decided about it."""

    channel: str
    sender: str
    at: datetime
    text: str
    kind: str
    external_id: str | None
    role: str | None
    state_json: str
    replies: Sequence[Outbound]
    kb_entry_id: str | None = None
    score: float | None = None
    feedback: Sequence[tuple[str, bool]] = ()  # (entry id, helpful)
    handoffs: Sequence[tuple[str, str | None]] = ()  # (reason, last question)
    incident_id: int | None = None  # the open incident the message was about
    risk_level: str | None = None  # none | low | medium | high (text messages only)
    risk_score: float | None = None
    risk_tags: Sequence[str] = ()
    # Telegram chats told about this message in the same transaction, exactly once:
    # (chat id, text), e.g. the supervisors on a high-risk message.
    alerts: Sequence[tuple[int, str]] = ()
    # The Telegram chat the replies go to: they are queued in the outbox in the same
    # transaction, and sent (and marked sent) one at a time from there.
    reply_chat: int | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    message_id: int
    text: str
    choices: tuple[str, ...]
    sent: bool


@dataclass(frozen=True, slots=True)
class StoredExchange:
    inbound_id: int
    replies: list[StoredReply] = field(default_factory=list)
    duplicate: bool = False  # the channel delivered this message before


ALLOCATE_TRIES = 30  # attempts at a free daily reference under concurrent openings
# A database that is away for a moment (failover, restart) gets these waits, about eight
# seconds in all: a PostgreSQL restart takes a few. Then the caller is told it is away.
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.5, 2.0, 3.0)
P = ParamSpec("P")
T = TypeVar("T")

# SQLSTATE codes of a server that is away, not of a wrong statement: connection
# exceptions (class 08), admin/crash shutdown and "cannot connect now" (57P01-57P03),
# too many connections (53300), and serialisation failures and deadlocks (40001, 40P01),
# which succeed when the transaction is run again.
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
_TRANSIENT_WORDS = (
    "connection",
    "database is locked",
    "database table is locked",
    "busy",
    "timeout",
    "timed out",
    "terminat",
    "closed",
    "refused",
    "shutdown",
    "shutting down",
    "starting up",
    "cannot connect now",
    "unable to open database",
)


_SOCKET_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENOTCONN,
    }
)


class DatabaseUnavailable(RuntimeError):
    """The database stayed away through every retry; nothing of the unit was written."""


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is x for x in seen) or len(seen) > 8:
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return seen


def transient(exc: BaseException) -> bool:
    """Whether an error means the database is away for a moment (retry) rather than that
    the statement is wrong (raise): refused, reset or closed connections, a server
    shutting down or starting up, a locked SQLite file, a timeout."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for e in _causes(exc):
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and state:
            return state.startswith(_TRANSIENT_STATES)
    for e in _causes(exc):
        if isinstance(e, ConnectionError | TimeoutError):
            return True
        if isinstance(e, OSError) and e.errno in _SOCKET_ERRNOS:
            return True  # a socket that could not be opened or was cut
    # Only the driver's own errors may be read as transient by their wording.
    driver = type(exc).__module__.split(".")[0] in ("asyncpg", "sqlite3", "aiosqlite")
    if not isinstance(exc, DBAPIError | OSError) and not driver:
        return False
    text = " ".join(str(e) for e in _causes(exc)).lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def retrying(op: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a unit of work again while the database is briefly unavailable; raise
    DatabaseUnavailable once it stayed away through every wait."""

    @functools.wraps(op)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        last: BaseException | None = None
        for delay in (*RETRY_DELAYS, None):
            try:
                return await op(*args, **kwargs)
            except DatabaseUnavailable:
                raise  # an inner unit already waited its full time
            except (DBAPIError, OSError, TimeoutError) as exc:
                if not transient(exc):
                    raise
                last = exc
                if delay is None:
                    break
                log.warning(
                    "database unavailable (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
        raise DatabaseUnavailable("the database did not answer; try again shortly") from last

    return wrapper


class ConversationStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        # SQLite has one writer: queueing writes here beats its busy-wait back-off, which
        # sleeps in coarse steps when many connections collide.
        self._write_lock: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock()
            if bind is not None and bind.dialect.name == "sqlite"
            else contextlib.nullcontext()
        )

    @retrying
    async def load_state(
        self, sender: str, channel: str | None = None, external_id: str | None = None
    ) -> UserState:
        """Return a sender's flow state and, given a channel message id, what was stored
        for that message if it was seen before."""
        async with self._sessions() as s:
            row = (
                await s.execute(select(User.id, User.state).where(User.sender == sender))
            ).first()
            previous = None
            if row is not None and channel is not None and external_id is not None:
                previous = await _find(s, channel, external_id)
        if row is None:
            return UserState(None, "{}")
        return UserState(row[0], row[1], previous)

    @retrying
    async def find(self, channel: str, external_id: str) -> StoredExchange | None:
        """Return what was stored for a channel message seen before, if it was."""
        async with self._sessions() as s:
            return await _find(s, channel, external_id)

    @retrying
    async def record(self, ex: Exchange, *, sent: bool = False) -> StoredExchange:
        """Store the inbound message, replies, new state and effects in one transaction.

        `sent` marks the replies delivered at once, for channels that hand them back in the
        same request (web, terminal).
        """
        try:
            async with self._write_lock, self._sessions.begin() as s:
                user = (
                    await s.execute(select(User).where(User.sender == ex.sender))
                ).scalar_one_or_none()
                if user is None:
                    user = User(
                        channel=ex.channel,
                        sender=ex.sender,
                        first_seen=ex.at,
                        last_seen=ex.at,
                        state="{}",
                    )
                    s.add(user)
                    await s.flush()
                user.last_seen = ex.at
                user.role = ex.role
                user.state = ex.state_json
                inbound = Message(
                    user_id=user.id,
                    channel=ex.channel,
                    direction="in",
                    kind=ex.kind,
                    text=mask_pii(ex.text),
                    external_id=ex.external_id,
                    created_at=ex.at,
                    incident_id=ex.incident_id,
                    risk_level=ex.risk_level,
                    risk_score=ex.risk_score,
                    risk_tags=",".join(ex.risk_tags)[:200] if ex.risk_tags else None,
                )
                s.add(inbound)
                await s.flush()
                s.add_all(
                    Outbox(
                        key=f"risk:{inbound.id}:{chat_id}",
                        channel="telegram",
                        chat_id=chat_id,
                        purpose="risk",
                        text=mask_pii(text),
                        buttons="[]",
                        created_at=ex.at,
                        not_before=ex.at,
                        attempts=0,
                    )
                    for chat_id, text in ex.alerts
                )
                out_rows = [
                    Message(
                        user_id=user.id,
                        channel=ex.channel,
                        direction="out",
                        kind=ex.kind,
                        text=r.text,
                        choices=json.dumps(list(r.choices), ensure_ascii=False),
                        reply_to_id=inbound.id,
                        kb_entry_id=ex.kb_entry_id,
                        score=ex.score,
                        sent=int(sent),
                        created_at=ex.at,
                    )
                    for r in ex.replies
                ]
                s.add_all(out_rows)
                if ex.reply_chat is not None and out_rows and not sent:
                    await s.flush()
                    s.add_all(
                        Outbox(
                            key=f"reply:{m.id}",
                            channel=ex.channel,
                            chat_id=ex.reply_chat,
                            purpose="reply",
                            text=m.text,
                            buttons=json.dumps(
                                [[c, f"c{i}"] for i, c in enumerate(r.choices)],
                                ensure_ascii=False,
                            ),
                            message_id=m.id,
                            reply_to_card=0,
                            created_at=ex.at,
                            not_before=ex.at,
                            attempts=0,
                        )
                        for m, r in zip(out_rows, ex.replies, strict=True)
                    )
                s.add_all(
                    Feedback(user_id=user.id, kb_entry_id=e, helpful=int(h), created_at=ex.at)
                    for e, h in ex.feedback
                )
                s.add_all(
                    Handoff(
                        user_id=user.id,
                        channel=ex.channel,
                        reason=reason,
                        last_question=mask_pii(q) if q else None,
                        created_at=ex.at,
                    )
                    for reason, q in ex.handoffs
                )
                await s.flush()
                return StoredExchange(
                    inbound.id,
                    [
                        StoredReply(m.id, m.text, tuple(json.loads(m.choices)), sent)
                        for m in out_rows
                    ],
                )
        except IntegrityError:
            # The same channel message raced in twice: the first one to commit answers it.
            if ex.external_id is None:
                raise
            found = await self.find(ex.channel, ex.external_id)
            if found is None:
                raise
            return found

    async def counts(self) -> dict[str, int]:
        """Return row counts, for health checks and tests."""
        async with self._sessions() as s:
            out = {}
            for name, model in (
                ("users", User),
                ("messages", Message),
                ("feedback", Feedback),
                ("handoffs", Handoff),
            ):
                out[name] = int(
                    (await s.execute(select(func.count()).select_from(model))).scalar_one()
                )
            return out

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self._sessions() as s:
            await s.execute(select(1))


async def _find(s: AsyncSession, channel: str, external_id: str) -> StoredExchange | None:
    inbound = (
        await s.execute(
            select(Message.id).where(
                Message.channel == channel,
                Message.external_id == external_id,
                Message.direction == "in",
            )
        )
    ).scalar_one_or_none()
    if inbound is None:
        return None
    return StoredExchange(inbound, await _replies_of(s, inbound), duplicate=True)


async def _replies_of(s: AsyncSession, inbound_id: int) -> list[StoredReply]:
    rows = (
        await s.execute(
            select(Message).where(Message.reply_to_id == inbound_id).order_by(Message.id)
        )
    ).scalars()
    return [StoredReply(m.id, m.text, tuple(json.loads(m.choices)), bool(m.sent)) for m in rows]


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
        prefix = reference_for(day, 0)[:-4]
        for attempt in range(ALLOCATE_TRIES):
            if attempt:  # two openings took the same number: back off a random moment
                await asyncio.sleep(random.uniform(0.005, 0.05) * min(attempt, 5))
            if source is not None:
                async with self._sessions() as s:
                    known = (
                        await s.execute(select(Ticket).where(Ticket.source == source))
                    ).scalar_one_or_none()
                    if known is not None:
                        return _view(known)
            try:
                async with self._sessions.begin() as s:
                    user_id = (
                        await s.execute(select(User.id).where(User.sender == sender))
                    ).scalar_one_or_none()
                    if user_id is None:
                        raise TicketError(f"no user {sender!r}: they must have written first")
                    count = (
                        await s.execute(
                            select(func.count())
                            .select_from(Ticket)
                            # A range, not LIKE: it uses the unique index on both
                            # databases ("." sorts right after "-").
                            .where(
                                Ticket.reference >= prefix, Ticket.reference < prefix[:-1] + "."
                            )
                        )
                    ).scalar_one()
                    ticket = Ticket(
                        reference=reference_for(day, int(count) + 1),
                        user_id=user_id,
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
                    s.add(ticket)
                    await s.flush()
                    s.add(
                        TicketEntry(
                            ticket_id=ticket.id,
                            kind="customer",
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
                    if extra is not None:
                        await extra(s, ticket)
                    return _view(ticket)
            except IntegrityError:
                continue  # another ticket took that number in the same instant: count again
        raise TicketError("could not allocate a ticket reference; try again")

    @retrying
    async def get(self, reference: str) -> TicketView | None:
        """Return a ticket with its thread, or None."""
        async with self._sessions() as s:
            t = (
                await s.execute(select(Ticket).where(Ticket.reference == reference.upper()))
            ).scalar_one_or_none()
            if t is None:
                return None
            entries = (
                await s.execute(
                    select(TicketEntry)
                    .where(TicketEntry.ticket_id == t.id)
                    .order_by(TicketEntry.id)
                )
            ).scalars()
            return _view(t, list(entries))

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
            by_phone = phone is not None and bool(ticket.contact_phone)
            if owner != sender and not (by_phone and ticket.contact_phone == phone):
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
                raise TicketError(f"没有找到工单 {reference}。")
            if not can_move(t.status, target):
                raise TicketError(
                    f"工单 {reference} 当前状态为 {t.status.value}，不能改为 {target.value}。"
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


AGENT_ROLES = ("agent", "supervisor")


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    telegram_user_id: int
    name: str
    role: str


def _agent_view(a: Agent) -> AgentView:
    return AgentView(a.id, a.telegram_user_id, a.name, a.role)


async def _agent(s: AsyncSession, telegram_user_id: int) -> Agent | None:
    return (
        await s.execute(select(Agent).where(Agent.telegram_user_id == telegram_user_id))
    ).scalar_one_or_none()


class AgentStore:
    """The register of people allowed to work tickets."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @retrying
    async def add(self, telegram_user_id: int, name: str, role: str, at: datetime) -> AgentView:
        """Register someone, or update their name and role if already registered."""
        if role not in AGENT_ROLES:
            raise TicketError(f"role {role!r} is not one of {', '.join(AGENT_ROLES)}.")
        async with self._sessions.begin() as s:
            agent = await _agent(s, telegram_user_id)
            if agent is None:
                agent = Agent(
                    telegram_user_id=telegram_user_id, name=name, role=role, created_at=at
                )
                s.add(agent)
            else:
                agent.name, agent.role = name, role
            await s.flush()
            return _agent_view(agent)

    @retrying
    async def all(self) -> list[AgentView]:
        """Return everyone registered, by id."""
        async with self._sessions() as s:
            return [
                _agent_view(a)
                for a in (await s.execute(select(Agent).order_by(Agent.id))).scalars()
            ]

    @retrying
    async def by_telegram(self, telegram_user_id: int) -> AgentView | None:
        """Return the agent with this Telegram user id, or None for anyone else."""
        async with self._sessions() as s:
            agent = await _agent(s, telegram_user_id)
            return _agent_view(agent) if agent else None

    @retrying
    async def remove(self, telegram_user_id: int) -> bool:
        """Unregister someone; return whether they were registered."""
        async with self._sessions.begin() as s:
            agent = await _agent(s, telegram_user_id)
            if agent is None:
                return False
            await s.delete(agent)
            return True
