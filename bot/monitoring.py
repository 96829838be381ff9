"""Logging and Sentry, both with ID-card and phone numbers masked."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import sentry_sdk

from knowledge.masking import mask_pii


class MaskingFilter(logging.Filter):
    """Mask ID and phone numbers in every log record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = mask_pii(record.getMessage())
            record.args = None
        elif isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        return True


def setup_logging(level: str) -> None:
    """Configure the root logger once, masking personal numbers."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingFilter())
    # Every request line of the HTTP client would drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _mask_event(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: _mask_event(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_event(v) for v in value]
    return value


def before_send(event: Any, _hint: Any) -> Any:
    """Sentry hook: no ID or phone number leaves the service."""
    return _mask_event(event)


def init_sentry(dsn: str | None) -> None:
    """Start Sentry when a DSN is configured."""
    if dsn:
        sentry_sdk.init(dsn=dsn, before_send=before_send, send_default_pii=False)


def report(exc: BaseException) -> str:
    """Log and report an unexpected error; return the short code the user is shown."""
    code = secrets.token_hex(3).upper()
    logging.getLogger("helpdesk.errors").error("unexpected error %s", code, exc_info=exc)
    sentry_sdk.capture_exception(exc)
    return code
