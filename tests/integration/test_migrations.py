"""The Alembic migrations build exactly the schema the models describe, and carry the rows
written under older ones into it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, insert, select
from sqlalchemy.exc import StatementError

from bot.db import MIGRATIONS, make_engine, make_sessions, upgrade
from storage.models import (
    Agent,
    AgentRole,
    AttachmentKind,
    Base,
    ClockName,
    ClockResult,
    Digest,
    DigestKind,
    DigestStatus,
    Direction,
    EntryKind,
    Feedback,
    Handoff,
    HandoffReason,
    HandoffStatus,
    Incident,
    IncidentLevel,
    IncidentReport,
    IncidentSource,
    IncidentStatus,
    IncidentTimer,
    Message,
    Outbox,
    OutboxPurpose,
    PrivacyAction,
    PrivacyAudit,
    ReportKind,
    ReportStatus,
    RiskLevel,
    SlaEvent,
    SlaStage,
    Ticket,
    TicketClock,
    TicketEntry,
    TicketPriority,
    TicketStatus,
    TicketType,
    TimerKind,
    User,
    UserRole,
)


async def test_migrations_match_the_models(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


AT = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)

# One row of every table with a flag or a closed set, as 0010 stored them: flags as 0/1,
# the sets as plain strings.
ROWS_0010: dict[str, list[dict[str, Any]]] = {
    "chat_user": [
        {"id": 1, "channel": "telegram", "sender": "telegram:5512", "role": "merchant",
         "state": "{}", "first_seen": AT, "last_seen": AT},
    ],
    "message": [
        {"id": 1, "user_id": 1, "channel": "telegram", "direction": "in", "kind": "question",
         "text": "补贴怎么领", "choices": "[]", "sent": 0, "created_at": AT, "risk_level": "high"},
        {"id": 2, "user_id": 1, "channel": "telegram", "direction": "out", "kind": "answer",
         "text": "在小程序领取", "choices": "[]", "sent": 1, "created_at": AT,
         "reply_to_id": 1},
    ],
    "answer_feedback": [
        {"id": 1, "user_id": 1, "kb_entry_id": "claim", "helpful": 1, "created_at": AT},
        {"id": 2, "user_id": 1, "kb_entry_id": "use", "helpful": 0, "created_at": AT},
    ],
    "handoff": [
        {"id": 1, "user_id": 1, "channel": "telegram", "reason": "no_answer",
         "status": "open", "created_at": AT},
    ],
    "ticket": [
        {"id": 1, "reference": "T20250602-0001", "user_id": 1, "channel": "telegram",
         "type": "投诉", "category": "系统故障", "priority": "P2", "status": "waiting",
         "summary": "领券失败", "opened_at": AT},
    ],
    "ticket_entry": [
        {"id": 1, "ticket_id": 1, "kind": "note", "author": "agent:7", "text": "已联系",
         "at": AT},
    ],
    "agent": [
        {"id": 1, "telegram_user_id": 7, "name": "王五", "role": "supervisor",
         "created_at": AT},
    ],
    "ticket_clock": [
        {"id": 1, "ticket_id": 1, "clock": "first_response", "cycle": 0, "started_at": AT,
         "within_s": 3600, "pauses": "[]", "warn_at": AT, "due_at": AT, "warned": 1,
         "breached": 0, "stopped_at": AT, "result": "met", "used_s": 60},
        {"id": 2, "ticket_id": 1, "clock": "resolution", "cycle": 0, "started_at": AT,
         "within_s": 3600, "pauses": "[]", "warn_at": AT, "due_at": AT, "warned": 0,
         "breached": 1},
    ],
    "sla_event": [{"id": 1, "clock_id": 2, "ticket_id": 1, "stage": "breach", "at": AT}],
    "incident": [
        {"id": 1, "reference": "I20250602-01", "level": "II", "title": "领券失败",
         "source": "detected", "status": "acknowledged", "detail": "", "opened_at": AT,
         "updated_at": AT},
    ],
    "incident_timer": [
        {"id": 1, "incident_id": 1, "kind": "chain", "seq": 1, "due_at": AT, "cancelled": 1},
        {"id": 2, "incident_id": 1, "kind": "follow_up", "seq": 1, "due_at": AT,
         "cancelled": 0},
    ],
    "incident_report": [
        {"id": 1, "incident_id": 1, "kind": "follow_up", "seq": 1, "text": "续报",
         "status": "draft", "created_at": AT},
    ],
    "digest": [
        {"id": 1, "kind": "weekly", "period_start": AT, "period_end": AT, "label": "第23周",
         "status": "empty", "queued_at": AT},
    ],
    "outbox": [
        {"id": 1, "channel": "telegram", "chat_id": -100, "purpose": "incident_card",
         "text": "事件", "buttons": "[]", "reply_to_card": 1, "created_at": AT,
         "not_before": AT, "attempts": 0, "attachment_kind": "document"},
        {"id": 2, "channel": "telegram", "chat_id": -100, "purpose": "thread", "text": "回复",
         "buttons": "[]", "reply_to_card": 0, "created_at": AT, "not_before": AT,
         "attempts": 0},
    ],
    "privacy_audit": [
        {"id": 1, "action": "erase", "actor": "cli:ops", "at": AT, "counts": "{}"},
    ],
}  # fmt: skip


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    (command.downgrade if down else command.upgrade)(cfg, revision)


def _write_as_0010(connection: Any) -> None:
    tables = MetaData()
    tables.reflect(connection)  # the 0010 schema as the database has it, not the models
    for name, rows in ROWS_0010.items():
        for row in rows:  # one by one: the rows of a table do not all name the same columns
            connection.execute(insert(tables.tables[name]).values(row))


def _flags(connection: Any) -> list[Any]:
    tables = MetaData()
    tables.reflect(connection)
    return [
        connection.execute(select(tables.tables[table].c[column]).order_by("id")).scalars().all()
        for table, column in FLAGS
    ]


FLAGS = (
    ("message", "sent"),
    ("answer_feedback", "helpful"),
    ("ticket_clock", "warned"),
    ("ticket_clock", "breached"),
    ("outbox", "reply_to_card"),
    ("incident_timer", "cancelled"),
)


async def test_rows_written_under_0010_read_back_as_booleans_and_enums(database_url: str) -> None:
    await asyncio.to_thread(_migrate, database_url, "0010")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_write_as_0010)
        await asyncio.to_thread(_migrate, database_url, "head")

        async with make_sessions(engine)() as s:
            user = await s.get_one(User, 1)
            inbound, outbound = (await s.execute(select(Message).order_by(Message.id))).scalars()
            feedback = (await s.execute(select(Feedback).order_by(Feedback.id))).scalars().all()
            handoff = await s.get_one(Handoff, 1)
            ticket = await s.get_one(Ticket, 1)
            entry = await s.get_one(TicketEntry, 1)
            agent = await s.get_one(Agent, 1)
            met, overdue = (
                await s.execute(select(TicketClock).order_by(TicketClock.id))
            ).scalars()
            event = await s.get_one(SlaEvent, 1)
            incident = await s.get_one(Incident, 1)
            chain, follow_up = (
                await s.execute(select(IncidentTimer).order_by(IncidentTimer.id))
            ).scalars()
            report = await s.get_one(IncidentReport, 1)
            digest = await s.get_one(Digest, 1)
            card, thread = (await s.execute(select(Outbox).order_by(Outbox.id))).scalars()
            audit = await s.get_one(PrivacyAudit, 1)

        assert user.role is UserRole.MERCHANT
        assert inbound.direction is Direction.IN
        assert inbound.sent is False
        assert inbound.risk_level is RiskLevel.HIGH
        assert outbound.sent is True
        assert outbound.direction is Direction.OUT
        assert outbound.risk_level is None
        assert feedback[0].helpful is True
        assert feedback[1].helpful is False
        assert handoff.reason is HandoffReason.NO_ANSWER
        assert handoff.status is HandoffStatus.OPEN
        assert ticket.type is TicketType.COMPLAINT
        assert ticket.priority is TicketPriority.P2
        assert ticket.status is TicketStatus.WAITING
        assert entry.kind is EntryKind.NOTE
        assert agent.role is AgentRole.SUPERVISOR
        assert met.clock is ClockName.FIRST_RESPONSE
        assert met.result is ClockResult.MET
        assert met.warned is True
        assert met.breached is False
        assert overdue.clock is ClockName.RESOLUTION
        assert overdue.result is None
        assert overdue.warned is False
        assert overdue.breached is True
        assert event.stage is SlaStage.BREACH
        assert incident.level is IncidentLevel.II
        assert incident.source is IncidentSource.DETECTED
        assert incident.status is IncidentStatus.ACKNOWLEDGED
        assert chain.kind is TimerKind.CHAIN
        assert chain.cancelled is True
        assert follow_up.kind is TimerKind.FOLLOW_UP
        assert follow_up.cancelled is False
        assert report.kind is ReportKind.FOLLOW_UP
        assert report.status is ReportStatus.DRAFT
        assert digest.kind is DigestKind.WEEKLY
        assert digest.status is DigestStatus.EMPTY
        assert card.purpose is OutboxPurpose.INCIDENT_CARD
        assert card.reply_to_card is True
        assert card.attachment_kind is AttachmentKind.DOCUMENT
        assert thread.purpose is OutboxPurpose.THREAD
        assert thread.reply_to_card is False
        assert audit.action is PrivacyAction.ERASE
        # Still the strings they were: code comparing with a literal keeps working.
        priority: str = ticket.priority
        status: str = incident.status
        assert priority == "P2"
        assert status == "acknowledged"

        # And back: 0010's code finds its 0/1 again.
        await asyncio.to_thread(_migrate, database_url, "0010", down=True)
        async with engine.connect() as conn:
            assert await conn.run_sync(_flags) == [
                [0, 1], [1, 0], [1, 0], [0, 1], [1, 0], [1, 0]
            ]  # fmt: skip
    finally:
        await engine.dispose()


async def test_a_value_outside_its_set_is_refused_before_it_reaches_the_database(
    database_url: str,
) -> None:
    # No CHECK constraint guards the sets (a new member would rebuild SQLite tables): the
    # column type refuses the value on write instead.
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine).begin() as s:
            s.add(
                Digest(
                    kind="monthly",
                    period_start=AT,
                    period_end=AT,
                    label="六月",
                    status=DigestStatus.QUEUED,
                    queued_at=AT,
                )
            )
            with pytest.raises(StatementError) as refused:
                await s.flush()
            assert isinstance(refused.value.orig, LookupError)
            await s.rollback()
    finally:
        await engine.dispose()
