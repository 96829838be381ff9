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
from bot.clock import SYSTEM_CLOCK, Clock
from bot.db import make_sessions
from bot.monitoring import report
from escalation.digests.cron import parse_cron
from escalation.privacy.purge import scheduled_purge

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
    """The periodic jobs, each reading the one clock the server was given.

    APScheduler fires them on the wall clock; what a job decides (what is due, what is
    overdue) reads `clock`. Tests move a ManualClock and call `run_now` instead of waiting
    for the next interval."""

    def __init__(
        self,
        runtime: Runtime,
        dispatch: Callable[[datetime], Awaitable[int]] | None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.running: set[asyncio.Task[object]] = set()
        self.scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        self._jobs: dict[str, Callable[[], Awaitable[int]]] = {}
        settings = runtime.settings
        self._add("sla-sweep", self.sweep, settings.sla_sweep_seconds)
        # Due digests are computed from their cron expressions and the ledger, so a check
        # every half minute sends each on time, and one at start-up sends what was missed.
        self._add("digests", self.digests, settings.digest_check_seconds)
        # The purge is due once a day (HELPDESK_PURGE_CRON); a look every few minutes starts
        # it soon after its time, and one at start-up runs a slot missed while down.
        if settings.retention_days > 0 and settings.purge_cron:
            self._add("privacy-purge", self.purge, PURGE_CHECK_SECONDS)
        if dispatch is not None:
            self._add("outbox", lambda: dispatch(self.clock.now()), settings.outbox_poll_seconds)

    def _add(self, name: str, job: Callable[[], Awaitable[int]], seconds: float) -> None:
        # One run of a job at a time in this process: a run asked for now (run_now) waits
        # for the scheduled one, so the two never queue the same notice twice.
        lock = asyncio.Lock()

        async def one_at_a_time() -> int:
            async with lock:
                return await job()

        self._jobs[name] = one_at_a_time
        self.scheduler.add_job(
            _guarded(name, one_at_a_time, self.running),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            # The trigger is APScheduler's, on the wall clock: the first run at start-up.
            next_run_time=SYSTEM_CLOCK.now(),
        )

    async def run_now(self, name: str) -> int:
        """Run one job once, now, and return its count; its failure is raised, not logged.

        For tests that moved the clock: the scheduled runs go on as before."""
        job = self._jobs.get(name)
        if job is None:
            raise KeyError(f"no job {name!r}: the jobs are {', '.join(sorted(self._jobs))}")
        return await job()

    async def sweep(self) -> int:
        now = self.clock.now()
        fired = await self.runtime.desk.sla.sweep(now)
        if fired:
            log.info("sla: %d notification(s) due", fired)
        steps = await self.runtime.incidents.sweep(now)
        if steps:
            log.info("incidents: %d plan step(s) fired", steps)
        return fired + steps

    async def digests(self) -> int:
        """Queue the digests due now, and deliver what the bureau's webhook is owed."""
        now = self.clock.now()
        queued = await self.runtime.digests.run_due(now)
        settings = self.runtime.settings
        if settings.bureau_webhook_url and settings.bureau_webhook_secret is not None:
            await deliver_webhooks(
                self.runtime.digests,
                settings.bureau_webhook_url,
                settings.bureau_webhook_secret.get_secret_value(),
                now,
                settled=self.runtime.incidents.after_webhook,
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
            self.clock.now(),
            files=self.runtime.files.folder,
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
