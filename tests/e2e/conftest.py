"""End-to-end fixtures: the Bot API emulator, the real server built from settings, as
`helpdesk serve` builds it, and a clock the test moves (the fresh database, `database_url`,
is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock, utc_now
from bot.serve import Server
from tests.support.botapi import BotApiEmulator
from tests.support.incidents import fast_plan, incident_server, plan_chats
from tests.support.journeys import desk_server, sla_file
from tests.support.servers import TELEGRAM_TOKEN, running_server


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """The Bot API emulator on a free loopback port; nothing is ever held when it stops."""
    emu = BotApiEmulator(token=TELEGRAM_TOKEN)
    await emu.start()
    try:
        yield emu
    finally:
        emu.release()
        await emu.stop()


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    """The helpdesk serving the web chat on a free port."""
    async with running_server(database_url) as srv:
        yield srv


@pytest.fixture
def clock() -> ManualClock:
    """The time a server given it reads everywhere: now, standing still until the test
    moves it (`advance`, `set`) and runs the job it waits for (`server.run_now`)."""
    return ManualClock(utc_now().replace(microsecond=0))


@pytest.fixture
async def clocked_server(database_url: str, clock: ManualClock) -> AsyncIterator[Server]:
    """The helpdesk serving the web chat on a free port, on the test's clock."""
    async with running_server(database_url, clock=clock) as srv:
        yield srv


@pytest.fixture
async def tg_desk(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    """The helpdesk with its bot on the emulator, agents and supervisors registered, on a
    fast SLA policy (tests/support/journeys.py)."""
    srv = await desk_server(database_url, emulator, sla_file(tmp_path))
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def tg_incidents(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Server]:
    """The helpdesk with the plan's chats on the emulator and a fast emergency plan, on
    the test's clock (tests/support/incidents.py)."""
    plan_chats(emulator)
    srv = await incident_server(database_url, emulator, fast_plan(tmp_path), clock)
    try:
        yield srv
    finally:
        await srv.stop()
