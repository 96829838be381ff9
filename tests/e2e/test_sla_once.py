"""SLA notifications fire once per clock and stage: across a SIGKILL and a restart, and
with two instances working one PostgreSQL database."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.serve import Server
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import (
    AGENTS_CHAT,
    SUPERVISORS_CHAT,
    complain,
    groups,
    sla_file,
    start_bot,
)
from tests.support.servers import TELEGRAM_TOKEN, make_settings


def _notices(emu: BotApiEmulator, chat: int, mark: str, ref: str) -> list[str]:
    return [
        m.text or ""
        for m in emu.sent_messages(chat)
        if (m.text or "").startswith(mark) and ref in (m.text or "")
    ]


async def test_a_restart_between_warning_and_breach_doubles_and_loses_nothing(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    if "postgresql" in database_url:
        pytest.skip("one restart run, on SQLite; the two-instance test covers PostgreSQL")
    groups(emulator)
    settings = {
        "HELPDESK_AGENT_CHAT_ID": str(AGENTS_CHAT),
        "HELPDESK_SUPERVISOR_CHAT_ID": str(SUPERVISORS_CHAT),
        "HELPDESK_SLA_PATH": str(sla_file(tmp_path, first="0.15m")),  # 9 s, warning at 4.5 s
        "HELPDESK_SLA_SWEEP_SECONDS": "0.2",
        "HELPDESK_OUTBOX_POLL_SECONDS": "0.1",
    }
    consumer = emulator.private_chat(user_id=6001)
    bot = await start_bot(emulator, database_url, **settings)
    try:
        ref = await complain(consumer)
        await emulator.wait_until(
            lambda: bool(_notices(emulator, AGENTS_CHAT, "⚠️", ref)), 15, "the warning"
        )
        # Let the warning be marked sent: a kill in the instant between Telegram's answer
        # and that mark sends it again (the one message in flight; test_exactly_once).
        await asyncio.sleep(0.5)
        bot.kill()  # SIGKILL: no clean shutdown
        await bot.wait()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    bot = await start_bot(emulator, database_url, **settings)
    try:
        await emulator.wait_until(
            lambda: bool(_notices(emulator, SUPERVISORS_CHAT, "🚨", ref)), 20, "the breach"
        )
        await asyncio.sleep(1.5)  # several more sweeps
    finally:
        bot.terminate()
        await bot.wait()
    assert len(_notices(emulator, AGENTS_CHAT, "⚠️", ref)) == 1
    assert len(_notices(emulator, AGENTS_CHAT, "🚨", ref)) == 1
    assert len(_notices(emulator, SUPERVISORS_CHAT, "🚨", ref)) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
async def test_two_instances_on_one_postgresql_notify_once(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    if "postgresql" not in database_url:
        pytest.skip("several instances share a PostgreSQL database, not an SQLite file")
    groups(emulator)
    # The warning at half of it; the other clocks (1 h, 2 h) warn after the test.
    sla = sla_file(tmp_path, first="10m")
    servers = []
    for _ in range(2):
        port = _free_port()
        servers.append(
            Server(
                make_settings(
                    database_url,
                    web_port=port,
                    telegram_token=TELEGRAM_TOKEN,
                    telegram_base_url=emulator.base_url,
                    webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                    webhook_secret="shared-secret",
                    agent_chat_id=AGENTS_CHAT,
                    supervisor_chat_id=SUPERVISORS_CHAT,
                    sla_path=sla,
                    sla_sweep_seconds=0.1,
                    outbox_poll_seconds=0.05,
                ),
                clock,
            )
        )
    for srv in servers:
        await srv.start()
    try:
        consumers = [emulator.private_chat(user_id=6100 + i) for i in range(4)]
        refs = await asyncio.gather(*(complain(c) for c in consumers))
        for step in (timedelta(minutes=6), timedelta(minutes=5)):  # the warning, the breach
            clock.advance(step)
            for _ in range(3):  # both instances sweep at once, again and again
                await asyncio.gather(*(srv.run_now("sla-sweep") for srv in servers))
        await asyncio.gather(*(srv.run_now("outbox") for srv in servers))
    finally:
        for srv in servers:
            await srv.stop()
    for ref in refs:
        assert len(_notices(emulator, AGENTS_CHAT, "⚠️", ref)) == 1, ref
        assert len(_notices(emulator, AGENTS_CHAT, "🚨", ref)) == 1, ref
        assert len(_notices(emulator, SUPERVISORS_CHAT, "🚨", ref)) == 1, ref
        cards = [
            m
            for m in emulator.sent_messages(AGENTS_CHAT)
            if (m.text or "").startswith("📋") and ref in (m.text or "")
        ]
        assert len(cards) == 1, ref
