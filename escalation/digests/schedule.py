"""When the scheduled digests are due, and sending each period's digest exactly once.

The schedule is a five-field cron expression (cron.py) read in Asia/Shanghai (no daylight
saving since 1991, so every local minute exists once). A daily digest fired on a day reports the
day before; a weekly one reports the Monday–Sunday week before the week it fires in; an
hourly one reports the hour before. Which periods are due is a pure function of the
schedule, the last period handled and the time; a period missed while the service was
down is due when it comes back, within a bounded catch-up.

Each period is claimed by a unique ledger row (`digest`, one per kind and period start)
written in the same transaction as the outbox rows that carry it to the chats and the
webhook row that carries it to the bureau's system: restarts and several instances on one
database neither lose nor double a digest.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.digests.chart import render_chart
from escalation.digests.cron import Cron, previous_fires
from escalation.digests.model import SHANGHAI, Period, daily_period, hourly_period, weekly_period
from escalation.digests.render import (
    render_csv,
    render_risk_summary_text,
    render_text,
    report_json,
)
from escalation.digests.report import build_report, build_risk_summary
from escalation.routing import Routes
from knowledge.masking import mask_pii
from storage.lease import NEVER, claim_rows
from storage.models import Digest, DigestStatus, Outbox, WebhookDelivery
from storage.outbox import outbound
from storage.retry import retrying

log = logging.getLogger(__name__)

KINDS = ("daily", "weekly", "hourly")
# How many missed periods a come-back still sends: a week of daily reports, a month of
# weekly ones; a risk summary is only worth reading while it is fresh.
CATCH_UP = {"daily": 7, "weekly": 4, "hourly": 3}
WEBHOOK_LEASE = timedelta(seconds=60)
WEBHOOK_MAX_ATTEMPTS = 10


def period_fired_at(kind: str, fire: datetime) -> Period:
    """Return the period a digest of this kind fired at this time reports on."""
    local = fire.astimezone(SHANGHAI)
    if kind == "daily":
        return daily_period(local.date() - timedelta(days=1))
    if kind == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        return weekly_period(monday - timedelta(days=7))
    if kind == "hourly":
        return hourly_period(local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1))
    raise ValueError(f"unknown digest kind {kind!r}; use one of {', '.join(KINDS)}")


def due_periods(
    kind: str, cron: Cron, last_start: datetime | None, now: datetime, limit: int | None = None
) -> list[Period]:
    """Return the periods due now, oldest first: those fired since the last one handled
    (at most `limit`, by default CATCH_UP[kind]); only the latest when none ever was."""
    fires = previous_fires(cron, now, limit if limit is not None else CATCH_UP[kind])
    periods: dict[datetime, Period] = {}
    for fire in fires:
        period = period_fired_at(kind, fire)
        periods.setdefault(period.start, period)
    ordered = sorted(periods.values(), key=lambda p: p.start)
    if last_start is None:
        return ordered[-1:]
    return [p for p in ordered if p.start > last_start]


def webhook_backoff(attempts: int) -> timedelta:
    """Return how long to wait after the n-th failed delivery: 30 s, doubling, at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


# ---------------------------------------------------------------------- what a digest sends
@dataclass(frozen=True, slots=True)
class Part:
    """One message of a digest: a text, or a photo / document with the text as caption."""

    name: str  # text | chart | file
    chat: str  # a route name: bureau, supervisors
    text: str
    attachment: bytes | None = None
    attachment_name: str | None = None
    attachment_kind: str | None = None  # photo | document


@dataclass(frozen=True, slots=True)
class Parts:
    parts: tuple[Part, ...] = ()
    webhook_body: str | None = None


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _stamp(period: Period) -> str:
    local = period.start.astimezone(SHANGHAI)
    return local.strftime("%Y%m%d-%H%M" if period.kind == "hourly" else "%Y%m%d")


