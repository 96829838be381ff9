import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.config import ConfigError, load_settings
from bot.monitoring import MaskingFilter, before_send
from storage import retry as store


def test_log_records_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s id %s", None, None)
    record.args = ("13812345678", "110101199003071234")
    MaskingFilter().filter(record)
    assert record.getMessage() == "user 138****5678 id 110101********1234"


def test_sentry_events_are_masked_deeply() -> None:
    event = {"message": "手机13812345678", "extra": {"list": ["110101199003071234"]}}
    masked = before_send(event, None)
    assert masked == {"message": "手机138****5678", "extra": {"list": ["110101********1234"]}}


async def test_store_retries_while_the_database_is_briefly_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "RETRY_DELAYS", (0.0, 0.0))
    calls = 0

    @store.retrying
    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return "ok"

    assert await flaky() == "ok"
    assert calls == 3


async def test_store_does_not_retry_real_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "RETRY_DELAYS", (0.0, 0.0))

    @store.retrying
    async def broken() -> None:
        raise OperationalError("SELECT x", {}, Exception("no such column: x"))

    with pytest.raises(OperationalError):
        await broken()


def test_invalid_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "mysql://nope")
    with pytest.raises(ConfigError, match="HELPDESK_DATABASE_URL"):
        load_settings(_env_file=None)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    monkeypatch.setenv("HELPDESK_WEB_PORT", "eighty")
    with pytest.raises(ConfigError, match="HELPDESK_WEB_PORT"):
        load_settings(_env_file=None)


def test_config_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_TELEGRAM_TOKEN", "123456:ABCDEFGHIJKLMNOP")
    shown = load_settings(_env_file=None).masked()
    assert shown["HELPDESK_TELEGRAM_TOKEN"] == "1234…******"
    assert "ABCDEFG" not in str(shown)
