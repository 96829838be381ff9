"""Periodic jobs on APScheduler: the SLA sweep, the outbox, digests and the retention purge.

The jobs keep no state of their own: deadlines, the notification ledger and the outbox
live in the database, so a restart loses nothing and several instances share the work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Runtime
from bot.bureau_webhook import deliver_webhooks
from bot.clock import utc_now
from bot.db import make_sessions
from bot.monitoring import report
from escalation.digests.schedule import parse_cron
from escalation.privacy import scheduled_purge

log = logging.getLogger(__name__)
# APScheduler logs every run of every job at INFO; a sweep each few seconds is not news.
logging.getLogger("apscheduler").setLevel(logging.WARNING)
PURGE_CHECK_SECONDS = 300


def _guarded(
    name: str, job: Callable[[], Awaitable[object]], running: set[asyncio.Task[object]]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await job()
        except Exception as exc:  # one failed run must not stop the next
            log.warning("job %s failed; it runs again at its next interval", name)
            report(exc)
        finally:
            if task is not None:
                running.discard(task)

    return run


class Jobs:
    def __init__(
        self,
        runtime: Runtime,
        dispatch: Callable[[datetime], Awaitable[int]] | None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.running: set[asyncio.Task[object]] = set()
        self.scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        settings = runtime.settings
        now: datetime = utc_now()
        self.scheduler.add_job(
            _guarded("sla-sweep", self.sweep, self.running),
            "interval",
            seconds=settings.sla_sweep_seconds,
            id="sla-sweep",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        # Due digests are computed from their cron expressions and the ledger, so a check
        # every half minute sends each on time, and one at start-up sends what was missed.
        self.scheduler.add_job(
            _guarded("digests", self.digests, self.running),
            "interval",
            seconds=settings.digest_check_seconds,
            id="digests",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        # The purge is due once a day (HELPDESK_PURGE_CRON); a look every few minutes starts
        # it soon after its time, and one at start-up runs a slot missed while down.
        if settings.retention_days > 0 and settings.purge_cron:
            self.scheduler.add_job(
                _guarded("privacy-purge", self.purge, self.running),
                "interval",
                seconds=PURGE_CHECK_SECONDS,
                id="privacy-purge",
                max_instances=1,
                coalesce=True,
                next_run_time=now,
            )
        if dispatch is not None:
            self.scheduler.add_job(
                _guarded("outbox", lambda: dispatch(self.clock()), self.running),
                "interval",
                seconds=settings.outbox_poll_seconds,
                id="outbox",
                max_instances=1,
                coalesce=True,
                next_run_time=now,
            )

    async def sweep(self) -> int:
        now = utc_now()
        fired = await self.runtime.desk.sla.sweep(now)
        if fired:
            log.info("sla: %d notification(s) due", fired)
        steps = await self.runtime.incidents.sweep(now)
        if steps:
            log.info("incidents: %d plan step(s) fired", steps)
        return fired + steps

    async def digests(self) -> int:
        """Queue the digests due now, and deliver what the bureau's webhook is owed."""
        now = self.clock()
        queued = await self.runtime.digests.run_due(now)
        settings = self.runtime.settings
        if settings.bureau_webhook_url and settings.bureau_webhook_secret is not None:
            await deliver_webhooks(
                self.runtime.digests,
                settings.bureau_webhook_url,
                settings.bureau_webhook_secret.get_secret_value(),
                now,
            )
        return queued

    async def purge(self) -> int:
        """Apply the retention period, once per HELPDESK_PURGE_CRON slot across instances
        (the slot's ledger row in privacy_audit); return how many rows changed."""
        settings = self.runtime.settings
        if settings.retention_days <= 0 or not settings.purge_cron:
            return 0
        done = await scheduled_purge(
            make_sessions(self.runtime.db),
            parse_cron(settings.purge_cron),
            timedelta(days=settings.retention_days),
            self.clock(),
        )
        return 0 if done is None else done.counts.total

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling, and stop a job that is still running (its work is in the
        database: the next start picks up where it left off)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
