"""The agents' desk: working tickets, their SLA clocks, the sweep, and the outbox.

Every change to a ticket is one transaction that also writes its audit row, its thread
entry, its clock changes and the messages it owes people (the outbox). Messages are sent
by whichever instance claims them first; SLA notifications are created once per
(clock, stage), guaranteed by a unique ledger row, so restarts and several instances on
one database neither lose nor double them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.agents import AGENT_ROLES, AgentStore
from escalation.routing import Actor, Routes, agent_actor, queue_message
from escalation.tickets import notices
from escalation.tickets.rules import ANONYMISED_MARKERS, apply_status, can_move
from escalation.tickets.sla import Pause, SlaPolicy, Targets, deadline, used, warning_at
from escalation.tickets.store import TicketStore, TicketView
from knowledge.masking import mask_pii
from storage.models import (
    Agent,
    ClockResult,
    ConsoleSession,
    DeskUpdate,
    Direction,
    Message,
    Outbox,
    SlaEvent,
    SlaStage,
    Ticket,
    TicketAudit,
    TicketClock,
    TicketEntry,
    TicketPriority,
    TicketStatus,
    User,
)
from storage.outbox import OUTBOX_LEASE, OutboxQueue, choice_buttons, outbound
from storage.retry import retrying

log = logging.getLogger(__name__)

OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.WAITING,
    TicketStatus.REOPENED,
)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
RESPONSE_CLOCKS = ("first_response", "next_response")
REOPEN_WINDOW = timedelta(days=7)
CSAT_CHOICES = ("1", "2", "3", "4", "5")
NOT_SOLVED = "问题没解决"
PUSH_KINDS = ("agent", "notice")  # outbound messages pushed to a customer by the desk


class DeskError(ValueError):
    """A desk action that cannot be done; the message (Chinese) says why and what to do."""


class NotFound(DeskError):
    """No such ticket (or agent)."""


class BadInput(DeskError):
    """Something required is missing, such as the text of a reply."""


class AlreadyDone(DeskError):
    """The channel delivered this command before, and it was carried out then."""


# The channel's id of the message being handled (e.g. "telegram:8812"), set by a channel
# that may redeliver: the change it makes is recorded with it, once.
update_key: ContextVar[str | None] = ContextVar("desk_update_key", default=None)


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
class Card:
    chat_id: int
    message_id: int
    text: str
    buttons: list[tuple[str, str]]


def card_buttons(reference: str, has_phone: bool = False) -> list[tuple[str, str]]:
    """The card's buttons; 显示电话 where the customer left a call-back number."""
    actions = [*notices.CARD_ACTIONS, *((notices.REVEAL_PHONE_ACTION,) if has_phone else ())]
    return [(label, f"d:{action}:{reference}") for label, action in actions]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pauses(row: TicketClock) -> list[Pause]:
    return [
        (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in json.loads(row.pauses)
    ]


def _clock_state(row: TicketClock, now: datetime) -> str:
    if row.stopped_at is not None:
        return row.result or "met"
    if row.paused_since is not None:
        return "paused"
    if now >= row.due_at:
        return "breached"
    if now >= row.warn_at:
        return "due_soon"
    return "on_track"


def _masked_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


Listener = Callable[[str], Awaitable[None]]


class Desk:
    """Ticket work for agents and the customer side of it, with clocks and notifications."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tickets: TicketStore,
        agents: AgentStore,
        policy: SlaPolicy,
        routes: Routes,
        *,
        session_ttl: timedelta = timedelta(hours=8),
        outbox_lease: timedelta = OUTBOX_LEASE,
    ) -> None:
        self._sessions = sessions
        self.outbox = OutboxQueue(sessions, outbox_lease)
        self.tickets = tickets
        self.agents = agents
        self.policy = policy
        self.routes = routes
        self.session_ttl = session_ttl
        self.listeners: list[Listener] = []  # told the reference of each changed ticket

    # ------------------------------------------------------------------ helpers
    @property
    def calendar(self) -> Any:
        return self.policy.calendar

    def _targets(self, t: Ticket) -> Targets:
        return self.policy.targets(t.type, t.category, t.priority)

    def _schedule(self, row: TicketClock, targets: Targets) -> None:
        within = timedelta(seconds=row.within_s)
        pauses = _pauses(row)
        row.due_at = deadline(self.calendar, row.started_at, within, pauses)
        row.warn_at = warning_at(self.calendar, row.started_at, within, targets, pauses)

    def _start_clock(
        self, s: AsyncSession, t: Ticket, clock: str, cycle: int, at: datetime
    ) -> None:
        targets = self._targets(t)
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

    def _stop_clock(self, row: TicketClock, at: datetime, *, cancelled: bool = False) -> None:
        if row.stopped_at is not None:
            return
        if row.paused_since is not None:
            self._resume_clock(row, at, None)
        row.stopped_at = at
        spent = used(self.calendar, row.started_at, at, _pauses(row))
        row.used_s = int(spent.total_seconds())
        row.result = (
            ClockResult.CANCELLED
            if cancelled
            else (ClockResult.MET if at <= row.due_at else ClockResult.BREACHED)
        )

    def _resume_clock(self, row: TicketClock, at: datetime, targets: Targets | None) -> None:
        if row.paused_since is None:
            return
        pauses = json.loads(row.pauses)
        pauses.append([row.paused_since.isoformat(), at.isoformat()])
        row.pauses = json.dumps(pauses)
        row.paused_since = None
        if targets is not None:
            self._schedule(row, targets)

    async def _running(self, s: AsyncSession, t: Ticket) -> list[TicketClock]:
        return list(
            (
                await s.execute(
                    select(TicketClock)
                    .where(TicketClock.ticket_id == t.id, TicketClock.stopped_at.is_(None))
                    .order_by(TicketClock.id)
                )
            ).scalars()
        )

    async def _next_cycle(self, s: AsyncSession, t: Ticket, clock: str) -> int:
        top = (
            await s.execute(
                select(func.max(TicketClock.cycle)).where(
                    TicketClock.ticket_id == t.id, TicketClock.clock == clock
                )
            )
        ).scalar_one_or_none()
        return 0 if top is None else int(top) + 1

    @staticmethod
    def _audit(
        s: AsyncSession,
        t: Ticket,
        actor: Actor,
        action: str,
        at: datetime,
        field: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> None:
        t.updated_at = at
        s.add(
            TicketAudit(
                ticket_id=t.id,
                actor=actor.key,
                action=action,
                field=field,
                before=before,
                after=after,
                at=at,
            )
        )

    def _set_status(
        self, s: AsyncSession, t: Ticket, target: TicketStatus, actor: Actor, at: datetime
    ) -> None:
        if t.status is target:
            return
        if not can_move(t.status, target):
            raise DeskError(
                f"工单 {t.reference} 当前为“{notices.STATUS_NAMES[t.status.value]}”，"
                f"不能改为“{notices.STATUS_NAMES[target.value]}”。"
            )
        before = apply_status(t, target, at)
        self._audit(s, t, actor, "status", at, "status", before.value, target.value)

    @staticmethod
    def _entry(
        s: AsyncSession, t: Ticket, kind: str, author: str, text: str, at: datetime
    ) -> None:
        s.add(TicketEntry(ticket_id=t.id, kind=kind, author=author, text=mask_pii(text), at=at))

    def _hold_until(self, at: datetime, hold: bool) -> datetime:
        """Return when a notification may go out: now, or the next working moment."""
        if not hold:
            return at
        return self.calendar.add(at, timedelta(0))  # type: ignore[no-any-return]

    def _to_chat(
        self,
        s: AsyncSession,
        chat: str | int,
        text: str,
        purpose: str,
        at: datetime,
        *,
        t: Ticket | None = None,
        buttons: Sequence[tuple[str, str]] = (),
        key: str | None = None,
        reply_to_card: bool = False,
        not_before: datetime | None = None,
    ) -> None:
        queue_message(
            s,
            self.routes,
            chat,
            text,
            purpose,
            at,
            ticket_id=t.id if t is not None else None,
            buttons=buttons,
            key=key,
            reply_to_card=reply_to_card,
            not_before=not_before,
        )

    async def _push_customer(
        self,
        s: AsyncSession,
        t: Ticket,
        text: str,
        at: datetime,
        *,
        kind: str = "agent",
        choices: Sequence[str] = (),
    ) -> None:
        """Give the customer a message from the desk on their channel."""
        sender = (await s.execute(select(User.sender).where(User.id == t.user_id))).scalar_one()
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
        s.add(row)
        await s.flush()
        if t.channel == "telegram":
            chat_id = int(sender.split(":", 1)[1])
            s.add(
                outbound(
                    chat_id=chat_id,
                    purpose="customer",
                    text=text,
                    at=at,
                    buttons=choice_buttons(choices),
                    ticket_id=t.id,
                    message_id=row.id,
                )
            )

    @asynccontextmanager
    async def _ticket(
        self, reference: str, at: datetime
    ) -> AsyncIterator[tuple[AsyncSession, Ticket]]:
        async with self._sessions.begin() as s:
            t = (
                await s.execute(
                    select(Ticket).where(Ticket.reference == reference.upper()).with_for_update()
                )
            ).scalar_one_or_none()
            if t is None:
                raise NotFound(f"没有找到工单 {reference}，请核对工单号。")
            key = update_key.get()
            if key is not None:
                seen = (
                    await s.execute(select(DeskUpdate.id).where(DeskUpdate.key == key))
                ).scalar_one_or_none()
                if seen is not None:
                    raise AlreadyDone("这条指令已经处理过了。")
                s.add(DeskUpdate(key=key, at=at))
            yield s, t

    async def _changed(self, reference: str) -> None:
        for listener in self.listeners:
            try:
                await listener(reference)
            except Exception:  # a card that cannot be edited must not undo the change
                log.exception("desk: listener failed for %s", reference)

    # ------------------------------------------------------------------ opening
    async def open(self, *, at: datetime, **fields: Any) -> TicketView:
        """Open a ticket (see TicketStore.open) with its clocks and its card, in one go."""

        async def extra(s: AsyncSession, t: Ticket) -> None:
            self._start_clock(s, t, "first_response", 0, at)
            self._start_clock(s, t, "resolution", 0, at)
            await s.flush()
            self._to_chat(
                s,
                "agents",
                await self._card_text(s, t, at),
                "card",
                at,
                t=t,
                buttons=card_buttons(t.reference, bool(t.contact_phone)),
                key=f"card:{t.id}",
            )

        view = await self.tickets.open(at=at, extra=extra, **fields)
        await self._changed(view.reference)
        return view

    # ------------------------------------------------------------------ agent actions
    @retrying
    async def claim(self, reference: str, actor: Actor, at: datetime) -> TicketRow:
        async with self._ticket(reference, at) as (s, t):
            if t.status in DONE_STATUSES:
                raise DeskError(
                    f"工单 {t.reference} 已办结；如需继续处理，请先 /reopen {t.reference}。"
                )
            if t.assignee and t.assignee != actor.name and not actor.is_supervisor:
                raise DeskError(f"工单 {t.reference} 已由 {t.assignee} 认领。")
            if t.assignee != actor.name:
                self._audit(s, t, actor, "assign", at, "assignee", t.assignee, actor.name)
                t.assignee = actor.name
            if t.status in (TicketStatus.NEW, TicketStatus.REOPENED):
                self._set_status(s, t, TicketStatus.ASSIGNED, actor, at)
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    @retrying
    async def reveal_phone(self, reference: str, actor: Actor, at: datetime) -> str:
        """The customer's call-back number in full, for the agent working the ticket (its
        assignee) only; every look is an audited action."""
        async with self._ticket(reference, at) as (s, t):
            if actor.role not in AGENT_ROLES:
                raise DeskError("只有客服人员可以查看联系电话。")
            if not t.contact_phone:
                raise DeskError(f"工单 {t.reference} 没有登记联系电话。")
            if t.assignee != actor.name:
                log.warning("desk: %s asked for the phone of %s, not theirs", actor.key, reference)
                raise DeskError(
                    f"联系电话只对处理人显示：请先认领工单 {t.reference}，认领后再查看。"
                )
            self._audit(s, t, actor, "reveal_phone", at, "contact_phone", None, None)
            return t.contact_phone

    @retrying
    async def escalate(self, reference: str, actor: Actor, at: datetime) -> TicketRow:
        async with self._ticket(reference, at) as (s, t):
            if t.status in DONE_STATUSES:
                raise DeskError(f"工单 {t.reference} 已办结，无需升级。")
            before = t.priority
            t.priority = TicketPriority(f"P{max(1, int(before[1:]) - 1)}")
            self._audit(s, t, actor, "escalate", at, "priority", before, t.priority)
            self._to_chat(
                s,
                "supervisors",
                f"⬆️ 工单 {t.reference} 已由 {actor.name} 升级（{before} → {t.priority}）："
                f"{t.type}·{t.category}，处理人：{t.assignee or '未认领'}。",
                "escalation",
                at,
                t=t,
            )
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    @retrying
    async def reply(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        """Send an agent's text to the customer; stops the response clocks."""
        text = text.strip()
        if not text:
            raise BadInput("回复内容不能为空。")
        async with self._ticket(reference, at) as (s, t):
            if t.status in DONE_STATUSES:
                raise DeskError(
                    f"工单 {t.reference} 已办结；如需继续处理，请先 /reopen {t.reference}。"
                )
            await self._respond(s, t, actor, text, at)
            if t.status in (TicketStatus.NEW, TicketStatus.REOPENED):
                if not t.assignee:
                    self._audit(s, t, actor, "assign", at, "assignee", None, actor.name)
                    t.assignee = actor.name
                self._set_status(s, t, TicketStatus.ASSIGNED, actor, at)
            await self._push_customer(
                s, t, notices.AGENT_REPLY.format(ref=t.reference, text=text), at
            )
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    async def _respond(
        self, s: AsyncSession, t: Ticket, actor: Actor, text: str, at: datetime
    ) -> None:
        self._entry(s, t, "agent", actor.name, text, at)
        self._audit(s, t, actor, "reply", at, None, None, mask_pii(text)[:200])
        if t.first_response_at is None:
            t.first_response_at = at
        for row in await self._running(s, t):
            if row.clock in RESPONSE_CLOCKS:
                self._stop_clock(row, at)

    @retrying
    async def note(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        text = text.strip()
        if not text:
            raise BadInput("备注内容不能为空。")
        async with self._ticket(reference, at) as (s, t):
            self._entry(s, t, "note", actor.name, text, at)
            self._audit(s, t, actor, "note", at, None, None, mask_pii(text)[:200])
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    @retrying
    async def pending(
        self, reference: str, actor: Actor, text: str | None, at: datetime
    ) -> TicketRow:
        """Wait on the customer: the clocks pause until they answer."""
        async with self._ticket(reference, at) as (s, t):
            if t.status in DONE_STATUSES:
                raise DeskError(f"工单 {t.reference} 已办结。")
            if text and text.strip():
                await self._respond(s, t, actor, text.strip(), at)
                await self._push_customer(
                    s, t, notices.PENDING_NOTICE.format(ref=t.reference, text=text.strip()), at
                )
            if not t.assignee:
                self._audit(s, t, actor, "assign", at, "assignee", None, actor.name)
                t.assignee = actor.name
            self._set_status(s, t, TicketStatus.WAITING, actor, at)
            for clock in await self._running(s, t):
                clock.paused_since = clock.paused_since or at
            result = await self._row(s, t, at)
        await self._changed(t.reference)
        return result

    @retrying
    async def close(self, reference: str, actor: Actor, text: str, at: datetime) -> TicketRow:
        """Close with the result, which the customer receives with a request to rate."""
        text = text.strip()
        if not text:
            raise BadInput(f"请写明处理结果，例如 /close {reference} 已协调商户补发补贴。")
        async with self._ticket(reference, at) as (s, t):
            if t.status is TicketStatus.CLOSED:
                raise DeskError(f"工单 {t.reference} 已经办结。")
            await self._respond(s, t, actor, f"【办结】{text}", at)
            if not t.assignee:
                self._audit(s, t, actor, "assign", at, "assignee", None, actor.name)
                t.assignee = actor.name
            for clock in await self._running(s, t):
                self._stop_clock(clock, at)
            self._set_status(s, t, TicketStatus.CLOSED, actor, at)
            await self._push_customer(
                s,
                t,
                notices.CLOSED_NOTICE.format(ref=t.reference, text=text),
                at,
                kind="notice",
                choices=(*CSAT_CHOICES, NOT_SOLVED),
            )
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    @retrying
    async def reopen(
        self, reference: str, actor: Actor, at: datetime, text: str | None = None
    ) -> TicketRow:
        async with self._ticket(reference, at) as (s, t):
            if t.status not in DONE_STATUSES:
                raise DeskError(f"工单 {t.reference} 尚未办结，无需重新打开。")
            if t.summary in ANONYMISED_MARKERS:
                raise DeskError(
                    f"工单 {t.reference} 的个人信息已删除（保存期满或应本人要求），不能重新打开；"
                    "客户再次反映时请新建工单。"
                )
            self._set_status(s, t, TicketStatus.REOPENED, actor, at)
            t.csat_score = t.csat_score  # kept: the rating was for the first round
            self._start_clock(s, t, "resolution", await self._next_cycle(s, t, "resolution"), at)
            self._start_clock(
                s, t, "next_response", await self._next_cycle(s, t, "next_response"), at
            )
            if actor.role == "customer":
                self._entry(s, t, "customer", actor.key, text or NOT_SOLVED, at)
                self._to_chat(
                    s,
                    "agents",
                    f"🔁 客户重新打开了工单 {t.reference}：{mask_pii(text or NOT_SOLVED)[:500]}",
                    "thread",
                    at,
                    t=t,
                    reply_to_card=True,
                )
            else:
                self._entry(s, t, "system", actor.name, "工单已重新打开", at)
                await self._push_customer(
                    s, t, notices.REOPENED_BY_AGENT.format(ref=t.reference), at, kind="notice"
                )
            row = await self._row(s, t, at)
        await self._changed(t.reference)
        return row

    # ------------------------------------------------------------------ customer side
    @retrying
    async def customer_ticket(self, sender: str) -> CustomerTicket | None:
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
    async def customer_message(self, reference: str, sender: str, text: str, at: datetime) -> None:
        """A customer's message on a ticket an agent is working: into the thread and chat."""
        actor = Actor(sender, sender, "customer")
        async with self._ticket(reference, at) as (s, t):
            self._entry(s, t, "customer", sender, text, at)
            self._audit(s, t, actor, "customer_message", at)
            if t.status is TicketStatus.WAITING:
                self._set_status(s, t, TicketStatus.ASSIGNED, actor, at)
                targets = self._targets(t)
                for row in await self._running(s, t):
                    self._resume_clock(row, at, targets)
            running = await self._running(s, t)
            if not any(r.clock in RESPONSE_CLOCKS for r in running):
                self._start_clock(
                    s, t, "next_response", await self._next_cycle(s, t, "next_response"), at
                )
            self._to_chat(
                s,
                "agents",
                f"💬 客户回复（工单 {t.reference}）：{mask_pii(text)[:1500]}",
                "thread",
                at,
                t=t,
                reply_to_card=True,
            )
        await self._changed(reference)

    @retrying
    async def rate(
        self, reference: str, sender: str, at: datetime, score: int | None, comment: str | None
    ) -> None:
        actor = Actor(sender, sender, "customer")
        async with self._ticket(reference, at) as (s, t):
            if score is not None:
                self._audit(s, t, actor, "csat", at, "csat_score", str(t.csat_score), str(score))
                t.csat_score = score
            if comment:
                t.csat_comment = mask_pii(comment)[:1000]
                self._audit(s, t, actor, "csat_comment", at, None, None, t.csat_comment[:200])
        await self._changed(reference)

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

    # ------------------------------------------------------------------ reading
    async def _row(self, s: AsyncSession, t: Ticket, now: datetime) -> TicketRow:
        clocks = await self._running(s, t)
        return self._row_from(t, clocks, now)

    def _row_from(self, t: Ticket, clocks: Sequence[TicketClock], now: datetime) -> TicketRow:
        running = [c for c in clocks if c.stopped_at is None and c.paused_since is None]
        urgent = min(running, key=lambda c: c.due_at, default=None)
        if urgent is not None:
            state, due, clock = _clock_state(urgent, now), urgent.due_at, urgent.clock
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
            _masked_phone(t.contact_phone),
            t.csat_score,
            due,
            clock,
            state,
        )

    async def _card_text(self, s: AsyncSession, t: Ticket, now: datetime) -> str:
        row = await self._row(s, t, now)
        paused = row.state == "paused"
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
        )

    @retrying
    async def card(self, reference: str, now: datetime) -> Card | None:
        """Return a ticket's card as it should read now, if it was posted."""
        async with self._sessions() as s:
            t = (
                await s.execute(select(Ticket).where(Ticket.reference == reference.upper()))
            ).scalar_one_or_none()
            if t is None or t.card_chat_id is None or t.card_message_id is None:
                return None
            done = t.status in DONE_STATUSES
            return Card(
                t.card_chat_id,
                t.card_message_id,
                await self._card_text(s, t, now),
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
        async with self._sessions() as s:
            t = (
                await s.execute(select(Ticket).where(Ticket.reference == reference.upper()))
            ).scalar_one_or_none()
            if t is None:
                raise NotFound(f"没有找到工单 {reference}，请核对工单号。")
            clocks = list(
                (
                    await s.execute(
                        select(TicketClock)
                        .where(TicketClock.ticket_id == t.id)
                        .order_by(TicketClock.id)
                    )
                ).scalars()
            )
            entries = (
                await s.execute(
                    select(TicketEntry)
                    .where(TicketEntry.ticket_id == t.id)
                    .order_by(TicketEntry.id)
                )
            ).scalars()
            audit = (
                await s.execute(
                    select(TicketAudit)
                    .where(TicketAudit.ticket_id == t.id)
                    .order_by(TicketAudit.id)
                )
            ).scalars()
            return TicketDetail(
                self._row_from(t, clocks, now),
                [(e.kind, e.author, e.text, e.at) for e in entries],
                [
                    ClockView(
                        c.clock,
                        c.cycle,
                        c.started_at,
                        c.due_at,
                        c.warn_at,
                        _clock_state(c, now),
                        c.result,
                        None if c.used_s is None else round(c.used_s / 60, 1),
                    )
                    for c in clocks
                ],
                [(a.actor, a.action, a.before, a.after, a.at) for a in audit],
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
            return await self._rows(s, tickets, now)

    async def _rows(
        self, s: AsyncSession, tickets: list[Ticket], now: datetime
    ) -> list[TicketRow]:
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
        return [self._row_from(t, clocks[t.id], now) for t in tickets]

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
            return await self._rows(s, soon, now), await self._rows(s, breached, now)

    # ------------------------------------------------------------------ the SLA sweep
    @retrying
    async def sweep(self, now: datetime, batch: int = 500) -> int:
        """Create the warnings and breach notices that are due; return how many.

        Rows are locked with FOR UPDATE SKIP LOCKED on PostgreSQL, so two instances
        share the work; the ledger's unique (clock, stage) makes each fire once anyway.
        """
        changed: set[str] = set()
        fired = 0
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
                if not clock.breached and clock.due_at <= now:
                    stage = SlaStage.BREACH
                    clock.breached = clock.warned = True
                else:
                    stage = SlaStage.WARNING
                    clock.warned = True
                targets = self._targets(t)
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
                when = self._hold_until(now, targets.hold_outside_hours)
                for name in names:
                    self._to_chat(
                        s,
                        name,
                        text,
                        "sla",
                        now,
                        t=t,
                        key=f"sla:{clock.id}:{stage}:{name}",
                        not_before=when,
                        reply_to_card=name == "agents",
                    )
                changed.add(t.reference)
                fired += 1
            await s.flush()
        for reference in changed:
            await self._changed(reference)
        return fired

    # ------------------------------------------------------------------ console sessions
    async def issue_token(self, telegram_user_id: int) -> str:
        """Give a registered agent a new console token (the old one stops working)."""
        token = await issue_console_token(self._sessions, telegram_user_id)
        if token is None:
            raise NotFound(f"{telegram_user_id} 未登记为客服，请先 helpdesk agents add。")
        return token

    @retrying
    async def login(self, token: str, now: datetime) -> tuple[str, Actor, datetime] | None:
        """Return (session cookie, actor, expiry) for a valid token, else None."""
        async with self._sessions.begin() as s:
            agent = (
                await s.execute(select(Agent).where(Agent.token_hash == _hash(token)))
            ).scalar_one_or_none()
            if agent is None:
                return None
            cookie = secrets.token_urlsafe(32)
            expires = now + self.session_ttl
            s.add(
                ConsoleSession(
                    id=_hash(cookie), agent_id=agent.id, created_at=now, expires_at=expires
                )
            )
            return cookie, agent_actor(agent.telegram_user_id, agent.name, agent.role), expires

    @retrying
    async def session(self, cookie: str, now: datetime) -> tuple[Actor, datetime] | None:
        async with self._sessions() as s:
            row = (
                await s.execute(
                    select(ConsoleSession, Agent)
                    .join(Agent, Agent.id == ConsoleSession.agent_id)
                    .where(ConsoleSession.id == _hash(cookie))
                )
            ).first()
            if row is None or row[0].expires_at <= now:
                return None
            agent = row[1]
            return agent_actor(agent.telegram_user_id, agent.name, agent.role), row[0].expires_at

    @retrying
    async def logout(self, cookie: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(cookie)))


@retrying
async def issue_console_token(
    sessions: async_sessionmaker[AsyncSession], telegram_user_id: int
) -> str | None:
    """Set a new console token for a registered agent and end their sessions; None if
    nobody has that id."""
    token = secrets.token_urlsafe(24)
    async with sessions.begin() as s:
        agent = (
            await s.execute(select(Agent).where(Agent.telegram_user_id == telegram_user_id))
        ).scalar_one_or_none()
        if agent is None:
            return None
        agent.token_hash = _hash(token)
        await s.execute(delete(ConsoleSession).where(ConsoleSession.agent_id == agent.id))
    return token


__all__ = [
    "CSAT_CHOICES",
    "NOT_SOLVED",
    "REOPEN_WINDOW",
    "AlreadyDone",
    "BadInput",
    "Card",
    "CustomerTicket",
    "Desk",
    "DeskError",
    "NotFound",
    "TicketDetail",
    "TicketRow",
]
