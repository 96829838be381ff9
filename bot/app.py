"""Build every object the channels need from the settings, and tear them down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.db import make_engine, make_sessions, upgrade
from bot.telegram_wire import private_chat
from escalation.agents import AgentStore
from escalation.digests.cron import parse_cron
from escalation.digests.schedule import Digests
from escalation.incidents.plan import load_plan
from escalation.incidents.service import Incidents
from escalation.risk import TAG_NAMES, load_scorer
from escalation.routing import Routes
from escalation.tickets.calendar import load_calendar
from escalation.tickets.desk import Desk
from escalation.tickets.files import FileLimits, TicketFiles
from escalation.tickets.sla import SlaPolicy, load_policy
from escalation.tickets.store import TicketStore
from handlers.core import Core
from knowledge.engine import Engine
from knowledge.kb import load_kb
from storage.attachments import AttachmentFolder
from storage.conversation import ConversationStore


@dataclass
class Runtime:
    settings: Settings
    db: AsyncEngine
    store: ConversationStore
    core: Core
    desk: Desk
    agents: AgentStore
    tickets: TicketStore
    incidents: Incidents
    digests: Digests
    clock: Clock  # what every job and channel reads the time from
    files: TicketFiles  # customers' photos, files and voice notes, kept with tickets

    async def close(self) -> None:
        await self.db.dispose()


async def build_runtime(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Runtime:
    """Migrate the database, load the KB and engine, wire the core; all of it on `clock`."""
    await asyncio.to_thread(upgrade, settings.database_url)
    kb = load_kb(settings.kb_path)
    engine = await asyncio.to_thread(Engine, kb)
    db = make_engine(settings.database_url)
    sessions = make_sessions(db)
    store = ConversationStore(sessions)
    tickets = TicketStore(sessions, ZoneInfo("Asia/Shanghai"))
    agents = AgentStore(sessions, session_ttl=timedelta(minutes=settings.console_session_minutes))
    routes = Routes(
        settings.agent_chat_id,
        settings.supervisor_chat_id,
        settings.leadership_chat_id,
        settings.bureau_chat_id,
    )
    desk = Desk(
        sessions,
        tickets,
        agents,
        policy_from(settings),
        routes,
        outbox_lease=timedelta(seconds=settings.outbox_lease_seconds),
        customer_chat=private_chat,
    )
    incidents = Incidents(
        sessions,
        load_plan(settings.plan_path),
        routes,
        contact=settings.incident_contact,
    )
    files = TicketFiles(
        sessions,
        desk.changes,
        desk.clocks,
        AttachmentFolder(settings.attachments_folder),
        FileLimits(settings.attachment_max_bytes, settings.attachments_per_ticket),
    )
    scorer = load_scorer()
    core = Core(
        engine, store, desk, incidents, risk=scorer.score, tag_names=TAG_NAMES, files=files
    )
    schedules = {
        kind: parse_cron(expression)
        for kind, expression in (
            ("daily", settings.digest_daily_cron),
            ("weekly", settings.digest_weekly_cron),
            ("hourly", settings.digest_hourly_cron),
        )
        if expression
    }
    digests = Digests(
        sessions,
        routes,
        schedules,
        categories={e.id: e.category for e in kb.entries},
        plan=incidents.plan,
        webhook=settings.bureau_webhook_url is not None,
    )
    return Runtime(
        settings, db, store, core, desk, agents, tickets, incidents, digests, clock, files
    )


def policy_from(settings: Settings) -> SlaPolicy:
    """Return the SLA policy the settings name, with the calendar they name, if any."""
    policy = load_policy(settings.sla_path)
    if settings.calendar_path is not None:
        policy = replace(policy, calendar=load_calendar(settings.calendar_path))
    return policy
