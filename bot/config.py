"""Settings read once from the environment (HELPDESK_*) and optional .env files.

Everything the helpdesk keeps (the SQLite database, and what sits beside it) lives in one
data directory, HELPDESK_HOME, resolved the same way whatever directory a command runs in:
an agent registered from one shell is the agent the server sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from escalation.digests.cron import parse_cron
from escalation.incidents.plan import DEFAULT_PLAN
from escalation.tickets.rules import REOPEN_WINDOW
from escalation.tickets.sla import DEFAULT_SLA
from knowledge.kb import BUNDLED_KB

# A source checkout (the editable install `make run` makes) is the directory holding the
# `bot` package and pyproject.toml; an installed wheel sits in site-packages instead.
_CHECKOUT = Path(__file__).resolve().parent.parent
_PACKAGE_DIRS = frozenset({"site-packages", "dist-packages"})
DATABASE_FILE = "helpdesk.db"


class ConfigError(ValueError):
    """A setting that stops start-up; the message names it and what to do."""


def default_home() -> Path:
    """Return the data directory used when HELPDESK_HOME is not set.

    A source checkout keeps its data in its own `var/` (where `make run` always put it);
    an installed package in the user's data directory ($XDG_DATA_HOME/helpdesk, by
    default ~/.local/share/helpdesk), never beside its code in site-packages.
    """
    if (_CHECKOUT / "pyproject.toml").is_file() and not _PACKAGE_DIRS & set(_CHECKOUT.parts):
        return _CHECKOUT / "var"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "helpdesk"
    try:
        return Path.home() / ".local" / "share" / "helpdesk"
    except RuntimeError:  # no HOME and no password entry: nowhere stable to default to
        raise ConfigError(
            "HELPDESK_HOME is not set and this user has no home directory: set "
            "HELPDESK_HOME to a directory for the helpdesk's data (docs/channels.md, "
            "'Configuration')."
        ) from None


def data_home() -> Path:
    """Return HELPDESK_HOME (from the environment, else its default), absolute."""
    raw = os.environ.get("HELPDESK_HOME", "").strip()
    return _absolute(Path(raw)) if raw else default_home()


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))


def ensure_dir(path: Path, what: str) -> Path:
    """Create a data directory if it is missing, or raise ConfigError saying why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{what} {path}: cannot create it ({exc.strerror or exc}). Set HELPDESK_HOME "
            "(or HELPDESK_DATABASE_URL) to a directory this user can write (docs/channels.md, "
            "'Configuration')."
        ) from None
    return path


