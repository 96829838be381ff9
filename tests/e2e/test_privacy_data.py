"""Retention and the data subject's rights against a real database: the purge deletes the
old conversation record and anonymises old closed tickets, keeps open work and the ticket
statistics, and changes nothing the second time; export and erasure of one person; the
CLI; the scheduled purge once per slot, also with two instances on one database."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.cli import main
from bot.clock import ManualClock, utc_now
from bot.db import make_engine, make_sessions, upgrade
from bot.serve import Server
from bot.telegram_wire import private_chat
from escalation.agents import AgentStore
from escalation.digests.cron import parse_cron
from escalation.digests.model import Report, daily_period
from escalation.digests.report import build_report
from escalation.privacy.apply import Counts
from escalation.privacy.purge import purge, scheduled_purge
from escalation.privacy.scope import PrivacyError
from escalation.privacy.subject import ErasureRefused, UnknownSubject, erase_user, export_user
from escalation.routing import Actor, Routes
from escalation.tickets.changes import DeskError
from escalation.tickets.desk import Desk
from escalation.tickets.rules import ERASURE_MARKER, RETENTION_MARKER
from escalation.tickets.sla import load_policy
from escalation.tickets.store import TicketStore
from storage.conversation import ConversationStore, Exchange, Outbound
from storage.models import (
    Base,
    Incident,
    Message,
    Outbox,
    PrivacyAudit,
    Ticket,
    TicketAudit,
    TicketEntry,
    TicketStatus,
    User,
)
from tests.support.servers import make_settings

TZ = ZoneInfo("Asia/Shanghai")
AGENT = Actor("agent:7001", "小王", "agent")
AGENTS_CHAT, SUPERVISORS_CHAT = -1, -2


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


NOW = local("2026-06-01T10:00")  # a Monday
RETENTION = 30  # days: the cut-off is 2026-05-02 10:00
OLD = local("2026-03-03T10:00")  # before the cut-off
RECENT = local("2026-05-27T10:00")  # within the retention
# What only Alice (telegram:5512, all of it old) ever wrote, or was written about her.
ALICE_TRACES = (
    "telegram:5512",
    "13800138000",
    "A123456",
    "某某电器",
    "补贴怎么领",
    "等您消息",
    "已联系商户",
    "商户承认问题",
    "已协调商户补发补贴",
    "处理很快",
    "高风险提醒",
)


@dataclass
class World:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    desk: Desk
    alice_ticket: str = ""
    bob_ticket: str = ""
    dave_ticket: str = ""
    fay_ticket: str = ""


@pytest.fixture(name="w")
async def world(database_url: str) -> AsyncIterator[World]:
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    tickets = TicketStore(sessions, TZ)
    desk = Desk(
        sessions,
        tickets,
        AgentStore(sessions),
        load_policy(),
        Routes(AGENTS_CHAT, SUPERVISORS_CHAT),
        customer_chat=private_chat,
    )
    w = World(engine, sessions, desk)
    try:
        await _seed(w)
        yield w
    finally:
        await engine.dispose()


async def _say(
    w: World, sender: str, at: datetime, text: str, state: str = "{}", **extra: Any
) -> int:
    stored = await ConversationStore(w.sessions).record(
        Exchange(
            sender.split(":")[0],
            sender,
            at,
            text,
            "question",
            None,
            "consumer",
            state,
            [Outbound("好的，请稍候。")],
            **extra,
        )
    )
    return stored.inbound_id


async def _seed(w: World) -> None:
    async with w.sessions.begin() as s:
        live = Incident(
            reference="I20260303-01",
            level="IV",
            title="系统故障",
            category="系统故障",
            source="declared",
            status="open",
            detail="",
            open_key="test:live",
            opened_at=OLD,
            updated_at=OLD,
        )
        over = Incident(
            reference="I20260303-02",
            level="IV",
            title="系统故障（已恢复）",
            category="系统故障",
            source="declared",
            status="resolved",
            detail="",
            opened_at=OLD,
            resolved_at=OLD + timedelta(hours=1),
            updated_at=OLD + timedelta(hours=1),
        )
        s.add_all([live, over])
        await s.flush()
        live_id, over_id = live.id, over.id

    # Alice: everything old; a ticket closed and rated long ago.
    alice = "telegram:5512"
    await _say(
        w,
        alice,
        OLD,
        "补贴怎么领",
        '{"flow": "idle"}',
        kb_entry_id="consumer-claim-how",
        score=0.9,
        feedback=[("consumer-claim-how", True)],
    )
    await _say(
        w,
        alice,
        OLD + timedelta(minutes=5),
        "商家拒绝用补贴，我要投诉",
        '{"flow": "idle"}',
        handoffs=[("asked", "补贴怎么领")],
        risk_level="high",
        risk_score=0.9,
        risk_tags=["complaint"],
        alerts=[(SUPERVISORS_CHAT, "高风险提醒：商家拒绝用补贴")],
    )
    view = await w.desk.open(
        at=OLD + timedelta(minutes=10),
        sender=alice,
        channel="telegram",
        ticket_type="投诉",
        category="商户拒用补贴",
        summary="某某电器门店拒绝使用补贴",
        order_no="A123456",
        merchant_name="某某电器",
        contact_phone="13800138000",
        source="telegram:9001",
    )
    w.alice_ticket = view.reference
    await w.desk.reply(view.reference, AGENT, "您好，已联系商户", OLD + timedelta(hours=1))
    await w.desk.customers.message(
        view.reference, alice, "谢谢，等您消息", OLD + timedelta(hours=2)
    )
    await w.desk.note(view.reference, AGENT, "商户承认问题", OLD + timedelta(hours=3))
    await w.desk.close(view.reference, AGENT, "已协调商户补发补贴", OLD + timedelta(days=1))
    await w.desk.customers.rate(
        view.reference, alice, OLD + timedelta(days=1, hours=1), 5, "处理很快"
    )

    # Bob: an old ticket still open, so his whole record stays.
    bob = "telegram:6601"
    await _say(w, bob, OLD, "补贴到账了吗", feedback=[("consumer-arrival", False)])
    view = await w.desk.open(
        at=OLD + timedelta(minutes=20),
        sender=bob,
        channel="telegram",
        ticket_type="求助",
        category="补贴未到账",
        summary="三月的补贴还没到账",
    )
    w.bob_ticket = view.reference
    await _say(w, bob, RECENT, "还没到账")

    # Carol: only an old question; nothing of her is left afterwards.
    await _say(w, "web:carol", OLD, "以旧换新怎么参加", feedback=[("consumer-trade-in", False)])

    # Dave: an old question, a recent one, and a ticket closed within the retention.
    dave = "web:dave"
    await _say(w, dave, OLD, "你好")
    await _say(w, dave, RECENT, "发票怎么开")
    view = await w.desk.open(
        at=RECENT + timedelta(minutes=5),
        sender=dave,
        channel="web",
        ticket_type="咨询",
        category="其他",
        summary="发票抬头写错了",
    )
    w.dave_ticket = view.reference
    await w.desk.close(view.reference, AGENT, "已重开发票", RECENT + timedelta(days=1))
    await w.desk.customers.rate(view.reference, dave, RECENT + timedelta(days=1, hours=1), 4, None)

    # Fay: an old question and a ticket closed only lately: she may still rate or reopen
    # it, so her identity and chat state stay while her messages go.
    fay = "web:fay"
    await _say(w, fay, OLD, "退款什么时候到", '{"flow": "rating"}')
    view = await w.desk.open(
        at=OLD + timedelta(minutes=30),
        sender=fay,
        channel="web",
        ticket_type="求助",
        category="退款问题",
        summary="退款一个月未到",
    )
    w.fay_ticket = view.reference
    # Closed lately, and without a notice (a status change only): all her messages are old.
    await TicketStore(w.sessions, TZ).move(
        view.reference, TicketStatus.CLOSED, actor=AGENT.key, at=RECENT + timedelta(hours=2)
    )

    # Erin: old messages about an incident still open (kept) and one resolved (purged).
    erin = "web:erin"
    await _say(w, erin, OLD, "系统是不是坏了", '{"flow": "x"}', incident_id=live_id)
    await _say(
        w,
        erin,
        OLD + timedelta(minutes=1),
        "上次故障恢复了吗",
        '{"flow": "x"}',
        incident_id=over_id,
    )


async def _dump(w: World, *, audit: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with w.sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name == "privacy_audit" and not audit:
                continue
            rows = await s.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


async def _audits(w: World) -> list[PrivacyAudit]:
    async with w.sessions() as s:
        return list((await s.execute(select(PrivacyAudit).order_by(PrivacyAudit.id))).scalars())


async def _ticket(w: World, reference: str) -> Ticket:
    async with w.sessions() as s:
        return (await s.execute(select(Ticket).where(Ticket.reference == reference))).scalar_one()


async def _rows_of(w: World, sender: str) -> list[tuple[Any, ...]]:
    async with w.sessions() as s:
        user_id = (await s.execute(select(User.id).where(User.sender == sender))).scalar_one()
        rows = await s.execute(select(Message).where(Message.user_id == user_id))
        return sorted((m.id, m.text, m.reply_to_id, m.created_at) for m in rows.scalars())


def _ticket_numbers(report: Report) -> tuple[Any, ...]:
    return (
        report.tickets_opened,
        report.tickets_closed,
        report.tickets_overdue,
        report.sla,
        report.csat_count,
        report.csat_average,
        report.incidents,
    )


async def _reports(w: World) -> dict[str, Report]:
    days = {
        "opened": OLD.date(),
        "closed": (OLD + timedelta(days=1)).date(),
        "recent": RECENT.date(),
        "recent_closed": (RECENT + timedelta(days=1)).date(),
    }
    return {
        name: await build_report(w.sessions, daily_period(day), categories={})
        for name, day in days.items()
    }


async def _alice_ticket_outbox(w: World) -> int:
    """The agents' chat copies of Alice's ticket (card, thread): cleared, not deleted."""
    async with w.sessions() as s:
        ticket_id = (await _ticket(w, w.alice_ticket)).id
        return int(
            (
                await s.execute(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.ticket_id == ticket_id, Outbox.message_id.is_(None))
                )
            ).scalar_one()
        )


def _expected_purge(ticket_copies: int) -> Counts:
    return Counts(
        # Alice 6 (2 questions, 2 replies, 2 desk messages), Carol, Dave, Erin and Fay 2 each
        messages=14,
        feedback=2,  # Alice's and Carol's; Bob's stays
        handoffs=1,
        outbox_deleted=2,  # the desk's reply and close notice to Alice's Telegram chat
        outbox_cleared=1 + ticket_copies,  # the risk alert quoting Alice, her ticket's copies
        tickets=1,
        users_deleted=1,  # Carol
        users_anonymised=1,  # Alice: her ticket must point somewhere
        states_cleared=1,  # Erin, kept for her live-incident message
    )


# ---------------------------------------------------------------------- the purge
async def test_a_dry_run_counts_what_the_purge_then_does_and_changes_nothing(w: World) -> None:
    before = await _dump(w)
    expected = _expected_purge(await _alice_ticket_outbox(w))

    dry = await purge(w.sessions, RETENTION, NOW, dry_run=True, actor="test")

    assert dry.dry_run
    assert dry.cutoff == NOW - timedelta(days=RETENTION)
    assert dry.counts == expected
    assert await _dump(w) == before  # not even an audit row
    real = await purge(w.sessions, RETENTION, NOW, actor="test")
    assert real.counts == dry.counts


async def test_the_purge_removes_what_is_past_the_cutoff_and_keeps_open_work(w: World) -> None:
    before = await _dump(w)
    bob_before = await _rows_of(w, "telegram:6601")
    dave_ticket = await _ticket(w, w.dave_ticket)
    alice_ticket = await _ticket(w, w.alice_ticket)
    assert any(t in repr(before) for t in ALICE_TRACES)

    report = await purge(w.sessions, RETENTION, NOW, actor="test")

    assert report.counts == _expected_purge(await _alice_ticket_outbox(w))
    after = await _dump(w)
    text = repr(after)
    for trace in ALICE_TRACES:
        assert trace not in text, trace
    assert not [r for r in after["outbox"] if 5512 in r]  # her chat id, in any column
    assert "以旧换新怎么参加" not in text
    assert "web:carol" not in text
    assert "上次故障恢复了吗" not in text  # about a resolved incident: purged like any other

    # Bob has an open ticket: everything of his stays, old or not.
    assert await _rows_of(w, "telegram:6601") == bob_before
    bob = await _ticket(w, w.bob_ticket)
    assert bob.summary == "三月的补贴还没到账"
    assert bob.status.value == "new"
    # Dave: the old message goes, the recent ones and the recently closed ticket stay.
    dave_messages = [text for _, text, _, _ in await _rows_of(w, "web:dave")]
    assert "你好" not in dave_messages
    assert "发票怎么开" in dave_messages
    assert (await _ticket(w, w.dave_ticket)).summary == dave_ticket.summary == "发票抬头写错了"
    # Erin: the message about the open incident and its reply stay (the reply's link too).
    erin = await _rows_of(w, "web:erin")
    assert [t for _, t, _, _ in erin] == ["系统是不是坏了", "好的，请稍候。"]
    assert erin[1][2] == erin[0][0]
    async with w.sessions() as s:
        state = (await s.execute(select(User.state).where(User.sender == "web:erin"))).scalar_one()
    assert state == "{}"
    # Fay: her old messages go; her lately closed ticket, identity and chat state stay.
    assert await _rows_of(w, "web:fay") == []
    assert (await _ticket(w, w.fay_ticket)).summary == "退款一个月未到"
    async with w.sessions() as s:
        state = (await s.execute(select(User.state).where(User.sender == "web:fay"))).scalar_one()
    assert state == '{"flow": "rating"}'

    # Alice's ticket: free text gone, the statistics it feeds unchanged.
    t = await _ticket(w, w.alice_ticket)
    assert t.summary == RETENTION_MARKER
    assert t.csat_comment == RETENTION_MARKER
    assert (t.order_no, t.merchant_name, t.contact_phone, t.source) == (None,) * 4
    kept = ("reference", "type", "category", "priority", "status", "assignee", "csat_score")
    times = ("opened_at", "first_response_at", "resolved_at", "closed_at", "updated_at")
    for name in (*kept, *times, "user_id"):
        assert getattr(t, name) == getattr(alice_ticket, name), name
    assert t.csat_score == 5
    for table in ("ticket_clock", "sla_event", "incident", "incident_event"):
        assert after[table] == before[table], table
    async with w.sessions() as s:
        entries = (
            await s.execute(select(TicketEntry).where(TicketEntry.ticket_id == t.id))
        ).scalars()
        assert {(e.kind, e.text) for e in entries} >= {
            ("customer", RETENTION_MARKER),
            ("agent", RETENTION_MARKER),
            ("note", RETENTION_MARKER),
        }
        audit = list(
            (await s.execute(select(TicketAudit).where(TicketAudit.ticket_id == t.id))).scalars()
        )
        owner = await s.get(User, t.user_id)
    # The trail keeps who did what, and the structured changes; the customer is "customer".
    actions = {(a.action, a.actor) for a in audit}
    assert ("open", "customer") in actions
    assert ("csat", "customer") in actions
    assert ("status", "agent:7001") in actions
    assert any(a.field == "csat_score" and a.after == "5" for a in audit)
    assert [a.after for a in audit if a.action == "open"] == [t.reference]
    assert owner is not None
    assert owner.sender == f"anonymised:#{owner.id}"
    assert (owner.role, owner.state) == (None, "{}")

    # The audit row says when, who, the cut-off and the counts.
    [row] = await _audits(w)
    assert (row.action, row.actor, row.at) == ("purge", "test", NOW)
    assert row.cutoff == NOW - timedelta(days=RETENTION)
    assert json.loads(row.counts) == report.counts.as_dict()


async def test_a_second_purge_changes_nothing(w: World) -> None:
    await purge(w.sessions, RETENTION, NOW, actor="test")
    once = await _dump(w, audit=False)

    again = await purge(w.sessions, RETENTION, NOW + timedelta(minutes=1), actor="test")

    assert again.counts == Counts()
    assert again.counts.total == 0
    assert await _dump(w, audit=False) == once
    assert [a.action for a in await _audits(w)] == ["purge", "purge"]


async def test_the_daily_reports_ticket_numbers_survive_the_purge(w: World) -> None:
    before = await _reports(w)
    assert before["opened"].tickets_opened == 3  # Alice's, Bob's and Fay's
    assert before["closed"].tickets_closed == 1
    assert (before["closed"].csat_count, before["closed"].csat_average) == (1, 5.0)
    assert before["opened"].messages_in == 8

    await purge(w.sessions, RETENTION, NOW, actor="test")
    after = await _reports(w)

    for name in before:
        assert _ticket_numbers(after[name]) == _ticket_numbers(before[name]), name
    # Days within the retention read exactly as before.
    assert after["recent"] == before["recent"]
    assert after["recent_closed"] == before["recent_closed"]
    # Past the cut-off the conversation numbers count only what was kept: Bob, and Erin's
    # message about the open incident.
    assert after["opened"].messages_in == 2


async def test_the_purge_refuses_a_period_inside_the_reopen_window(w: World) -> None:
    before = await _dump(w)
    with pytest.raises(PrivacyError, match="at least 7"):
        await purge(w.sessions, 3, NOW)
    assert await _dump(w) == before


# ---------------------------------------------------------------------- one person
async def test_export_holds_the_persons_record_and_nobody_elses(w: World) -> None:
    export = await export_user(w.sessions, "5512")  # a bare Telegram id

    assert export["subject"] == "telegram:5512"
    assert export["profile"]["sender"] == "telegram:5512"
    assert export["profile"]["state"] == {"flow": "idle"}
    texts = [m["text"] for m in export["messages"]]
    assert "补贴怎么领" in texts
    assert "商家拒绝用补贴，我要投诉" in texts
    assert len(texts) == 6
    assert export["feedback"] == [
        {"kb_entry_id": "consumer-claim-how", "helpful": True, "at": OLD.isoformat()}
    ]
    assert export["handoffs"][0]["last_question"] == "补贴怎么领"
    [ticket] = export["tickets"]
    assert ticket["reference"] == w.alice_ticket
    assert ticket["contact_phone"] == "13800138000"
    assert ticket["order_no"] == "A123456"
    assert (ticket["csat_score"], ticket["csat_comment"]) == (5, "处理很快")
    thread = [e["text"] for e in ticket["thread"]]
    assert "谢谢，等您消息" in thread
    assert "您好，已联系商户" in thread
    body = json.dumps(export, ensure_ascii=False)
    assert "补贴怎么领" in body  # UTF-8, not \\u escapes
    for other in ("6601", "web:", "补贴到账了吗", w.bob_ticket, w.dave_ticket, "系统是不是坏了"):
        assert other not in body, other

    with pytest.raises(UnknownSubject, match="web:nobody"):
        await export_user(w.sessions, "web:nobody")
    with pytest.raises(PrivacyError, match="telegram:5512"):
        await export_user(w.sessions, "alice")


async def test_erase_removes_the_person_keeps_statistics_and_is_done_once(w: World) -> None:
    before = await _dump(w)
    bob_before = await _rows_of(w, "telegram:6601")
    reports_before = await _reports(w)
    alice_ticket = await _ticket(w, w.alice_ticket)

    report = await erase_user(w.sessions, "telegram:5512", NOW, "cli:ops")

    assert report.already_erased_at is None
    assert report.counts == Counts(
        messages=6,
        feedback=1,
        handoffs=1,
        outbox_deleted=2,
        outbox_cleared=1 + await _alice_ticket_outbox(w),
        tickets=1,
        users_anonymised=1,
    )
    after = await _dump(w)
    for trace in ALICE_TRACES:
        assert trace not in repr(after), trace
    t = await _ticket(w, w.alice_ticket)
    assert t.summary == ERASURE_MARKER
    assert t.contact_phone is None
    assert (t.type, t.category, t.csat_score, t.closed_at) == (
        alice_ticket.type,
        alice_ticket.category,
        5,
        alice_ticket.closed_at,
    )
    assert await _rows_of(w, "telegram:6601") == bob_before
    assert "web:carol" in repr(after)
    assert "以旧换新怎么参加" in repr(after)
    reports_after = await _reports(w)
    for name in reports_before:
        assert _ticket_numbers(reports_after[name]) == _ticket_numbers(reports_before[name])
    [row] = await _audits(w)
    assert (row.action, row.actor, row.cutoff) == ("erase", "cli:ops", None)
    assert row.subject == hashlib.sha256(b"telegram:5512").hexdigest()
    assert json.loads(row.counts) == report.counts.as_dict()
    assert before != after

    # An anonymised ticket stays for the statistics; it cannot be worked again.
    with pytest.raises(DeskError, match="不能重新打开"):
        await w.desk.reopen(w.alice_ticket, AGENT, NOW + timedelta(minutes=5))

    again = await erase_user(w.sessions, "5512", NOW + timedelta(hours=1), "cli:ops")
    assert again.already_erased_at == NOW
    assert again.counts == Counts()
    assert await _dump(w) == after
    with pytest.raises(UnknownSubject, match="erased"):
        await export_user(w.sessions, "telegram:5512")


async def test_erase_is_refused_while_a_ticket_is_open_and_for_unknown_people(w: World) -> None:
    before = await _dump(w)
    with pytest.raises(ErasureRefused, match=w.bob_ticket):
        await erase_user(w.sessions, "telegram:6601", NOW, "cli:ops")
    with pytest.raises(UnknownSubject, match="web:nobody"):
        await erase_user(w.sessions, "web:nobody", NOW, "cli:ops")
    assert await _dump(w) == before


async def test_a_person_with_no_ticket_is_deleted_outright(w: World) -> None:
    report = await erase_user(w.sessions, "web:carol", NOW, "cli:ops")
    assert (report.counts.messages, report.counts.feedback, report.counts.users_deleted) == (
        2,
        1,
        1,
    )
    async with w.sessions() as s:
        assert (await s.execute(select(User.id).where(User.sender == "web:carol"))).first() is None
    assert (await erase_user(w.sessions, "web:carol", NOW, "cli:ops")).already_erased_at == NOW


# ---------------------------------------------------------------------- the CLI
async def test_the_data_commands_export_erase_and_purge(
    w: World,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", database_url)

    async def cli(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["data", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    out_file = tmp_path / "alice.json"
    code, out, _ = await cli("export", "--user", "5512", "--out", str(out_file))
    assert code == 0
    assert "6 messages" in out
    assert "1 tickets" in out
    export = json.loads(out_file.read_text(encoding="utf-8"))
    assert export["tickets"][0]["reference"] == w.alice_ticket
    assert "补贴怎么领" in out_file.read_text(encoding="utf-8")

    before = await _dump(w)
    code, _, err = await cli("erase", "--user", "telegram:5512")  # no --yes, no terminal
    assert code == 2
    assert "--yes" in err
    assert await _dump(w) == before
    code, _, err = await cli("erase", "--user", "web:nobody", "--yes")
    assert code == 2
    assert "nothing is stored about web:nobody" in err
    code, _, err = await cli("erase", "--user", "telegram:6601", "--yes")
    assert code == 1
    assert w.bob_ticket in err
    assert await _dump(w) == before

    code, out, _ = await cli("erase", "--user", "telegram:5512", "--yes")
    assert code == 0
    assert "erased telegram:5512" in out
    assert "messages deleted: 6" in out
    code, out, _ = await cli("erase", "--user", "5512", "--yes")
    assert code == 0
    assert "already erased" in out
    [row] = await _audits(w)
    assert row.action == "erase"
    assert row.actor.startswith("cli")

    snapshot = await _dump(w)
    code, out, _ = await cli("purge", "--older-than", "30", "--dry-run")
    assert code == 0
    assert "dry run" in out
    assert "nothing was changed" in out
    assert await _dump(w) == snapshot
    # The CLI reads the wall clock, by which all of the seeded record may be old.
    expected = await purge(w.sessions, 30, utc_now(), dry_run=True)
    assert expected.counts.messages > 0
    assert f"messages would be deleted: {expected.counts.messages}" in out
    assert f"tickets would be anonymised: {expected.counts.tickets}" in out
    code, _, err = await cli("purge", "--older-than", "3")
    assert code == 2
    assert "at least 7" in err


# ---------------------------------------------------------------------- the schedule
async def test_two_instances_run_each_scheduled_purge_once(w: World, database_url: str) -> None:
    cron = parse_cron("30 3 * * *")
    other = make_engine(database_url)
    try:
        results = await asyncio.gather(
            scheduled_purge(w.sessions, cron, RETENTION, NOW),
            scheduled_purge(make_sessions(other), cron, RETENTION, NOW),
        )
    finally:
        await other.dispose()

    done = [r for r in results if r is not None]
    assert len(done) == 1
    assert done[0].counts == _expected_purge(await _alice_ticket_outbox(w))
    [row] = await _audits(w)
    assert row.run_key == "purge:2026-06-01T03:30:00+08:00"
    assert row.actor == "scheduler"
    assert json.loads(row.counts) == done[0].counts.as_dict()
    once = await _dump(w)
    # Later the same day: the slot is taken. The next day: a new slot, nothing left to do.
    assert await scheduled_purge(w.sessions, cron, RETENTION, NOW + timedelta(hours=5)) is None
    assert await _dump(w) == once
    tomorrow = await scheduled_purge(w.sessions, cron, RETENTION, NOW + timedelta(days=1))
    assert tomorrow is not None
    assert tomorrow.counts == Counts()
    assert [a.run_key for a in await _audits(w)] == [
        "purge:2026-06-01T03:30:00+08:00",
        "purge:2026-06-02T03:30:00+08:00",
    ]


async def test_the_server_schedules_the_purge_at_the_retention_setting(
    w: World, database_url: str, clock: ManualClock
) -> None:
    settings = make_settings(database_url, retention_days=RETENTION, purge_cron="30 3 * * *")
    clock.set(NOW)
    srv = Server(settings, clock=clock)
    await srv.start()
    try:
        assert srv.jobs is not None
        job = srv.jobs.scheduler.get_job("privacy-purge")
        assert job is not None
        assert job.max_instances == 1
        assert job.coalesce
        await srv.run_now("privacy-purge")  # the start-up run may have taken the slot first
        assert await srv.run_now("privacy-purge") == 0  # once per slot
    finally:
        await srv.stop()
    rows = [a for a in await _audits(w) if a.run_key is not None]
    assert [a.run_key for a in rows] == ["purge:2026-06-01T03:30:00+08:00"]
    assert json.loads(rows[0].counts)["messages"] == 14
    assert "telegram:5512" not in repr(await _dump(w))
