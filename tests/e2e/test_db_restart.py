"""PostgreSQL restarted under a stream of messages: every one answered, none lost or doubled.

These tests run a PostgreSQL cluster of their own (tests/support/pg_cluster.py: initdb and
pg_ctl in a temporary folder, on a free port), never the machine's server, and stop and
start it while web and Telegram messages keep coming.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.serve import Server
from handlers import texts
from storage import retry as store_module
from storage.models import Message
from tests.support.botapi import BotApiEmulator
from tests.support.pg_cluster import OwnCluster
from tests.support.servers import running_server

pytestmark = pytest.mark.postgres  # a cluster of its own, stopped and started

QUESTIONS = itertools.cycle(["补贴怎么领", "退款以后补贴还在吗", "能买几台", "补贴什么时候到账"])


@pytest.fixture
async def cluster() -> AsyncIterator[OwnCluster]:
    try:
        pg = OwnCluster()
        await asyncio.to_thread(pg.init)
        await asyncio.to_thread(pg.start)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot run a PostgreSQL cluster of the test's own: {exc}")
    try:
        yield pg
    finally:
        await asyncio.to_thread(pg.remove)


@pytest.fixture
async def pg_server(cluster: OwnCluster, emulator: BotApiEmulator) -> AsyncIterator[Server]:
    async with running_server(cluster.url, emulator) as srv:
        yield srv


async def _restart(cluster: OwnCluster, down: float) -> None:
    await asyncio.to_thread(cluster.stop, "fast")  # ends every session, as an admin would
    await asyncio.sleep(down)  # connections are refused meanwhile
    await asyncio.to_thread(cluster.start)


async def _inbound(srv: Server) -> int:
    assert srv.runtime is not None
    async with srv.runtime.store._sessions() as s:
        return int(
            (
                await s.execute(
                    select(func.count()).select_from(Message).where(Message.direction == "in")
                )
            ).scalar_one()
        )


async def _web_user(
    http: aiohttp.ClientSession, srv: Server, name: str, stop: asyncio.Event
) -> list[tuple[int, Any]]:
    seen: list[tuple[int, Any]] = []
    for n in itertools.count():
        if stop.is_set():
            break
        text = texts.CHOICE_CONSUMER if n == 0 else next(QUESTIONS)
        body = {"session": name, "text": text, "id": f"{name}-{n}"}
        async with http.post(srv.url + "api/messages", json=body) as resp:
            seen.append((resp.status, await resp.json()))
        await asyncio.sleep(0.05)
    return seen


async def test_web_and_telegram_messages_during_a_postgresql_restart_are_all_answered(
    cluster: OwnCluster, pg_server: Server, emulator: BotApiEmulator
) -> None:
    stop = asyncio.Event()
    chats = [emulator.private_chat(user_id=8100 + i) for i in range(8)]
    for chat in chats:
        await chat.send(texts.CHOICE_CONSUMER)
    sent_tg = len(chats)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        users = [asyncio.create_task(_web_user(http, pg_server, f"w{i}", stop)) for i in range(6)]
        await asyncio.sleep(1.0)
        restart = asyncio.create_task(_restart(cluster, down=3.0))
        # Telegram updates keep arriving while the database is away.
        while not restart.done():
            for chat in chats:
                await chat.send(next(QUESTIONS))
                sent_tg += 1
            await asyncio.sleep(0.4)
        await restart
        await asyncio.sleep(1.5)
        stop.set()
        results = [r for task in users for r in await task]
    statuses = [status for status, _ in results]
    assert statuses, statuses
    assert set(statuses) == {200}, statuses  # waited, then answered
    assert all(body["replies"] for _, body in results)
    await emulator.wait_until(
        lambda: sum(len(emulator.sent_messages(c.user_id)) for c in chats) >= sent_tg,
        60,
        "every Telegram update answered",
    )
    await emulator.wait_idle(timeout=30, settle=1.0)
    for chat in chats:
        replies = emulator.sent_messages(chat.user_id)
        assert len(replies) == len(chat.messages), (chat.user_id, [m.text for m in replies])
    assert not emulator.pending_updates()
    assert await _inbound(pg_server) == len(results) + sent_tg  # each stored once


async def test_a_longer_outage_tells_the_user_to_retry_and_the_retry_is_answered_once(
    cluster: OwnCluster, pg_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.1, 0.2, 0.3))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        url = pg_server.url + "api/messages"
        async with http.post(url, json={"session": "o1", "text": texts.CHOICE_CONSUMER}) as r:
            assert r.status == 200
        await asyncio.to_thread(cluster.stop, "fast")
        body = {"session": "o1", "text": "补贴怎么领", "id": "o1-2"}
        async with http.post(url, json=body) as r:
            refused = (r.status, await r.json())
        await asyncio.to_thread(cluster.start)
        async with http.post(url, json=body) as r:
            retried = (r.status, await r.json())
    assert refused == (503, {"error": texts.DATABASE_AWAY}), refused
    assert retried[0] == 200, retried
    assert "龙华惠购" in retried[1]["replies"][0]["text"], retried
    assert await _inbound(pg_server) == 2  # nothing half-written by the refused attempt
