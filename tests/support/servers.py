"""The helpdesk's settings for a test, as `helpdesk serve` would read them, and the bot token
the Bot API emulator knows."""

from __future__ import annotations

from bot.config import Settings
from knowledge.kb import BUNDLED_KB

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
