"""Updates from the emulator: long polling, allowed updates, privacy mode in groups,
webhooks, and a whole python-telegram-bot ``Application``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import Conflict
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.support.botapi import BotApiEmulator
from tests.support.botapi.samples import FEEDBACK, TOKEN

# ------------------------------------------------------------------------------ updates


async def test_get_updates_offset_and_long_poll(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    await chat.send("你好")
    await chat.send("/start")
    await chat.send("/status T1")

    updates = await bot.get_updates(timeout=0)
    ids = [u.update_id for u in updates]
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    assert [u.message.text for u in updates if u.message] == ["你好", "/start", "/status T1"]
    status = updates[2].message
    assert status is not None
    assert status.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 7),)
    assert status.date.timestamp() == int(status.date.timestamp())
    assert updates[0].message is not None
    assert updates[0].message.entities == ()

    # Nothing is confirmed until a later call passes a higher offset.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], timeout=0)] == ids[1:]
    assert [u["update_id"] for u in emu.pending_updates()] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(limit=1, timeout=0)] == [ids[1]]

    # Confirm everything; a long poll then waits for its timeout ...
    started = time.monotonic()
    assert await bot.get_updates(offset=ids[2] + 1, timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3
    assert emu.pending_updates() == []

    # ... unless an update arrives, which wakes it at once.
    poll = asyncio.create_task(bot.get_updates(offset=ids[2] + 1, timeout=5))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await chat.send("还在吗")
    (woken,) = await asyncio.wait_for(poll, timeout=3)
    assert time.monotonic() - started < 1
    assert woken.update_id == ids[2] + 1
    assert woken.message is not None
    assert woken.message.text == "还在吗"

    # Confirmed updates never come back, even without an offset.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [woken.update_id]


async def test_allowed_updates_filter_and_concurrent_polls(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    await bot.send_message(chat.id, "请评价", reply_markup=FEEDBACK)
    await chat.press("有帮助")
    await chat.send("文字")
    updates = await bot.get_updates(timeout=0, allowed_updates=[Update.MESSAGE])
    assert [u.message.text for u in updates if u.message] == ["文字"]
    assert len(updates) == 1  # the callback query was dropped, as the real server does

    # A second bot instance polling terminates the first one's long poll, as on Telegram.
    offset = updates[0].update_id + 1
    async with Bot(TOKEN, base_url=emu.base_url) as second_instance:
        first = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
        await asyncio.sleep(0.2)
        assert await second_instance.get_updates(offset=offset, timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, timeout=3)


async def test_group_members_and_privacy_mode(bot: Bot, emu: BotApiEmulator) -> None:
    group = emu.group(chat_id=-100123, title="客服坐席")
    agent = group.member(user_id=7, first_name="坐席A")

    chatter = await agent.send("大家早上好")
    assert chatter.update_id is None  # privacy mode: the bot does not see ordinary messages
    command = await agent.send("/take@helpdesk_test_bot T1")
    other_bot = await agent.send("/take@some_other_bot T1")
    assert other_bot.update_id is None
    ticket = await bot.send_message(group.id, "新工单 T2：用户询问补贴到账时间")
    answer = await agent.send("我来处理", reply_to=ticket.message_id)

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [command.update_id, answer.update_id]
    take = updates[0].message
    assert take is not None
    assert take.chat.type == "supergroup"
    assert take.from_user is not None
    assert take.from_user.first_name == "坐席A"
    assert take.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 23),)
    reply = updates[1].message
    assert reply is not None
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == ticket.message_id
    assert (await group.next_reply(timeout=1)).text == "新工单 T2：用户询问补贴到账时间"
    assert [m.message_id for m in agent.messages] == [1, 2, 3, 5]


# ------------------------------------------------------------------------------ webhooks


async def test_webhook_delivery_with_secret_and_retry(bot: Bot, emu: BotApiEmulator) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    attempts = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return web.Response(status=500)  # the emulator must retry
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token="s3cr3t-Token_1") is True
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates(timeout=0)

        chat = emu.private_chat(user_id=5512, first_name="小明")
        sent = await chat.send("/start")
        await emu.wait_idle(timeout=5)
        assert attempts == 2
        assert received == [("s3cr3t-Token_1", {"update_id": sent.update_id, "message": sent.raw})]
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert emu.webhook_failures == []

        assert await bot.delete_webhook() is True
        await chat.send("又来了")
        (update,) = await bot.get_updates(timeout=0)
        assert update.message is not None
        assert update.message.text == "又来了"
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------ Application


async def test_application_user_journey(emu: BotApiEmulator) -> None:
    async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(
            "请问这个回答有帮助吗？",
            reply_markup=InlineKeyboardMarkup(FEEDBACK.inline_keyboard[:1]),
        )

    async def feedback(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("感谢反馈")
        await query.edit_message_text(
            "已记录：" + ("有帮助" if query.data == "fb:yes" else "没帮助")
        )

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(feedback, pattern="^fb:"))

    chat = emu.private_chat(user_id=5512, first_name="小明")
    async with asyncio.timeout(20):
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            await chat.send("/start")
            reply = await chat.next_reply(timeout=5)
            assert reply.text == "请问这个回答有帮助吗？"
            assert reply.buttons == ["有帮助", "没帮助"]

            press = await chat.press("有帮助")
            assert (await press.wait_answer(timeout=5))["text"] == "感谢反馈"
            await emu.wait_idle(timeout=5)
            assert reply.text == "已记录：有帮助"
            assert reply.edits == ["已记录：有帮助"]
            assert reply.buttons == []
            await chat.assert_no_reply(within=0.1)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()

    assert emu.pending_updates() == []
    assert emu.failed_calls == []
    methods = [name for name, _ in emu.calls if name != "getUpdates"]
    assert methods == [
        "getMe",
        "deleteWebhook",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
    ]