def report_parts(
    period: Period, text: str, csv: str, chart: bytes, body: Mapping[str, Any]
) -> Parts:
    """Return a daily or weekly report's messages to the bureau and its webhook body,
    every text masked once more on the way out."""
    name = f"helpdesk-{period.kind}-{_stamp(period)}"
    return Parts(
        (
            Part("text", "bureau", mask_pii(text)),
            Part("chart", "bureau", f"📊 {period.label} 图表", chart, f"{name}.png", "photo"),
            Part(
                "file",
                "bureau",
                f"📎 {period.label} 明细（CSV，可用 Excel 打开）",
                # A byte-order mark, so Excel reads the Chinese as UTF-8.
                mask_pii(csv).encode("utf-8-sig"),
                f"{name}.csv",
                "document",
            ),
        ),
        json.dumps(_masked(dict(body)), ensure_ascii=False),
    )


def risk_parts(period: Period, text: str) -> Parts:
    """Return an hourly risk summary's messages (supervisors and bureau) and webhook body."""
    masked = mask_pii(text)
    body = {
        "kind": period.kind,
        "label": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "text": masked,
    }
    return Parts(
        (Part("text", "supervisors", masked), Part("text", "bureau", masked)),
        json.dumps(body, ensure_ascii=False),
    )


@dataclass(frozen=True, slots=True)
class WebhookItem:
    id: int
    key: str
    body: str
    attempts: int  # including this one


