"""The database engine, session factory and migrations. Nothing here decides anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import storage
from bot.config import ensure_dir

MIGRATIONS = Path(storage.__file__).parent / "migrations"


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        ensure_dir(Path(parsed.database).parent, "the database's directory")


def make_engine(url: str) -> AsyncEngine:
    """Build the async engine for a HELPDESK_DATABASE_URL."""
    _ensure_sqlite_dir(url)
    if make_url(url).get_backend_name() == "sqlite":
        # hide_parameters: a failed statement's error (and so its logged traceback) never
        # carries the values it was given, which may be a user's message.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers work while one writer commits; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a killed process; only a power cut can lose the
            # last commits, and it halves the fsyncs of every message.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; each unit of work opens its own session."""
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (blocking: call it off the event loop)."""
    _ensure_sqlite_dir(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


async def create_database(base_url: str, name: str) -> str:
    """Create an empty PostgreSQL database beside the one `base_url` names; return its URL."""
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(base_url: str, name: str) -> None:
    """Drop a database made by create_database, closing its connections."""
    await _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(base_url: str, statement: str) -> None:
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
        await conn.execute(statement)
    finally:
        await conn.close()
