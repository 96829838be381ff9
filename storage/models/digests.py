"""The imported T+1 subsidy statistics, the digests sent and their webhook deliveries."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, closed_set


class SubsidyStat(Base):
    """One day and industry of the platform's T+1 subsidy export (the helpdesk issues none).

    A re-import of the same day and industry replaces the row."""

    __tablename__ = "subsidy_stat"
    __table_args__ = (UniqueConstraint("day", "industry", name="uq_subsidy_stat_day_industry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai calendar day
    industry: Mapped[str] = mapped_column(String(32))
    quotas_issued: Mapped[int] = mapped_column(BigInteger)
    amount_issued: Mapped[int] = mapped_column(BigInteger)  # money in fen (0.01 yuan): exact sums
    users_claiming: Mapped[int] = mapped_column(BigInteger)
    users_using: Mapped[int] = mapped_column(BigInteger)
    uses: Mapped[int] = mapped_column(BigInteger)
    amount_used: Mapped[int] = mapped_column(BigInteger)
    matching_discount: Mapped[int] = mapped_column(BigInteger)  # merchants' own discount
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    merchants: Mapped[int] = mapped_column(BigInteger)
    driven_sales: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime]


class DigestKind(enum.StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class DigestStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    EMPTY = "empty"  # nothing to say, or nobody to say it to


class Digest(Base):
    """The ledger of scheduled digests: one row per (kind, period), written in the same
    transaction as the messages it queues, so each period is reported once."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("kind", "period_start", name="uq_digest_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DigestKind] = mapped_column(closed_set(DigestKind, 8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    label: Mapped[str] = mapped_column(String(80))
    status: Mapped[DigestStatus] = mapped_column(closed_set(DigestStatus, 8))
    queued_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """A digest owed to the bureau's webhook: retried with backoff until accepted; the
    body is signed when it is sent, so a retry carries a fresh timestamp."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_pending", "delivered_at", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # JSON, masked
    created_at: Mapped[datetime]
    next_try_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status of the last try
    error: Mapped[str | None] = mapped_column(Text)
