"""End-to-end fixtures: a fresh database (SQLite, and PostgreSQL when configured) and the
real server built from settings, as `helpdesk serve` builds it."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import create_database, drop_database
from bot.serve import Server
from tests.support.botapi import BotApiEmulator
from tests.support.servers import TELEGRAM_TOKEN, running_server

# Tests read this one variable directly: it configures the test run, not the product.
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'helpdesk.db'}"
        return
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need HELPDESK_TEST_DATABASE_URL, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test (.ci/run sets it when a server "
            "answers)"
        )
    name = f"helpdesk_test_{secrets.token_hex(4)}"
    url = await create_database(PG_URL, name)
    try:
        yield url
    finally:
        await drop_database(PG_URL, name)


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
