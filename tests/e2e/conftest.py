"""End-to-end fixtures: the Bot API emulator, the real server built from settings, as
`helpdesk serve` builds it, and a clock the test moves (the fresh database, `database_url`,
is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock, utc_now
from bot.serve import Server
from tests.support.botapi import BotApiEmulator
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
