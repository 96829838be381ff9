"""The helpdesk as `helpdesk serve` builds it, for a test: its settings, the server built from
them (its bot on the Bot API emulator when one is given), and the bot token the emulator knows.

Tests and fixtures build every server here, so a new setting or a new way of starting is
written once: `build_server` when the test starts and stops it itself (several instances,
restarts), `running_server` when it only needs one running for a while.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.clock import Clock
from bot.config import Settings
from bot.serve import Server
from knowledge.kb import BUNDLED_KB
from tests.support.botapi import BotApiEmulator

TELEGRAM_TOKEN = "123456:TEST-TOKEN"


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


def build_server(
    database_url: str,
    emulator: BotApiEmulator | None = None,
    *,
    clock: Clock | None = None,
    **settings: object,
) -> Server:
    """The helpdesk on that database, not started; with `emulator`, its bot polls it (or
    takes webhooks through it); `settings` override make_settings' defaults."""
    if emulator is not None:
        settings = {
            "telegram_token": TELEGRAM_TOKEN,
            "telegram_base_url": emulator.base_url,
            **settings,
        }
    built = make_settings(database_url, **settings)
    return Server(built) if clock is None else Server(built, clock=clock)


@contextlib.asynccontextmanager
async def running_server(
    database_url: str,
    emulator: BotApiEmulator | None = None,
    *,
    clock: Clock | None = None,
    **settings: object,
) -> AsyncIterator[Server]:
    """`build_server`'s helpdesk, started, and stopped when the block ends."""
    srv = build_server(database_url, emulator, clock=clock, **settings)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()
