"""The conversation record: each inbound message with its replies, state and effects, in
one transaction. Each method is one unit of work in its own session."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.masking import mask_pii
from storage.models import (
    Direction,
    Feedback,
    Handoff,
    HandoffReason,
    Message,
    OutboxPurpose,
    RiskLevel,
    User,
    UserRole,
)
from storage.outbox import choice_buttons, outbound
from storage.retry import retrying

_RISKY_MAX = 50


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
class StoredRisk:
    """A stored inbound message's risk verdict."""

    message_id: int
    level: str
    tags: tuple[str, ...]
    at: datetime
    text: str  # masked


@dataclass(frozen=True, slots=True)
class StoredReply:
    message_id: int
    text: str
    choices: tuple[str, ...]
    sent: bool


@dataclass(frozen=True, slots=True)
class ButtonOf:
    """What the record says of a button pressed under one of a user's replies."""

    label: str
    kb_entry_id: str | None  # the entry that reply answered
    current: bool  # the reply answers the user's latest message
    rated: bool  # the user gave feedback on that entry since the reply


@dataclass(frozen=True, slots=True)
class StoredExchange:
    inbound_id: int
    replies: list[StoredReply] = field(default_factory=list)
    duplicate: bool = False  # the channel delivered this message before


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
                user = await _user_for(s, ex)
                inbound = await _inbound(s, ex, user)
                out_rows = await _replies(s, ex, user, inbound, sent)
                _effects(s, ex, user)
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

    @retrying
    async def button_of(self, sender: str, reply_id: int, index: int) -> ButtonOf | None:
        """Return the button at `index` of a reply the bot gave `sender`; None when there
        is no such reply to this sender (another user's, a desk message) or no such button.
        """
        async with self._sessions() as s:
            reply = (
                await s.execute(
                    select(Message)
                    .join(User, User.id == Message.user_id)
                    .where(
                        Message.id == reply_id,
                        User.sender == sender,
                        Message.direction == Direction.OUT,
                        Message.reply_to_id.is_not(None),
                    )
                )
            ).scalar_one_or_none()
            labels = json.loads(reply.choices) if reply is not None else []
            if reply is None or not 0 <= index < len(labels):
                return None
            latest = await s.scalar(
                select(func.max(Message.id)).where(
                    Message.user_id == reply.user_id, Message.direction == Direction.IN
                )
            )
            rated = reply.kb_entry_id is not None and bool(
                await s.scalar(
                    select(func.count())
                    .select_from(Feedback)
                    .where(
                        Feedback.user_id == reply.user_id,
                        Feedback.kb_entry_id == reply.kb_entry_id,
                        Feedback.created_at >= reply.created_at,
                    )
                )
            )
            return ButtonOf(
                str(labels[index]), reply.kb_entry_id, latest == reply.reply_to_id, rated
            )

    @retrying
    async def risky_since(self, sender: str, since: datetime) -> list[StoredRisk]:
        """Return the sender's messages since then that scored medium or high risk,
        latest first (at most a few dozen)."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(Message)
                    .join(User, User.id == Message.user_id)
                    .where(
                        User.sender == sender,
                        Message.direction == Direction.IN,
                        Message.created_at >= since,
                        Message.risk_level.in_((RiskLevel.MEDIUM, RiskLevel.HIGH)),
                    )
                    .order_by(Message.id.desc())
                    .limit(_RISKY_MAX)
                )
            ).scalars()
            return [
                StoredRisk(
                    m.id,
                    m.risk_level.value if m.risk_level else "none",
                    tuple(t for t in (m.risk_tags or "").split(",") if t),
                    m.created_at,
                    m.text,
                )
                for m in rows
            ]

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
    return [StoredReply(m.id, m.text, tuple(json.loads(m.choices)), m.sent) for m in rows]


async def _user_for(s: AsyncSession, ex: Exchange) -> User:
    """The sender's row (made on their first message), with this exchange's role and state."""
    user = (await s.execute(select(User).where(User.sender == ex.sender))).scalar_one_or_none()
    if user is None:
        user = User(
            channel=ex.channel, sender=ex.sender, first_seen=ex.at, last_seen=ex.at, state="{}"
        )
        s.add(user)
        await s.flush()
    user.last_seen = ex.at
    user.role = UserRole(ex.role) if ex.role else None
    user.state = ex.state_json
    return user


async def _inbound(s: AsyncSession, ex: Exchange, user: User) -> Message:
    """The inbound message, masked, and the risk alerts it raised."""
    inbound = Message(
        user_id=user.id,
        channel=ex.channel,
        direction=Direction.IN,
        kind=ex.kind,
        text=mask_pii(ex.text),
        external_id=ex.external_id,
        created_at=ex.at,
        incident_id=ex.incident_id,
        risk_level=RiskLevel(ex.risk_level) if ex.risk_level else None,
        risk_score=ex.risk_score,
        risk_tags=",".join(ex.risk_tags)[:200] if ex.risk_tags else None,
    )
    s.add(inbound)
    await s.flush()
    s.add_all(
        outbound(
            chat_id=chat_id,
            purpose=OutboxPurpose.RISK,
            text=mask_pii(text),
            at=ex.at,
            key=f"risk:{inbound.id}:{chat_id}",
        )
        for chat_id, text in ex.alerts
    )
    return inbound


async def _replies(
    s: AsyncSession, ex: Exchange, user: User, inbound: Message, sent: bool
) -> list[Message]:
    """The replies to the inbound message; queued in the outbox for a chat that gets them
    later (Telegram), marked sent for a channel that hands them back at once."""
    out_rows = [
        Message(
            user_id=user.id,
            channel=ex.channel,
            direction=Direction.OUT,
            kind=ex.kind,
            text=r.text,
            choices=json.dumps(list(r.choices), ensure_ascii=False),
            reply_to_id=inbound.id,
            kb_entry_id=ex.kb_entry_id,
            score=ex.score,
            sent=sent,
            created_at=ex.at,
        )
        for r in ex.replies
    ]
    s.add_all(out_rows)
    if ex.reply_chat is not None and out_rows and not sent:
        await s.flush()
        s.add_all(
            outbound(
                chat_id=ex.reply_chat,
                purpose=OutboxPurpose.REPLY,
                text=m.text,
                at=ex.at,
                channel=ex.channel,
                buttons=choice_buttons(r.choices, reply=m.id),
                key=f"reply:{m.id}",
                message_id=m.id,
            )
            for m, r in zip(out_rows, ex.replies, strict=True)
        )
    return out_rows


def _effects(s: AsyncSession, ex: Exchange, user: User) -> None:
    """The feedback given and the hand-offs asked for in this exchange."""
    s.add_all(
        Feedback(user_id=user.id, kb_entry_id=e, helpful=h, created_at=ex.at)
        for e, h in ex.feedback
    )
    s.add_all(
        Handoff(
            user_id=user.id,
            channel=ex.channel,
            reason=HandoffReason(reason),
            last_question=mask_pii(q) if q else None,
            created_at=ex.at,
        )
        for reason, q in ex.handoffs
    )
