"""Logging and Sentry, both with personal numbers (ID, mobile, bank card, phone) masked."""

from __future__ import annotations

import logging
import secrets
from types import TracebackType
from typing import Any

import sentry_sdk

from knowledge.masking import mask_pii

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_ExcInfo = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)


class MaskingFilter(logging.Filter):
    """Mask personal numbers in every log record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = mask_pii(record.getMessage())
            record.args = None
        except Exception:
            # A bad format string: the handler reports it, printing msg and args.
            record.msg = mask_pii(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(mask_pii(str(a)) for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: mask_pii(str(v)) for k, v in record.args.items()}
        # Formatters cache the traceback text on the record; caching it masked keeps it
        # masked for every handler, even one that does not mask its own output.
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_pii(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        return True


class MaskingFormatter(logging.Formatter):
    """Format a record, traceback and stack included, then mask personal numbers in it.

    With `inner`, wrap that formatter (keeping its format) instead of formatting itself.
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        *,
        inner: logging.Formatter | None = None,
    ) -> None:
        super().__init__(fmt, datefmt)
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record) if self._inner else super().format(record)
        return mask_pii(text)

    def formatException(self, ei: _ExcInfo) -> str:
        return mask_pii(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return mask_pii(super().formatStack(stack_info))


def setup_logging(level: str) -> None:
    """Configure the root logger once, masking personal numbers in every handler's output."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
        if not isinstance(handler.formatter, MaskingFormatter):
            handler.setFormatter(MaskingFormatter(inner=handler.formatter or None))
    # Every request line of the HTTP client would drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_masked(v) for v in value)
    return value


def before_send(event: Any, _hint: Any) -> Any:
    """Sentry hook: mask every string of the event (messages, exception values, locals)."""
    return _masked(event)


def before_breadcrumb(crumb: Any, _hint: Any) -> Any:
    """Sentry hook: mask every string of a breadcrumb (log lines, HTTP and SQL crumbs)."""
    return _masked(crumb)


def sentry_options(dsn: str) -> dict[str, Any]:
    """Return the Sentry client options: every event and breadcrumb masked on its way out."""
    # No send_default_pii: off is the SDK's default, and 2.x warns that the option is going.
    return {
        "dsn": dsn,
        "before_send": before_send,
        "before_send_transaction": before_send,
        "before_breadcrumb": before_breadcrumb,
    }


def init_sentry(dsn: str | None) -> None:
    """Start Sentry when a DSN is configured."""
    if dsn:
        sentry_sdk.init(**sentry_options(dsn))


def report(exc: BaseException) -> str:
    """Log and report an unexpected error; return the short code the user is shown."""
    code = secrets.token_hex(3).upper()
    logging.getLogger("helpdesk.errors").error("unexpected error %s", code, exc_info=exc)
    sentry_sdk.capture_exception(exc)
    return code
