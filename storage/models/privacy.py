"""The privacy ledger: each purge and erasure run."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


class PrivacyAction(enum.StrEnum):
    PURGE = "purge"
    ERASE = "erase"


class PrivacyAudit(Base):
    """Every retention purge and erasure (PIPL Art. 19 and 47): when, who ran it, the
    cut-off and how many rows changed; never the data itself."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[PrivacyAction] = mapped_column(closed_set(PrivacyAction, 8))
    actor: Mapped[str] = mapped_column(String(80))  # "cli:ops", "scheduler"
    at: Mapped[datetime]
    cutoff: Mapped[datetime | None]  # purge: data older than this went
    # A scheduled purge's slot ("purge:2025-06-02T03:30:00+08:00"): the instance that writes
    # it first runs that purge, in the same transaction; another finds it taken.
    run_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # erase: SHA-256 of the channel identity, not the identity, so that a repeated request
    # is answered "already erased" without keeping who it was in the clear.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON {what: rows}