def sqlite_url_in(home: Path, url: str) -> str:
    """Return `url` with a relative SQLite path made absolute under `home`; any other URL
    (PostgreSQL, an absolute path, :memory:) as it is."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return url
    path = Path(database).expanduser()
    if path.is_absolute() or database.startswith("file:"):
        return url
    return parsed.set(database=str(home / path)).render_as_string(hide_password=False)


class Settings(BaseSettings):
    # No env_file here: load_settings names the .env files, which depend on HELPDESK_HOME.
    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_", env_file=None, env_file_encoding="utf-8", extra="ignore"
    )

    # First: database_url is resolved against it.
    home: Path = Field(
        default_factory=default_home,
        description="the data directory: the SQLite database and what is kept beside it",
    )
    kb_path: Path = Field(default=BUNDLED_KB, description="knowledge base YAML")
    database_url: str = Field(
        default="",
        validate_default=True,
        description="SQLAlchemy async URL; empty: sqlite+aiosqlite:///HELPDESK_HOME/helpdesk.db; "
        "a relative SQLite path is under HELPDESK_HOME; postgresql+asyncpg://… in production",
    )
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = Field(
        default=None, description="another Bot API server, e.g. http://127.0.0.1:8081/bot"
    )
    telegram_base_file_url: str | None = Field(
        default=None,
        description="its file downloads; default: the base URL with /bot made /file/bot",
    )
    webhook_url: str | None = Field(default=None, description="public URL: webhook mode")
    webhook_secret: SecretStr | None = None
    sentry_dsn: SecretStr | None = None
    log_level: str = "INFO"
    agent_chat_id: int | None = Field(
        default=None, description="Telegram group of the agents: ticket cards, SLA warnings"
    )
    supervisor_chat_id: int | None = Field(
        default=None, description="Telegram chat of the supervisors: escalations, breaches"
    )
    sla_path: Path = Field(default=DEFAULT_SLA, description="SLA policy YAML")
    calendar_path: Path | None = Field(
        default=None, description="working calendar YAML; replaces the SLA policy's calendar"
    )
    sla_sweep_seconds: float = Field(
        default=30.0, gt=0, description="how often SLA clocks are checked"
    )
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often queued messages go out"
    )
    outbox_lease_seconds: float = Field(
        default=30.0,
        ge=1,
        description="how long a claimed outbox message waits before another sender takes "
        "it (a sender that died mid-send)",
    )
    leadership_chat_id: int | None = Field(
        default=None, description="Telegram chat of the platform's leadership (emergency plan)"
    )
    bureau_chat_id: int | None = Field(
        default=None, description="Telegram chat of the bureau: reports only, never raw data"
    )
    plan_path: Path = Field(default=DEFAULT_PLAN, description="emergency plan YAML")
    alert_secret: SecretStr | None = Field(
        default=None, description="HMAC secret of POST /api/alerts (off when unset)"
    )
    incident_contact: str = Field(
        default="平台客服值班室", description="contact named in reports to the bureau"
    )
    console_session_minutes: int = Field(
        default=480, gt=0, description="web console sign-in lifetime"
    )
    digest_daily_cron: str = Field(
        default="0 9 * * *", description="T+1 daily report (yesterday); empty: off"
    )
    digest_weekly_cron: str = Field(
        default="0 9 * * mon", description="weekly summary (last week); empty: off"
    )
    digest_hourly_cron: str = Field(
        default="0 * * * *", description="risk summary of the last hour, when any; empty: off"
    )
    digest_check_seconds: float = Field(
        default=30.0, gt=0, description="how often due digests and webhook retries are checked"
    )
    bureau_webhook_url: str | None = Field(
        default=None, description="the bureau's system: digests as signed JSON"
    )
    bureau_webhook_secret: SecretStr | None = None
    retention_days: int = Field(
        default=365,
        ge=0,
        le=36500,
        description="days the conversation record is kept (PIPL Art. 19); 0 or empty: forever",
    )
    purge_cron: str = Field(
        default="30 3 * * *", description="when the retention purge runs, Beijing time; empty: off"
    )
    attachments_dir: Path | None = Field(
        default=None,
        description="where customers' photos, files and voice notes are kept; default: "
        "attachments/ beside the SQLite database, else HELPDESK_HOME/attachments; a "
        "relative path is taken under HELPDESK_HOME",
    )
    attachment_max_mb: float = Field(
        default=10.0,
        gt=0,
        le=20,  # Telegram lets bots download files of up to 20 MB
        description="the largest file a customer may attach, in MB",
    )
    attachments_per_ticket: int = Field(
        default=20, ge=1, le=1000, description="how many files one ticket keeps at most"
    )

    @field_validator("home")
    @classmethod
    def _home(cls, value: Path) -> Path:
        return _absolute(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        home = info.data.get("home")
        if home is None:  # HELPDESK_HOME itself was refused; that error says so
            return value
        value = value.strip() or f"sqlite+aiosqlite:///{home / DATABASE_FILE}"
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path.db (relative: under HELPDESK_HOME) or "
                "postgresql+asyncpg://user@host/db"
            )
        return sqlite_url_in(home, value)

    @field_validator("retention_days", mode="before")
    @classmethod
    def _forever(cls, value: Any) -> Any:
        return 0 if isinstance(value, str) and not value.strip() else value

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        # A closed ticket may be reopened by its customer for a week: a purge must not
        # anonymise it before then.
        if 0 < value < REOPEN_WINDOW.days:
            raise ValueError(
                f"use 0 (keep forever) or at least {REOPEN_WINDOW.days} days: a closed "
                f"ticket may be reopened for {REOPEN_WINDOW.days} days"
            )
        return value

    @field_validator("digest_daily_cron", "digest_weekly_cron", "digest_hourly_cron", "purge_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if value.strip():
            parse_cron(value)  # CronError (a ValueError) says what is wrong
        return value.strip()

    @field_validator("bureau_webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("use an http:// or https:// URL")
        return value or None

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def attachments_folder(self) -> Path:
        """Return the folder of customers' files (HELPDESK_ATTACHMENTS_DIR or its default)."""
        if self.attachments_dir is not None:
            return self.home / self.attachments_dir  # a relative one is under HELPDESK_HOME
        return default_attachments_dir(self.database_url, self.home)

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.attachment_max_mb * 1024 * 1024)

    @property
    def file_url(self) -> str | None:
        """Return where Telegram files are downloaded from, when not Telegram's own."""
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        base = self.telegram_base_url
        if base and base.rstrip("/").endswith("/bot"):
            return base.rstrip("/").removesuffix("/bot") + "/file/bot"
        return None

    def masked(self) -> dict[str, Any]:
        """Return the effective settings with secrets masked, for `helpdesk config`."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                value = (secret[:4] + "…" + "*" * 6) if len(secret) > 8 else "******"
            elif name == "database_url":
                value = make_url(value).render_as_string(hide_password=True)
            out[f"HELPDESK_{name.upper()}"] = None if value is None else str(value)
        return out


def env_files(home: Path) -> tuple[Path, ...]:
    """Return the .env files read, lowest priority first: the current directory's (as
    before HELPDESK_HOME existed), then HELPDESK_HOME's, which wins where both set a
    variable. The environment wins over both."""
    return (Path(".env"), home / ".env")


def default_attachments_dir(database_url: str, home: Path) -> Path:
    """Return the default folder of customers' files: attachments/ beside an SQLite
    database file, else HELPDESK_HOME/attachments."""
    if database_url.startswith("sqlite"):
        database = make_url(database_url).database
        if database and database != ":memory:":
            return home / Path(database).parent / "attachments"
    return home / "attachments"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise ConfigError naming the variable and the fix.

    HELPDESK_HOME comes from the environment only (a .env file is read from it)."""
    home = overrides.get("home") or data_home()
    overrides = {"home": home, "_env_file": env_files(Path(home)), **overrides}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"HELPDESK_{field.upper()}: {err['msg']}")
        raise ConfigError(
            "invalid settings — " + "; ".join(problems) + ". Fix the environment or .env "
            "(docs/channels.md, 'Configuration')."
        ) from None
