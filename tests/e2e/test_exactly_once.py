"""Every message answered exactly once: a Telegram burst through SIGKILL, a web retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.serve import Server
from handlers import texts
from storage.models import Message
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import start_bot

BURST_USERS = 60
BURST_EACH = 5  # 300 updates in all


async def test_sigkill_mid_burst_of_300_answers_every_update_exactly_once(
    emulator: BotApiEmulator, database_url: str
) -> None:
    chats = [emulator.private_chat(user_id=5000 + i) for i in range(BURST_USERS)]
    questions = ["补贴怎么领", "退款以后补贴还在吗", "能买几台", "谢谢", "你好"]
    bot = await start_bot(emulator, database_url)
    try:
        for chat in chats:
            await chat.send(texts.CHOICE_CONSUMER)
        await emulator.wait_until(
            lambda: all(emulator.sent_messages(c.user_id) for c in chats), 60, "first replies"
        )
        # The burst: 300 updates waiting at once. Part way through the answers, sending
        # freezes, and the process dies with one reply on its way and most not yet sent.
        before = len(emulator.calls_to("sendMessage"))
        for q in questions:
            for chat in chats:
                await chat.send(q)
        await emulator.wait_until(
            lambda: len(emulator.calls_to("sendMessage")) >= before + 60, 60, "60 replies"
        )
        emulator.hold("sendMessage")
        await emulator.wait_holding(1, timeout=30)
        bot.kill()
        await bot.wait()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    emulator.release()
    answered_before_restart = len(emulator.calls_to("sendMessage"))
    assert answered_before_restart < before + BURST_USERS * BURST_EACH, "the burst was done"

    bot = await start_bot(emulator, database_url)
    try:
        # The rest go out after restart, from the outbox (claims of the dead process lapse).
        def replies_per_chat() -> list[int]:
            return [len(emulator.sent_messages(c.user_id)) for c in chats]

        await emulator.wait_until(
            lambda: sum(replies_per_chat()) >= BURST_USERS * (1 + BURST_EACH), 120, "all replies"
        )
        await emulator.wait_idle(timeout=30, settle=1.5)
    finally:
        bot.terminate()
        await bot.wait()
    for chat in chats:
        sent = [m.text for m in emulator.sent_messages(chat.user_id)]
        # One reply for each update: the role, then an answer (or a choice) per question.
        assert len(sent) == 1 + BURST_EACH, (chat.user_id, sent)
        assert sent[0] == texts.ROLE_SET["consumer"]
    assert not emulator.pending_updates()


async def _post(
    http: aiohttp.ClientSession, srv: Server, body: dict[str, Any], give_up: float | None = None
) -> tuple[int, Any]:
    async with http.post(
        srv.url + "api/messages",
        json=body,
        timeout=aiohttp.ClientTimeout(total=give_up) if give_up else None,
    ) as resp:
        return resp.status, await resp.json()


def _slow(op: Callable[..., Awaitable[Any]], delay: float) -> Callable[..., Awaitable[Any]]:
    async def slowed(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(delay)
        return await op(*args, **kwargs)

    return slowed


async def test_a_web_retry_after_a_client_timeout_gets_the_reply_it_never_saw(
    server: Server,
) -> None:
    assert server.runtime is not None
    store = server.runtime.store
    async with aiohttp.ClientSession() as http:
        status, _ = await _post(http, server, {"session": "r1", "text": texts.CHOICE_CONSUMER})
        assert status == 200
        # The server is slow to store this one; the client gives up before it answers.
        record = store.record
        store.record = _slow(record, 1.0)  # type: ignore[method-assign]
        body = {"session": "r1", "text": "补贴怎么领", "id": "m-2"}
        try:
            await _post(http, server, body, give_up=0.3)
            raise AssertionError("the client should have timed out")
        except TimeoutError:
            pass
        await asyncio.sleep(1.5)  # the server finished and stored it meanwhile
        store.record = record  # type: ignore[method-assign]
        status, retried = await _post(http, server, body)
        assert status == 200
        [answer] = retried["replies"]
        assert "龙华惠购" in answer["text"]
        assert answer["choices"] == list(texts.FEEDBACK_CHOICES)
        # Asked again, the same answer again; and a new id is a new question.
        assert (await _post(http, server, body))[1] == retried
        status, fresh = await _post(http, server, {**body, "id": "m-3"})
        assert status == 200
        assert fresh["replies"]
    async with server.runtime.store._sessions() as s:
        inbound = (
            await s.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == "in", Message.text == "补贴怎么领")
            )
        ).scalar_one()
    assert inbound == 2  # m-2 once, m-3 once
