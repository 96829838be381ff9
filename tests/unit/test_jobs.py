"""The periodic jobs: one run of a job at a time in a process, asked for or scheduled."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from bot.scheduler import Jobs


def _jobs() -> Jobs:
    settings = SimpleNamespace(
        sla_sweep_seconds=3600.0, digest_check_seconds=3600.0, retention_days=0, purge_cron=""
    )
    runtime: Any = SimpleNamespace(settings=settings)
    return Jobs(runtime, None)


async def test_a_job_asked_for_twice_at_once_runs_one_after_the_other() -> None:
    jobs = _jobs()
    inside, most = 0, 0

    async def probe() -> int:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.05)
        inside -= 1
        return 1

    jobs._add("probe", probe, 3600)
    assert list(await asyncio.gather(jobs.run_now("probe"), jobs.run_now("probe"))) == [1, 1]
    assert most == 1
