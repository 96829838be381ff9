"""Throughput benchmark: a burst of messages from many users through the web API (and the
Telegram path when the test suite's Bot API emulator is importable).

    python -m benchmarks.throughput [--messages 2000] [--users 200] [--database-url URL]

Reports messages/s and p99 reply latency; checks every message was answered once and stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Settings
from bot.db import create_database, drop_database
from bot.serve import Server
from knowledge.kb import BUNDLED_KB, BUNDLED_QUERIES

QUESTIONS = [
    json.loads(line)["query"]
    for line in BUNDLED_QUERIES.read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def _settings(database_url: str, **extra: Any) -> Settings:
    return Settings(
        kb_path=BUNDLED_KB,
        database_url=database_url,
        web_host="127.0.0.1",
        web_port=0,
        _env_file=None,  # type: ignore[call-arg]
        **extra,
    )


def _plan(messages: int, users: int, seed: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    per_user: list[list[str]] = [["我是消费者"] for _ in range(users)]
    for i in range(messages - users):
        per_user[i % users].append(rng.choice(QUESTIONS))
    return per_user


def _summary(latencies: list[float], seconds: float, stored: dict[str, int]) -> dict[str, Any]:
    latencies.sort()
    return {
        "messages": len(latencies),
        "seconds": round(seconds, 2),
        "messages_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "stored": stored,
    }


async def web_burst(database_url: str, messages: int, users: int) -> dict[str, Any]:
    """Each user sends its messages in order; all users at once."""
    server = Server(_settings(database_url))
    await server.start()
    latencies: list[float] = []
    unanswered = 0
    try:
        connector = aiohttp.TCPConnector(limit=0)  # one connection a user, as 200 phones
        async with aiohttp.ClientSession(connector=connector) as http:

            async def user(n: int, texts: Sequence[str]) -> None:
                nonlocal unanswered
                for i, text in enumerate(texts):
                    t0 = time.perf_counter()
                    body = {"session": f"bench{n}", "text": text, "id": f"m{i}"}
                    async with http.post(server.url + "api/messages", json=body) as resp:
                        data = await resp.json()
                    latencies.append(time.perf_counter() - t0)
                    if resp.status != 200 or not data.get("replies"):
                        unanswered += 1

            start = time.perf_counter()
            plan = _plan(messages, users)
            await asyncio.gather(*(user(n, texts) for n, texts in enumerate(plan)))
            seconds = time.perf_counter() - start
        assert server.runtime is not None
        stored = await server.runtime.store.counts()
    finally:
        await server.stop()
    report = _summary(latencies, seconds, stored)
    report["unanswered"] = unanswered
    report["every_message_stored"] = stored["messages"] >= 2 * messages - unanswered
    return report


async def telegram_burst(database_url: str, messages: int, users: int) -> dict[str, Any]:
    """The same burst through the real Telegram Application and the test Bot API emulator."""
    from tests.support.botapi import BotApiEmulator  # the test suite's emulator, on loopback

    token = "123456:BENCH"
    emu = BotApiEmulator(token=token)
    await emu.start()
    server = Server(_settings(database_url, telegram_token=token, telegram_base_url=emu.base_url))
    await server.start()
    latencies: list[float] = []
    try:

        async def user(n: int, texts: Sequence[str]) -> None:
            chat = emu.private_chat(user_id=10_000 + n)
            for text in texts:
                t0 = time.perf_counter()
                await chat.send(text)
                await chat.next_reply(timeout=120)
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        plan = _plan(messages, users)
        await asyncio.gather(*(user(n, texts) for n, texts in enumerate(plan)))
        seconds = time.perf_counter() - start
        await emu.wait_idle(timeout=30)
        sent = sum(len(emu.sent_messages(10_000 + n)) for n in range(users))
        assert server.runtime is not None
        stored = await server.runtime.store.counts()
    finally:
        await server.stop()
        await emu.stop()
    report = _summary(latencies, seconds, stored)
    report["replies_sent"] = sent
    report["answered_exactly_once"] = sent == messages
    report["every_message_stored"] = stored["messages"] == 2 * messages
    return report


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"}
        scratch = f"helpdesk_bench_{secrets.token_hex(4)}"
        if args.postgres:
            urls["postgresql"] = await create_database(args.postgres, scratch)
        try:
            for name, url in urls.items():
                out[f"web_{name}"] = await web_burst(url, args.messages, args.users)
            for name, url in urls.items():
                fresh = url.replace("bench.db", "bench-telegram.db")
                if name == "postgresql":
                    await drop_database(args.postgres, scratch)
                    fresh = await create_database(args.postgres, scratch)
                out[f"telegram_{name}"] = await telegram_burst(fresh, args.messages, args.users)
        finally:
            if args.postgres:
                await drop_database(args.postgres, scratch)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--postgres",
        help="also run on PostgreSQL: a server URL (a scratch database is made beside it), "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args)), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
