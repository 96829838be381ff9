"""Where the helpdesk keeps its data: HELPDESK_HOME and the database URL resolved under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import default_home, load_settings, sqlite_url_in

HOME = Path("/srv/helpdesk")


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("sqlite+aiosqlite:///helpdesk.db", "sqlite+aiosqlite:////srv/helpdesk/helpdesk.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:////srv/helpdesk/var/x.db"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgresql+asyncpg://u:p@db/helpdesk", "postgresql+asyncpg://u:p@db/helpdesk"),
    ],
)
def test_a_relative_sqlite_path_is_under_the_data_directory(url: str, resolved: str) -> None:
    assert sqlite_url_in(HOME, url) == resolved


def test_the_settings_resolve_a_relative_database_under_helpdesk_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELPDESK_HOME", "/srv/helpdesk")
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite+aiosqlite:///var/helpdesk.db")
    settings = load_settings(_env_file=None)
    assert settings.home == HOME
    assert settings.database_url == "sqlite+aiosqlite:////srv/helpdesk/var/helpdesk.db"


def test_the_default_data_directory_does_not_follow_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = default_home()
    monkeypatch.chdir(tmp_path)
    assert default_home() == first
    assert first.is_absolute()
    assert "site-packages" not in first.parts


def test_the_config_output_hides_a_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql+asyncpg://desk:s3cret@db/helpdesk")
    shown = load_settings(_env_file=None).masked()
    assert shown["HELPDESK_DATABASE_URL"] == "postgresql+asyncpg://desk:***@db/helpdesk"
