"""Settings read once from the environment (HELPDESK_*) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from escalation.digests.cron import parse_cron
from escalation.incidents.plan import DEFAULT_PLAN
from escalation.tickets.rules import REOPEN_WINDOW
from escalation.tickets.sla import DEFAULT_SLA
from knowledge.kb import BUNDLED_KB


class ConfigError(ValueError):
    """A setting that stops start-up; the message names it and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    kb_path: Path = Field(default=BUNDLED_KB, description="knowledge base YAML")
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/helpdesk.db",
        description="SQLAlchemy async URL; postgresql+asyncpg://… in production",
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
        "attachments/ beside the SQLite database (var/attachments for PostgreSQL)",
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

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
            )
        return value

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
        return self.attachments_dir or default_attachments_dir(self.database_url)

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
            out[f"HELPDESK_{name.upper()}"] = None if value is None else str(value)
        return out


def default_attachments_dir(database_url: str) -> Path:
    """Return the default folder of customers' files: attachments/ beside an SQLite
    database file, else var/attachments (the SQLite default's folder)."""
    if database_url.startswith("sqlite"):
        database = make_url(database_url).database
        if database and database != ":memory:":
            return Path(database).parent / "attachments"
    return Path("var") / "attachments"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise ConfigError naming the variable and the fix."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"HELPDESK_{field.upper()}: {err['msg']}")
        raise ConfigError(
            "invalid settings — " + "; ".join(problems) + ". Fix the environment or .env "
            "(README, 'Configuration')."
        ) from None
