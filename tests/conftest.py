"""Shared fixtures: the knowledge engines (slow to build: jieba loads its dictionary, so once a
session) and a fresh database (SQLite, and PostgreSQL when configured) for the storage and
end-to-end tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.db import create_database, drop_database
from knowledge.engine import Engine
from knowledge.kb import BUNDLED_KB, load_kb
from tests.support.data import MINI_KB

# Tests read this one variable directly: it configures the test run, not the product.
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session", autouse=True)
def helpdesk_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory of the test run's own (HELPDESK_HOME, inherited by the commands
    tests start), so that no test reads or writes the real one: its database, its .env."""
    home = tmp_path_factory.mktemp("helpdesk-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HELPDESK_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def mini_engine() -> Engine:
    return Engine(load_kb(MINI_KB))


@pytest.fixture(scope="session")
def bundled_engine() -> Engine:
    return Engine(load_kb(BUNDLED_KB))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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
