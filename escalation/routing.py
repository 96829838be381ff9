"""Who is told: the chats notifications go to (Routes), who acts (Actor), and queueing a
message for a chat by name."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.outbox import Button, outbound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Routes:
    """Where notifications go: chat ids by name ("oncall" is the agents' chat), or a
    registered person as "person:<telegram user id>" (their private chat)."""

    agents: int | None = None
    supervisors: int | None = None
    leadership: int | None = None
    bureau: int | None = None

    def chat(self, name: str) -> int | None:
        if name.startswith("person:") and name[7:].isdigit():
            return int(name[7:])
        return {
            "agents": self.agents,
            "oncall": self.agents,
            "supervisors": self.supervisors,
            "leadership": self.leadership,
            "bureau": self.bureau,
        }.get(name)


def queue_message(
    s: AsyncSession,
    routes: Routes,
    chat: str | int,
    text: str,
    purpose: str,
    at: datetime,
    *,
    ticket_id: int | None = None,
    incident_id: int | None = None,
    buttons: Sequence[Button] = (),
    key: str | None = None,
    reply_to_card: bool = False,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message for a chat (by name or id) in the outbox; False if no such chat."""
    chat_id = routes.chat(chat) if isinstance(chat, str) else chat
    if chat_id is None:
        log.info("no chat configured for %s; %s message not sent", chat, purpose)
        return False
    s.add(
        outbound(
            chat_id=chat_id,
            purpose=purpose,
            text=text,
            at=at,
            buttons=buttons,
            key=key,
            ticket_id=ticket_id,
            incident_id=incident_id,
            reply_to_card=reply_to_card,
            not_before=not_before,
        )
    )
    return True


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something to a ticket, as the audit trail names them."""

    key: str  # "agent:7001", "telegram:5512", "system"
    name: str
    role: str  # agent | supervisor | customer | system

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


SYSTEM = Actor("system", "系统", "system")


def agent_actor(telegram_user_id: int, name: str, role: str) -> Actor:
    return Actor(f"agent:{telegram_user_id}", name, role)
