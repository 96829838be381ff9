"""Every step of the emergency plan fires once: across a SIGKILL and a restart, and with two
instances working one PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import ManualClock, utc_now
from bot.db import make_sessions
from bot.serve import Server
from escalation.incidents.sources import sign
from escalation.routing import agent_actor
from storage.models import Incident, IncidentTimer, Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.incidents import (
    cards,
    fast_plan,
    incident_server,
    plan_chats,
    plan_settings,
)
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    BUREAU_CHAT,
    LEADERSHIP_CHAT,
    SUPERVISORS_CHAT,
    start_bot,
)
from tests.support.servers import TELEGRAM_TOKEN, make_settings

SECRET = "alert-secret-for-tests"
_REPORT = re.compile(r"的(初报|续报|终报)（第(\d+)号）")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _alert(port: int, title: str) -> str:
    raw = json.dumps(
        {"title": title, "level": "Ⅲ", "category": "系统故障", "detail": "监控告警"},
        ensure_ascii=False,
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Helpdesk-Timestamp": stamp,
        "X-Helpdesk-Signature": sign(SECRET, stamp, raw),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/api/alerts", data=raw, headers=headers) as r,
    ):
        assert r.status == 201, await r.text()
        return str((await r.json())["incident"])


def _reports(emu: BotApiEmulator) -> Counter[tuple[str, str]]:
    """(report name, number) for every report the bureau received, with how often."""
    found: Counter[tuple[str, str]] = Counter()
    for m in emu.sent_messages(BUREAU_CHAT):
        hit = _REPORT.search(m.text or "")
        if hit:
            found[(hit.group(1), hit.group(2))] += 1
    return found


def _auto_plan(tmp_path: Path) -> Path:
    """Ⅲ with the 初报 sent by itself at 4.8 s, 续报 every 4.8 s, one run of the chain."""
    return fast_plan(
        tmp_path,
        auto_report=True,
        repeat=0,
        deadlines={
            "acknowledge": "0.5m",
            "first_report": "0.08m",
            "follow_up": "0.08m",
            "final_report": "1m",
            "reminder": "10m",
        },
    )


async def test_a_restart_mid_chain_fires_every_step_and_report_once(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    if "postgresql" in database_url:
        pytest.skip("one restart run, on SQLite; the two-instance test covers PostgreSQL")
    plan_chats(emulator)
    port = _free_port()
    env = {f"HELPDESK_{k.upper()}": str(v) for k, v in plan_settings(_auto_plan(tmp_path)).items()}
    env.update({"HELPDESK_ALERT_SECRET": SECRET, "HELPDESK_WEB_PORT": str(port)})
    bot = await start_bot(emulator, database_url, **env)
    try:
        await emulator.wait_until(lambda: _port_open(port), 20, "the web server")
        ref = await _alert(port, "领券接口大量超时")
        await emulator.wait_until(
            lambda: bool(cards(emulator, AGENTS_CHAT, ref)), 10, "the on-call card"
        )
        # Let the card be marked sent: a kill in the instant between Telegram's answer and
        # that mark sends it again (the one message in flight; test_exactly_once).
        await asyncio.sleep(0.5)
        bot.kill()  # SIGKILL between the on-call step and the supervisors' step
        await bot.wait()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert not cards(emulator, SUPERVISORS_CHAT, ref)
    bot = await start_bot(emulator, database_url, **env)
    try:
        await emulator.wait_until(
            lambda: bool(cards(emulator, SUPERVISORS_CHAT, ref)), 20, "the supervisors' card"
        )
        await emulator.wait_until(
            lambda: ("续报", "2") in _reports(emulator), 30, "the 初报 and two 续报"
        )
        await asyncio.sleep(1.0)  # more sweeps
    finally:
        bot.terminate()
        await bot.wait()
    assert len(cards(emulator, AGENTS_CHAT, ref)) == 1
    assert len(cards(emulator, SUPERVISORS_CHAT, ref)) == 1
    assert not cards(emulator, LEADERSHIP_CHAT, ref)  # Ⅲ's chain ends at the supervisors
    sent = _reports(emulator)
    assert sent[("初报", "1")] == 1
    assert sent[("续报", "1")] == 1
    assert sent[("续报", "2")] == 1
    assert set(sent.values()) == {1}, sent


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.postgres
async def test_two_instances_on_one_postgresql_fire_each_step_once(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    if "postgresql" not in database_url:
        pytest.skip("several instances share a PostgreSQL database, not an SQLite file")
    plan_chats(emulator)
    plan = _auto_plan(tmp_path)
    ports = [_free_port(), _free_port()]
    servers = [
        Server(
            make_settings(
                database_url,
                web_port=port,
                telegram_token=TELEGRAM_TOKEN,
                telegram_base_url=emulator.base_url,
                webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                webhook_secret="shared-secret",
                alert_secret=SECRET,
                **{**plan_settings(plan), "sla_sweep_seconds": 0.1, "outbox_poll_seconds": 0.05},
            ),
            clock,
        )
        for port in ports
    ]
    for srv in servers:
        await srv.start()
    try:
        refs = [await _alert(ports[0], "领券接口大量超时")]
        # The same category again, at the other instance: it attaches, opens nothing.
        raw = json.dumps({"title": "领券接口仍超时", "category": "系统故障"}).encode()
        stamp = str(int(time.time()))
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{ports[1]}/api/alerts",
                data=raw,
                headers={
                    "X-Helpdesk-Timestamp": stamp,
                    "X-Helpdesk-Signature": sign(SECRET, stamp, raw),
                },
            ) as r,
        ):
            assert r.status == 200
            assert (await r.json())["incident"] == refs[0]
        ref = refs[0]
        # 17 seconds of the plan, a second at a time, both instances sweeping at once: the
        # supervisors' card at 2.4 s, the 初报 at 4.8 s, 续报 at 9.6 s and 14.4 s.
        for _ in range(17):
            clock.advance(timedelta(seconds=1))
            await asyncio.gather(*(srv.run_now("sla-sweep") for srv in servers))
            await asyncio.gather(*(srv.run_now("outbox") for srv in servers))
        assert cards(emulator, SUPERVISORS_CHAT, ref), "the supervisors' card"
        assert ("续报", "2") in _reports(emulator), "the 初报 and two 续报"
    finally:
        for srv in servers:
            await srv.stop()
    assert len(cards(emulator, AGENTS_CHAT, ref)) == 1
    assert len(cards(emulator, SUPERVISORS_CHAT, ref)) == 1
    sent = _reports(emulator)
    assert sent[("初报", "1")] == 1
    assert sent[("续报", "1")] == 1
    assert sent[("续报", "2")] == 1
    assert set(sent.values()) == {1}, sent


@pytest.fixture
async def one_server(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    plan_chats(emulator)
    srv = await incident_server(database_url, emulator, fast_plan(tmp_path))
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.mark.usefixtures("emulator")
async def test_a_sweep_that_loses_the_race_sends_nothing_twice_and_breaks_nothing(
    one_server: Server,
) -> None:
    """SQLite has no row locks: a second sweep can pick a step another sweep has just sent.
    Its unique outbox key makes it fail as a whole; that must not reach the user whose
    message opened the incident, nor send the step again."""
    runtime = one_server.runtime
    assert runtime is not None
    now = utc_now()
    await runtime.agents.add(AGENT_ID, "小王", "agent", now)
    agent = agent_actor(AGENT_ID, "小王", "agent")
    view = await runtime.incidents.declare("Ⅲ", "部分用户领券失败", agent, now)
    async with make_sessions(runtime.db).begin() as s:
        timer = (
            await s.execute(
                select(IncidentTimer)
                .join(Incident, Incident.id == IncidentTimer.incident_id)
                .where(
                    Incident.reference == view.reference,
                    IncidentTimer.kind == "chain",
                    IncidentTimer.fired_at.is_(None),
                )
                .order_by(IncidentTimer.due_at)
                .limit(1)
            )
        ).scalar_one()
        timer.due_at = now  # due now, and "another sweep" has queued its card already
        s.add(
            Outbox(
                key=f"inc:{timer.id}",
                channel="telegram",
                chat_id=SUPERVISORS_CHAT,
                purpose="incident_card",
                text="(sent by the other sweep)",
                buttons="[]",
                reply_to_card=False,
                created_at=now,
                not_before=now,
                attempts=0,
            )
        )
    assert await runtime.incidents.sweep(utc_now()) == 0  # lost the race: nothing, no error
    async with make_sessions(runtime.db)() as s:
        keys = (await s.execute(select(Outbox.key).where(Outbox.key.like("inc:%")))).all()
    assert len(keys) == len({k for (k,) in keys})
