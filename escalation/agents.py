"""The agents' register: who may work tickets, with which role; and their web console
tokens and sessions (only hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.routing import Actor, agent_actor
from storage.models import Agent, AgentRole, ConsoleSession
from storage.retry import retrying

SESSION_TTL = timedelta(hours=8)


class AgentError(ValueError):
    """A change to the register that cannot be made; the message says why."""


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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentStore:
    """The register of people allowed to work tickets, and their console sign-ins."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, session_ttl: timedelta = SESSION_TTL
    ) -> None:
        self._sessions = sessions
        self.session_ttl = session_ttl  # how long a console sign-in lasts

    @retrying
    async def add(self, telegram_user_id: int, name: str, role: str, at: datetime) -> AgentView:
        """Register someone, or update their name and role if already registered."""
        if role not in AGENT_ROLES:
            raise AgentError(f"role {role!r} is not one of {', '.join(AGENT_ROLES)}.")
        async with self._sessions.begin() as s:
            agent = await _agent(s, telegram_user_id)
            if agent is None:
                agent = Agent(
                    telegram_user_id=telegram_user_id,
                    name=name,
                    role=AgentRole(role),
                    created_at=at,
                )
                s.add(agent)
            else:
                agent.name, agent.role = name, AgentRole(role)
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

    # ------------------------------------------------------------------ console sign-in
    async def issue_token(self, telegram_user_id: int) -> str:
        """Give a registered agent a new console token (the old one stops working)."""
        token = await issue_console_token(self._sessions, telegram_user_id)
        if token is None:
            raise AgentError(f"{telegram_user_id} 未登记为客服，请先 helpdesk agents add。")
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
        """Return (actor, expiry) of a console session that has not expired, else None."""
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
        """End a console session."""
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
        agent = await _agent(s, telegram_user_id)
        if agent is None:
            return None
        agent.token_hash = _hash(token)
        await s.execute(delete(ConsoleSession).where(ConsoleSession.agent_id == agent.id))
    return token
