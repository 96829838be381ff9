"""Incident benchmark: what the emergency plan adds to every inbound message.

    python -m benchmarks.incidents [--messages 5000] [--signals 2000] [--postgres URL]

1. `keys_for_text` + `notice_for` (the two calls each message makes) over `--messages`
   ordinary messages, with no incident open and with three open: microseconds a message.
2. `observe` for messages that carry a high-risk phrase (one transaction: a signal row and
   a windowed count per matching trigger), after 100,000 older signals are in the table:
   signals/s and p99, and the same for tickets of a watched category.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.db import create_database, drop_database, make_engine, make_sessions, upgrade
from escalation.incidents.plan import load_plan
from escalation.incidents.service import Incidents
from escalation.routing import Actor, Routes
from storage.models import IncidentSignal

QUESTIONS = (
    "以旧换新补贴怎么领",
    "补贴券什么时候到账",
    "一级能效的空调补贴多少",
    "商户怎么报名参加活动",
    "退货以后补贴会退回吗",
    "我在门店买的冰箱能用券吗",
)
NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]


async def run(url: str, label: str, messages: int, signals: int) -> None:
    await asyncio.to_thread(upgrade, url)
    db = make_engine(url)
    sessions = make_sessions(db)
    routes = Routes(agents=1, supervisors=2, bureau=3)
    incidents = Incidents(sessions, load_plan(), routes)
    try:
        texts = [QUESTIONS[n % len(QUESTIONS)] + f" 第{n}次" for n in range(messages)]
        for open_now in (0, 3):
            if open_now:
                actor = Actor("agent:1", "值班", "supervisor")
                for n, category in enumerate(("系统故障", "补贴未到账", "个人信息")):
                    await incidents.declare("Ⅳ", f"测试事件{n}", actor, NOW, category=category)
            started = time.perf_counter()
            for text in texts:
                incidents.keys_for_text(text)
                await incidents.notice_for(text)
            per = (time.perf_counter() - started) / messages * 1e6
            print(f"{label}: per message, {open_now} open: {per:.1f} µs (keys + notice)")

        async with sessions.begin() as s:
            old = NOW - timedelta(days=3)
            rows = [
                {"key": f"category:类别{n % 40}", "user_id": n, "at": old + timedelta(seconds=n)}
                for n in range(100_000)
            ]
            for start in range(0, len(rows), 5000):
                await s.execute(insert(IncidentSignal), rows[start : start + 5000])
        for what, keys in (
            ("phrase signal", incidents.keys_for_text("我的身份证号被泄露了")),
            ("ticket signal", incidents.keys_for_ticket("补贴未到账", None)),
        ):
            samples: list[float] = []
            started = time.perf_counter()
            for n in range(signals):
                # Spread in time so no trigger's threshold is reached: the common case.
                at = NOW + timedelta(hours=n)
                t0 = time.perf_counter()
                await incidents.observe(keys, at, user_id=n)
                samples.append(time.perf_counter() - t0)
            rate = signals / (time.perf_counter() - started)
            print(
                f"{label}: observe ({what}, 100k old signals): {rate:.0f}/s, "
                f"p50 {statistics.median(samples) * 1e3:.2f} ms, p99 {_p99(samples) * 1e3:.2f} ms"
            )
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL to run on as well")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await run(url, "SQLite", args.messages, args.signals)
    if args.postgres:
        name = f"helpdesk_bench_{secrets.token_hex(4)}"
        url = await create_database(args.postgres, name)
        try:
            await run(url, "PostgreSQL", args.messages, args.signals)
        finally:
            await drop_database(args.postgres, name)


if __name__ == "__main__":
    asyncio.run(main())
