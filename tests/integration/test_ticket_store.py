"""Ticket storage on a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.db import make_engine, make_sessions, upgrade
from escalation.agents import AgentError, AgentStore
from escalation.tickets.store import TicketError, TicketStore
from storage.conversation import ConversationStore, Exchange
from storage.models import TicketStatus

AT = datetime(2025, 6, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@pytest.fixture
async def stores(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[ConversationStore, TicketStore]:
    conversations = ConversationStore(sessions)
    await conversations.record(
        Exchange("web", "web:u1", AT, "商家不让用补贴", "question", None, "consumer", "{}", [])
    )
    return conversations, TicketStore(sessions, ZoneInfo("Asia/Shanghai"))


async def test_tickets_get_daily_references_masked_text_and_an_audit_row(
    stores: tuple[ConversationStore, TicketStore],
) -> None:
    _, tickets = stores
    first = await tickets.open(
        sender="web:u1",
        channel="web",
        ticket_type="投诉",
        category="商户拒用补贴",
        summary="门店不让用补贴，我电话13812345678",
        at=AT,
        contact_phone="13812345678",
    )
    second = await tickets.open(
        sender="web:u1", channel="web", ticket_type="咨询", category="其他", summary="问", at=AT
    )
    assert (first.reference, second.reference) == ("T20250602-0001", "T20250602-0002")
    assert first.priority == "P3"
    assert second.priority == "P4"
    stored = await tickets.get("t20250602-0001")
    assert stored is not None
    assert "138****5678" in stored.summary
    assert "13812345678" not in str(stored.thread)
    assert await tickets.audit(first.reference) == [("web:u1", "open", None, "T20250602-0001")]


async def test_status_changes_follow_the_rules_and_are_audited(
    stores: tuple[ConversationStore, TicketStore],
) -> None:
    _, tickets = stores
    t = await tickets.open(
        sender="web:u1", channel="web", ticket_type="求助", category="其他", summary="x", at=AT
    )
    await tickets.move(t.reference, TicketStatus.ASSIGNED, actor="agent:7", at=AT)
    closed = await tickets.move(t.reference, TicketStatus.CLOSED, actor="agent:7", at=AT)
    assert closed.status is TicketStatus.CLOSED
    with pytest.raises(TicketError, match="不能改为"):
        await tickets.move(t.reference, TicketStatus.WAITING, actor="agent:7", at=AT)
    with pytest.raises(TicketError, match="没有找到工单"):
        await tickets.move("T20990101-0001", TicketStatus.CLOSED, actor="agent:7", at=AT)
    trail = await tickets.audit(t.reference)
    assert trail[1:] == [
        ("agent:7", "status", "new", "assigned"),
        ("agent:7", "status", "assigned", "closed"),
    ]


async def test_unknown_users_and_types_are_refused(
    stores: tuple[ConversationStore, TicketStore],
) -> None:
    _, tickets = stores
    with pytest.raises(TicketError, match="no user"):
        await tickets.open(
            sender="web:ghost",
            channel="web",
            ticket_type="投诉",
            category="其他",
            summary="x",
            at=AT,
        )
    with pytest.raises(TicketError, match="unknown ticket type"):
        await tickets.open(
            sender="web:u1", channel="web", ticket_type="吐槽", category="其他", summary="x", at=AT
        )


async def test_agents_are_registered_updated_and_removed(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    try:
        agents = AgentStore(make_sessions(engine))
        await agents.add(7001, "坐席A", "agent", AT)
        await agents.add(7001, "坐席A", "supervisor", AT)  # same person, new role
        await agents.add(7002, "坐席B", "agent", AT)
        assert [(a.telegram_user_id, a.role) for a in await agents.all()] == [
            (7001, "supervisor"),
            (7002, "agent"),
        ]
        assert await agents.by_telegram(9999) is None
        assert await agents.remove(7002)
        assert not await agents.remove(7002)
        with pytest.raises(AgentError, match="role"):
            await agents.add(7003, "x", "boss", AT)
    finally:
        await engine.dispose()


def test_agents_cli_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    assert main(["agents", "add", "5512", "--name", "小王", "--role", "supervisor"]) == 0
    assert main(["agents", "list"]) == 0
    assert "5512\tsupervisor\t小王" in capsys.readouterr().out
    assert main(["agents", "remove", "5512"]) == 0
    assert main(["agents", "remove", "5512"]) == 1