@dataclass
class Digests:
    """The scheduled digests: run what is due, and the bureau webhook's deliveries."""

    sessions: async_sessionmaker[AsyncSession]
    routes: Routes
    schedules: Mapping[str, Cron]  # kind -> cron; a kind not here is not sent
    categories: Mapping[str, str] = field(default_factory=dict)  # KB entry id -> category
    plan: Any = None
    webhook: bool = False  # queue deliveries for the bureau's webhook
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def run_due(self, now: datetime) -> int:
        """Queue every digest due at `now` that no run (here or elsewhere) has queued yet;
        return how many periods this run handled."""
        handled = 0
        failure: Exception | None = None
        async with self._lock:  # the start-up run and a cron run never race in one process
            for kind in KINDS:
                cron = self.schedules.get(kind)
                if cron is None:
                    continue
                last = await self._last_start(kind)
                for period in due_periods(kind, cron, last, now):
                    try:
                        parts = await self._build(period)
                    except Exception as exc:  # the next run tries this period again
                        log.exception("digests: could not build the %s %s", kind, period.label)
                        failure = failure or exc
                        break  # later periods wait, so none is skipped over
                    if await self._claim(period, parts, now):
                        handled += 1
            await self._settle(now)
        if failure is not None:
            raise failure
        return handled

    def _has_audience(self, kind: str) -> bool:
        """Whether anyone would receive this kind (building a report costs a chart)."""
        chats = ("supervisors", "bureau") if kind == "hourly" else ("bureau",)
        return self.webhook or any(self.routes.chat(c) is not None for c in chats)

    async def _build(self, period: Period) -> Parts:
        if not self._has_audience(period.kind):
            return Parts()  # ledgered as "empty": nobody is configured to receive it
        if period.kind == "hourly":
            summary = await build_risk_summary(self.sessions, period)
            if summary is None:
                return Parts()
            return risk_parts(period, render_risk_summary_text(summary))
        report = await build_report(
            self.sessions, period, categories=self.categories, plan=self.plan
        )
        return report_parts(
            period,
            render_text(report),
            render_csv(report),
            render_chart(report),
            report_json(report),
        )

    @retrying
    async def _last_start(self, kind: str) -> datetime | None:
        async with self.sessions() as s:
            value = (
                await s.execute(select(func.max(Digest.period_start)).where(Digest.kind == kind))
            ).scalar_one_or_none()
            if value is not None and value.tzinfo is None:  # max() bypasses UtcDateTime
                value = value.replace(tzinfo=UTC)
            return value

    @retrying
    async def _claim(self, period: Period, parts: Parts, now: datetime) -> bool:
        """Write the ledger row and everything the digest sends, in one transaction; False
        when the period was claimed already."""
        key = f"digest:{period.kind}:{_stamp(period)}"
        try:
            async with self.sessions.begin() as s:
                row = Digest(
                    kind=period.kind,
                    period_start=period.start,
                    period_end=period.end,
                    label=period.label[:80],
                    status=DigestStatus.QUEUED if parts.parts else DigestStatus.EMPTY,
                    queued_at=now,
                )
                s.add(row)
                await s.flush()  # a second claim of the period fails here
                for part in parts.parts:
                    chat_id = self.routes.chat(part.chat)
                    if chat_id is None:
                        log.info("digests: no %s chat configured; %s not sent", part.chat, key)
                        continue
                    s.add(
                        outbound(
                            chat_id=chat_id,
                            purpose="digest",
                            text=part.text,
                            at=now,
                            key=f"{key}:{part.name}:{chat_id}",
                            attachment=part.attachment,
                            attachment_name=part.attachment_name,
                            attachment_kind=part.attachment_kind,
                            digest_id=row.id,
                        )
                    )
                if self.webhook and parts.webhook_body is not None:
                    s.add(
                        WebhookDelivery(
                            key=key,
                            digest_id=row.id,
                            body=parts.webhook_body,
                            created_at=now,
                            next_try_at=now,
                            attempts=0,
                        )
                    )
        except IntegrityError:
            log.info("digests: %s was queued already (another run or instance)", key)
            return False
        log.info("digests: queued %s (%d message(s))", key, len(parts.parts))
        return True

    @retrying
    async def _settle(self, now: datetime) -> None:
        """Mark queued digests whose messages have all gone out as sent."""
        async with self.sessions.begin() as s:
            pending = exists().where(Outbox.digest_id == Digest.id, Outbox.sent_at.is_(None))
            await s.execute(
                update(Digest)
                .where(Digest.status == "queued", ~pending)
                .values(status=DigestStatus.SENT, sent_at=now)
                .execution_options(synchronize_session=False)
            )

    async def ledger(self) -> list[tuple[str, datetime, str]]:
        """Return (kind, period start, status) of every digest handled, oldest first."""
        async with self.sessions() as s:
            rows = await s.execute(
                select(Digest.kind, Digest.period_start, Digest.status).order_by(
                    Digest.period_start, Digest.kind
                )
            )
            return [(k, p, st) for k, p, st in rows]

    # ------------------------------------------------------------------ the webhook
    @retrying
    async def claim_webhooks(self, now: datetime, limit: int = 10) -> list[WebhookItem]:
        """Claim deliveries due now; a claim lapses after a minute if never settled."""
        async with self.sessions.begin() as s:
            rows = await claim_rows(
                s,
                WebhookDelivery,
                pending=WebhookDelivery.delivered_at.is_(None),
                due=WebhookDelivery.next_try_at <= now,
                now=now,
                lease=WEBHOOK_LEASE,
                limit=limit,
            )
            return [WebhookItem(row.id, row.key, row.body, row.attempts + 1) for row in rows]

    @retrying
    async def webhook_delivered(self, item_id: int, status: int, at: datetime) -> None:
        async with self.sessions.begin() as s:
            row = await s.get(WebhookDelivery, item_id)
            if row is not None:
                row.delivered_at = at
                row.last_status = status
                row.error = None

    @retrying
    async def webhook_failed(
        self, item_id: int, error: str, at: datetime, status: int | None = None
    ) -> None:
        async with self.sessions.begin() as s:
            row = await s.get(WebhookDelivery, item_id)
            if row is None:
                return
            row.error = error[:500]
            row.last_status = status
            if row.attempts >= WEBHOOK_MAX_ATTEMPTS:
                row.claimed_until = NEVER  # given up: kept for the record, never retried
                log.error(
                    "webhook: giving up on %s after %d tries: %s", row.key, row.attempts, error
                )
            else:
                row.claimed_until = None
                row.next_try_at = at + webhook_backoff(row.attempts)
                log.warning(
                    "webhook: %s failed (try %d: %s); retrying at %s",
                    row.key,
                    row.attempts,
                    error[:200],
                    row.next_try_at.isoformat(),
                )

    async def webhook_deliveries(self) -> list[tuple[str, int, datetime | None]]:
        """Return (key, attempts, delivered at) of every webhook delivery, for tests."""
        async with self.sessions() as s:
            rows = await s.execute(
                select(
                    WebhookDelivery.key, WebhookDelivery.attempts, WebhookDelivery.delivered_at
                ).order_by(WebhookDelivery.id)
            )
            return [(k, a, d) for k, a, d in rows]
