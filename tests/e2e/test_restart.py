"""Restart safety: `helpdesk serve` killed with SIGKILL mid-burst loses and doubles nothing."""

from __future__ import annotations

import asyncio

import pytest

from handlers import texts
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import start_bot

USERS = 12


async def test_sigkill_mid_burst_then_restart_answers_every_update_once(
    emulator: BotApiEmulator, database_url: str
) -> None:
    if "postgresql" in database_url:
        pytest.skip("one restart run, on SQLite, is enough; storage runs on both elsewhere")
    chats = [emulator.private_chat(user_id=3000 + i) for i in range(USERS)]
    bot = await start_bot(emulator, database_url)
    try:
        # Half the users finish a first exchange normally.
        for chat in chats[: USERS // 2]:
            await chat.send(texts.CHOICE_CONSUMER)
        for chat in chats[: USERS // 2]:
            await chat.next_reply(timeout=30)
        # Then a burst arrives; after a few of its replies went out, the rest are frozen on
        # their way, and the process dies holding a batch it has stored and partly answered
        # but not yet confirmed: on restart Telegram redelivers the whole batch.
        sent_before = len(emulator.calls_to("sendMessage"))
        for chat in chats:
            await chat.send(texts.CHOICE_CONSUMER if chat in chats[USERS // 2 :] else "补贴怎么领")
        await emulator.wait_until(
            lambda: len(emulator.calls_to("sendMessage")) >= sent_before + 3, 30, "3 replies"
        )
        emulator.hold("sendMessage")
        await emulator.wait_holding(1, timeout=30)
        await asyncio.sleep(0.5)  # let the delivered replies be marked as sent
        bot.kill()
        await bot.wait()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    emulator.release()
    bot = await start_bot(emulator, database_url)
    try:
        for chat in chats:
            await chat.send("退款以后补贴还在吗")
        # Replies the dead process had claimed go out once its claims lapse, first.
        await emulator.wait_until(
            lambda: all(
                len(emulator.sent_messages(3000 + i)) >= (3 if i < USERS // 2 else 2)
                for i in range(USERS)
            ),
            90,
            "every reply",
        )
        await emulator.wait_idle(timeout=60, settle=1.0)
    finally:
        bot.terminate()
        await bot.wait()

    for i in range(USERS):
        sent = [m.text or "" for m in emulator.sent_messages(3000 + i)]
        expected = 3 if i < USERS // 2 else 2
        assert len(sent) == expected, (i, sent)  # none lost, none doubled
        assert sent[0] == texts.ROLE_SET["consumer"]
        if i < USERS // 2:  # in the order they were asked, across the restart
            assert "龙华惠购" in sent[1], (i, sent)
            assert "退款" in sent[2], (i, sent)
    assert not emulator.pending_updates()
