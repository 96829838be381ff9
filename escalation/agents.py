"""The agents' register: who may work tickets, with which role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Agent, AgentRole
from storage.retry import retrying


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


class AgentStore:
    """The register of people allowed to work tickets."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

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
