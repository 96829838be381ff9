"""Leases on rows that any worker on any instance may take: the outbox's messages and the
bureau webhook's deliveries.

A row is claimed by setting `claimed_until` a lease ahead and counting the attempt; the
claim lapses when its worker died before settling it, and the row is due again. Locked rows
are skipped (`SKIP LOCKED` where the database has it) and each claim is re-checked in its
UPDATE, so two workers never hold one row at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, WebhookDelivery

NEVER = datetime(2999, 1, 1, tzinfo=UTC)  # a claim that never lapses: given up


# The tables whose rows are leased: each has `id`, `claimed_until` and `attempts`.
RowT = TypeVar("RowT", Outbox, WebhookDelivery)


def lapsed(model: type[Outbox] | type[WebhookDelivery], now: datetime) -> ColumnElement[bool]:
    """Return the condition that a row is not claimed, or its claim has lapsed."""
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


async def claim_rows(
    s: AsyncSession,
    model: type[RowT],
    *,
    pending: ColumnElement[bool],
    due: ColumnElement[bool],
    now: datetime,
    lease: timedelta,
    limit: int,
    also: Sequence[ColumnElement[bool]] = (),
) -> list[RowT]:
    """Claim up to `limit` rows that are pending, due and not claimed, oldest first, in the
    caller's transaction; return them as loaded (their `attempts` before this one)."""
    rows = (
        await s.execute(
            select(model)
            .where(pending, due, lapsed(model, now), *also)
            .order_by(model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    claimed: list[RowT] = []
    for row in list(rows):
        took = await s.execute(
            update(model)
            .where(model.id == row.id, pending, lapsed(model, now))
            .values(claimed_until=now + lease, attempts=model.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(took, "rowcount", 0) == 1:
            claimed.append(row)
    return claimed
