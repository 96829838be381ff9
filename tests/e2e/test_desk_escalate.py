"""Escalating from the card re-plans the running SLA clocks for the new priority.

A P2 complaint's card is pressed 升级 twelve minutes in: its clocks now run to P1's
targets from when they started (the first response, 10 minutes under P1, is overdue at
once), the card shows the new priority and deadlines and says they were re-planned, and
the sweep warns and breaches on P1's times, not P2's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.serve import Server
from escalation.tickets import notices
from storage.models import Ticket, TicketClock
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    SUPERVISORS_CHAT,
    complain,
    desk_server,
    groups,
)

# Around the clock, warnings at half of each clock's time; P1 much tighter than P2.
SLA = """
calendar: 24x7
warning: {percent: 50, before: 0m}
notify: {warning: [agents], breach: [agents, supervisors]}
rules:
  - match: {priority: P1}
    first_response: 10m
    next_response: 20m
    resolution: 1h
  - match: {priority: P2}
    first_response: 1h
    next_response: 2h
    resolution: 4h
  - match: {}
    first_response: 4h
    next_response: 1d
    resolution: 2d
"""


async def _clocks(srv: Server, ref: str) -> dict[str, TicketClock]:
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        rows = (
            await s.execute(
                select(TicketClock)
                .join(Ticket, Ticket.id == TicketClock.ticket_id)
                .where(Ticket.reference == ref)
            )
        ).scalars()
        return {c.clock: c for c in rows}


def _texts(emulator: BotApiEmulator, chat: int) -> list[str]:
    return [m.text or "" for m in emulator.sent_messages(chat)]


async def _sweep(srv: Server) -> None:
    await srv.run_now("sla-sweep")
    await srv.run_now("outbox")


async def test_escalating_a_p2_ticket_replans_its_clocks_to_p1_and_the_sweep_follows(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path, clock: ManualClock
) -> None:
    sla = tmp_path / "sla.yaml"
    sla.write_text(SLA, encoding="utf-8")
    srv = await desk_server(database_url, emulator, sla, clock)
    try:
        agents_group, _ = groups(emulator)
        consumer = emulator.private_chat(user_id=5531)
        ref = await complain(consumer, category="补贴未到账")
        card = await agents_group.next_reply()
        assert f"{ref} · P2 ·" in (card.text or "")
        opened: datetime = clock.now()
        before = await _clocks(srv, ref)
        assert before["first_response"].due_at == opened + timedelta(hours=1)

        clock.advance(timedelta(minutes=12))
        await _sweep(srv)  # P2 warns its first response at 30 min: nothing yet
        assert not [t for t in _texts(emulator, AGENTS_CHAT) if t.startswith(("⚠️", "🚨"))]

        agent = agents_group.member(AGENT_ID, "小王")
        press = await agent.press("升级", message_id=card.message_id)
        answer = await press.wait_answer()
        assert "P1" in str(answer.get("text"))

        # The stored clocks run to P1's targets from when they started.
        after = await _clocks(srv, ref)
        first, resolution = after["first_response"], after["resolution"]
        assert (first.within_s, resolution.within_s) == (600, 3600)
        assert first.due_at == opened + timedelta(minutes=10)
        assert first.warn_at == opened + timedelta(minutes=5)
        assert resolution.due_at == opened + timedelta(hours=1)
        assert resolution.warn_at == opened + timedelta(minutes=30)
        assert first.started_at == opened  # the time already spent still counts

        # The card shows the new priority and deadlines, and says they were re-planned.
        replanned = notices.REPLANNED.format(before="P2", after="P1")
        await emulator.wait_until(
            lambda: replanned in (card.text or ""), 5, "the card saying it was re-planned"
        )
        shown = card.text or ""
        assert f"{ref} · P1 ·" in shown
        assert f"首次响应截止 {notices.local(opened + timedelta(minutes=10))}" in shown
        assert f"办结截止 {notices.local(opened + timedelta(hours=1))}" in shown
        await srv.run_now("outbox")
        await emulator.wait_until(
            lambda: any(t.startswith("⬆️") for t in _texts(emulator, SUPERVISORS_CHAT)),
            10,
            "the supervisors told of the escalation",
        )
        told = [t for t in _texts(emulator, SUPERVISORS_CHAT) if t.startswith("⬆️")]
        assert len(told) == 1
        assert "P2 → P1" in told[0]
        assert "重新计算" in told[0]

        # Already past P1's first-response deadline: the next sweep breaches it. (The
        # scheduled sweep may be the one that finds it, so wait for the notice.)
        await _sweep(srv)
        due_first = notices.local(opened + timedelta(minutes=10))

        def breaches() -> list[str]:
            return [
                t
                for t in _texts(emulator, SUPERVISORS_CHAT)
                if t.startswith("🚨") and "首次响应" in t and due_first in t
            ]

        await emulator.wait_until(lambda: bool(breaches()), 10, "the P1 breach")
        assert (await _clocks(srv, ref))["first_response"].breached

        # The resolution clock warns at half of P1's hour (P2's would be at 2 h).
        clock.advance(timedelta(minutes=19))  # 31 min since it started
        await _sweep(srv)
        due_resolution = notices.local(opened + timedelta(hours=1))

        def warnings() -> list[str]:
            return [
                t
                for t in _texts(emulator, AGENTS_CHAT)
                if t.startswith("⚠️") and "办结" in t and due_resolution in t
            ]

        await emulator.wait_until(lambda: bool(warnings()), 10, "the P1 resolution warning")
        for _ in range(2):  # further sweeps send nothing twice
            await _sweep(srv)
        assert len(breaches()) == 1
        assert len(warnings()) == 1
        in_agents = [t for t in _texts(emulator, AGENTS_CHAT) if t.startswith(("⚠️", "🚨"))]
        assert len(in_agents) == 2, in_agents  # the first response's breach, this warning
    finally:
        await srv.stop()
