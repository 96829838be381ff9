"""The desk against a real database with the shipped calendar and SLA policy: deadlines
in working time, pauses while waiting on the customer, notifications held outside hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.agents import AgentStore
from escalation.routing import Actor, Routes
from escalation.tickets.changes import AlreadyDone, update_key
from escalation.tickets.desk import Desk
from escalation.tickets.sla import load_policy
from escalation.tickets.store import TicketStore
from storage.conversation import ConversationStore, Exchange
from storage.models import Outbox, SlaEvent

TZ = ZoneInfo("Asia/Shanghai")
AGENT = Actor("agent:7001", "小王", "agent")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
async def desk(sessions: async_sessionmaker[AsyncSession]) -> Desk:
    store = ConversationStore(sessions)
    await store.record(
        Exchange(
            "web",
            "web:u1",
            local("2025-06-06T17:00"),
            "商家不让用补贴",
            "text",
            None,
            "consumer",
            "{}",
            [],
        )
    )
    tickets = TicketStore(sessions, TZ)
    return Desk(sessions, tickets, AgentStore(sessions), load_policy(), Routes(-1, -2))


async def _open(desk: Desk, at: datetime, source: str | None = None) -> str:
    view = await desk.open(
        at=at,
        sender="web:u1",
        channel="web",
        ticket_type="投诉",
        category="商户拒用补贴",
        summary="门店不让用补贴",
        source=source,
    )
    return view.reference


async def test_deadlines_run_in_working_time_and_pause_while_waiting(desk: Desk) -> None:
    # A P3 complaint has 4 working hours for a first response. Opened Friday 17:30
    # (2025-06-06): half an hour on Friday, then Monday 09:00-12:00 and 13:30-14:00.
    ref = await _open(desk, local("2025-06-06T17:30"))
    clocks = {c.clock: c for c in (await desk.views.detail(ref, local("2025-06-06T17:30"))).clocks}
    assert clocks["first_response"].due_at == local("2025-06-09T14:00")
    # Warning at 80 % (3.2 h): Friday 0.5 h + Monday 2.7 h -> 11:42.
    assert clocks["first_response"].warn_at == local("2025-06-09T11:42")

    assert await desk.sla.sweep(local("2025-06-07T10:00")) == 0  # Saturday: nothing is due
    assert await desk.sla.sweep(local("2025-06-09T11:43")) == 1  # the warning
    assert await desk.sla.sweep(local("2025-06-09T11:44")) == 0  # and only once

    # Waiting on the customer from Monday 12:00 to Tuesday 09:00 pauses the clock for the
    # 4.5 working hours in between (13:30-18:00), so the deadline moves to Tuesday 09:30.
    await desk.pending(ref, AGENT, None, local("2025-06-09T12:00"))
    assert await desk.sla.sweep(local("2025-06-09T15:00")) == 0
    await desk.customers.message(ref, "web:u1", "小票已找到", local("2025-06-10T09:00"))
    detail = await desk.views.detail(ref, local("2025-06-10T09:00"))
    first = next(c for c in detail.clocks if c.clock == "first_response")
    assert first.due_at == local("2025-06-10T09:30")
    assert first.state == "due_soon"
    assert detail.row.status == "assigned"

    await desk.reply(ref, AGENT, "已联系商户。", local("2025-06-10T09:20"))
    detail = await desk.views.detail(ref, local("2025-06-10T09:20"))
    first = next(c for c in detail.clocks if c.clock == "first_response")
    # Used: Fri 0.5 h + Mon 09:00-12:00 3 h + Tue 20 min = 230 working minutes.
    assert first.result == "met"
    assert first.used_minutes == 230


async def test_a_breach_found_after_hours_is_held_until_the_next_working_morning(
    desk: Desk,
) -> None:
    ref = await _open(desk, local("2025-06-10T14:00"))  # due Tuesday 18:00
    assert await desk.sla.sweep(local("2025-06-10T18:20")) == 1
    async with desk.views._sessions() as s:
        rows = (await s.execute(select(Outbox).where(Outbox.purpose == "sla"))).scalars().all()
        events = (await s.execute(select(SlaEvent))).scalars().all()
    assert {r.chat_id for r in rows} == {-1, -2}  # agents and supervisors
    assert all(r.not_before == local("2025-06-11T09:00") for r in rows)
    assert [e.stage for e in events] == ["breach"]  # a warning that is overdue is skipped
    assert ref in rows[0].text
    # Nothing goes out before then (the ticket's card went at once), and then it does.
    early = await desk.outbox.claim(local("2025-06-11T08:59"))
    assert [i.purpose for i in early] == ["card"]
    # Sent: until then, nothing newer to the same chat may overtake it.
    await desk.outbox.sent(early[0].id, 1, local("2025-06-11T08:59"))
    morning = await desk.outbox.claim(local("2025-06-11T09:00"))
    assert sorted(i.purpose for i in morning) == ["sla", "sla"]


async def test_the_same_channel_message_opens_one_ticket(desk: Desk) -> None:
    first = await _open(desk, local("2025-06-10T10:00"), source="telegram:812")
    again = await _open(desk, local("2025-06-10T10:00"), source="telegram:812")
    assert first == again
    rows = await desk.views.queue(local("2025-06-10T10:00"))
    assert [r.reference for r in rows] == [first]


async def test_a_redelivered_desk_command_changes_nothing_twice(desk: Desk) -> None:
    ref = await _open(desk, local("2025-06-10T10:00"))
    token = update_key.set("telegram:4242")
    try:
        await desk.note(ref, AGENT, "已电话联系", local("2025-06-10T10:05"))
        with pytest.raises(AlreadyDone):
            await desk.note(ref, AGENT, "已电话联系", local("2025-06-10T10:05"))
    finally:
        update_key.reset(token)
    await desk.note(ref, AGENT, "另一条备注", local("2025-06-10T10:06"))  # a new message
    detail = await desk.views.detail(ref, local("2025-06-10T10:06"))
    assert [t for k, _, t, _ in detail.thread if k == "note"] == ["已电话联系", "另一条备注"]


async def test_escalating_replans_the_clocks_in_working_time_keeping_pauses(desk: Desk) -> None:
    # A P3 complaint opened Friday 17:30 waits on the customer Monday 09:10-11:00, and is
    # escalated to P2 meanwhile (first response 30 min, resolution 1 working day, 7.5 h).
    ref = await _open(desk, local("2025-06-06T17:30"))
    await desk.pending(ref, AGENT, None, local("2025-06-09T09:10"))
    row = await desk.escalate(ref, AGENT, local("2025-06-09T10:00"))
    assert row.priority == "P2"
    await desk.customers.message(ref, "web:u1", "小票已找到", local("2025-06-09T11:00"))
    detail = await desk.views.detail(ref, local("2025-06-09T11:00"))
    clocks = {c.clock: c for c in detail.clocks}
    # Resolution: 40 working minutes before the pause (Fri 17:30-18:00, Mon 09:00-09:10),
    # then from 11:00 the remaining 6 h 50: Mon 11:00-12:00, 13:30-18:00, Tue 09:00-10:20.
    assert clocks["resolution"].due_at == local("2025-06-10T10:20")
    # The warning at 80 % (6 h): 40 min, then 5 h 20 from 11:00 -> Monday 17:50.
    assert clocks["resolution"].warn_at == local("2025-06-09T17:50")
    # P2's 30 minutes of first response were used up on Friday: overdue at once.
    assert clocks["first_response"].due_at <= local("2025-06-09T09:00")
    assert clocks["first_response"].state == "breached"
    assert await desk.sla.sweep(local("2025-06-09T11:01")) == 1
    async with desk.views._sessions() as s:
        events = (await s.execute(select(SlaEvent))).scalars().all()
    assert [e.stage for e in events] == ["breach"]  # the breach stands for the warning
    assert await desk.sla.sweep(local("2025-06-09T17:49")) == 0
    assert await desk.sla.sweep(local("2025-06-09T17:50")) == 1  # the resolution's warning
