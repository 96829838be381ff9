"""Build every object the channels need from the settings, and tear them down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db import make_engine, make_sessions, upgrade
from escalation.store import ConversationStore, TicketStore
from handlers.core import Core
from knowledge.engine import Engine
from knowledge.kb import load_kb


@dataclass
class Runtime:
    settings: Settings
    db: AsyncEngine
    store: ConversationStore
    core: Core

    async def close(self) -> None:
        await self.db.dispose()


async def build_runtime(settings: Settings) -> Runtime:
    """Migrate the database, load the KB and engine, wire the core."""
    await asyncio.to_thread(upgrade, settings.database_url)
    kb = load_kb(settings.kb_path)
    engine = await asyncio.to_thread(Engine, kb)
    db = make_engine(settings.database_url)
    sessions = make_sessions(db)
    store = ConversationStore(sessions)
    tickets = TicketStore(sessions, ZoneInfo("Asia/Shanghai"))
    return Runtime(settings, db, store, Core(engine, store, tickets))
