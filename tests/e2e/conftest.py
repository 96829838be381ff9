"""End-to-end fixtures: a fresh database (SQLite, and PostgreSQL when configured) and the
real server built from settings, as `helpdesk serve` builds it."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.serve import Server
from knowledge.kb import BUNDLED_KB

# Tests read this one variable directly: it configures the test run, not the product.
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "")


async def _fresh_pg_database(base_url: str) -> tuple[str, str]:
    import asyncpg

    url = make_url(base_url)
    name = f"helpdesk_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False), name


async def _drop_pg_database(base_url: str, name: str) -> None:
    import asyncpg

    url = make_url(base_url)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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
    url, name = await _fresh_pg_database(PG_URL)
    try:
        yield url
    finally:
        await _drop_pg_database(PG_URL, name)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "kb_path": BUNDLED_KB,
        "database_url": database_url,
        "web_host": "127.0.0.1",
        "web_port": 0,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    """The helpdesk serving the web chat on a free port."""
    srv = Server(make_settings(database_url))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()
