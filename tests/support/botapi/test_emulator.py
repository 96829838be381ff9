"""The Bot API emulator, driven by python-telegram-bot's own ``Bot`` and ``Application``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from tests.support.botapi import BotApiEmulator, make_png, running_emulator

TOKEN = "123456:TEST"
FEEDBACK = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("有帮助", callback_data="fb:yes"),
            InlineKeyboardButton("没帮助", callback_data="fb:no"),
        ],
        [InlineKeyboardButton("政策原文", url="https://example.gov.cn/policy")],
    ]
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with running_emulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as ptb_bot:
        yield ptb_bot


async def _raw(
    emu: BotApiEmulator, method: str, *, token: str = TOKEN, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """Call the emulator without PTB, to check HTTP status codes and envelopes exactly."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# ------------------------------------------------------------------------------ basics


async def test_get_me_returns_the_full_bot_user(bot: Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == 123456
    assert me.username == "helpdesk_test_bot"
    assert me.first_name == "补贴客服"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert bot.username == "helpdesk_test_bot"
    assert ("getMe", {}) in emu.calls


async def test_wrong_token_is_rejected_as_ptb_expects(emu: BotApiEmulator) -> None:
    requests = (HTTPXRequest(), HTTPXRequest())
    wrong = Bot(
        "999:WRONG", base_url=emu.base_url, request=requests[0], get_updates_request=requests[1]
    )
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await wrong.initialize()
    finally:
        for request in requests:
            await request.shutdown()


async def test_http_envelopes_match_the_bot_api(emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")

    assert await _raw(emu, "getMe", token="999:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await _raw(emu, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert emu.unknown_methods == ["sendTelepathy"]
    assert await _raw(emu, "sendMessage", json={"text": "hi"}) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"},
    )
    status, body = await _raw(
        emu, "sendMessage", data={"chat_id": "5512", "text": "hi", "reply_markup": "{oops"}
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    )

    # JSON bodies work as well as form encoding, and dates are Unix seconds.
    status, body = await _raw(emu, "sendMessage", json={"chat_id": chat.id, "text": "你好"})
    assert status == 200 and body["ok"] is True
    message = body["result"]
    assert isinstance(message["date"], int)
    assert abs(message["date"] - time.time()) < 5
    assert message["from"]["is_bot"] is True
    assert message["chat"] == {"id": 5512, "type": "private", "first_name": "小明"}

    form = aiohttp.FormData()
    form.add_field("chat_id", "5512")
    form.add_field("document", b"report", filename="report.txt", content_type="text/plain")
    status, body = await _raw(emu, "sendDocument", data=form)
    assert status == 200
    assert body["result"]["document"]["file_name"] == "report.txt"
    assert [m.kind for m in chat.bot_messages] == ["text", "document"]


# ------------------------------------------------------------------------------ messages


async def test_send_message_with_inline_keyboard(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")

    sent = await bot.send_message(chat.id, "以旧换新补贴可以叠加吗？", reply_markup=FEEDBACK)
    assert sent.from_user is not None and sent.from_user.id == bot.id
    assert sent.chat.id == chat.id
    assert sent.reply_markup == FEEDBACK

    reply = await chat.next_reply(timeout=2)
    assert reply.message_id == sent.message_id
    assert reply.text == "以旧换新补贴可以叠加吗？"
    assert reply.buttons == ["有帮助", "没帮助", "政策原文"]
    assert reply.button_rows == [["有帮助", "没帮助"], ["政策原文"]]
    assert reply.reply_markup == FEEDBACK.to_dict()
    assert reply.button("有帮助")["callback_data"] == "fb:yes"
    assert isinstance(reply.raw["date"], int)

    second = await bot.send_message(chat.id, "还有别的问题吗？")
    assert second.message_id == sent.message_id + 1
    assert (await chat.next_reply(timeout=2)).buttons == []
    await chat.assert_no_reply(within=0.05)

    params = emu.calls_to("sendMessage")[0]
    assert params["chat_id"] == chat.id  # PTB sends "5512"; the emulator coerces like Telegram
    assert params["reply_markup"] == FEEDBACK.to_dict()
    assert emu.sent_messages(chat.id) == chat.bot_messages


async def test_text_is_validated_like_the_bot_api(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")

    longest = await bot.send_message(chat.id, "补" * 4096)
    assert longest.text == "补" * 4096
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(chat.id, "补" * 4097)
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(chat.id, "   \n")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(424242, "你好")

    trimmed = await bot.send_message(chat.id, "\n  请输入 /status 工单号  \n")
    assert trimmed.text == "请输入 /status 工单号"
    assert trimmed.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 4, 7),)

    html = await bot.send_message(chat.id, "<b>注意</b>：a &lt; b", parse_mode=ParseMode.HTML)
    assert html.text == "注意：a < b"
    assert html.entities == (MessageEntity(MessageEntity.BOLD, 0, 2),)
    # PTB drops "Bad Request: " and capitalize()s the rest, which lower-cases it.
    with pytest.raises(BadRequest, match=r'(?i)find end tag corresponding to start tag "b"'):
        await bot.send_message(chat.id, "<b>没闭合", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br" at byte offset 9'):
        await bot.send_message(chat.id, "第一行<br>第二行", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(chat.id, "版本 1.0", parse_mode=ParseMode.MARKDOWN_V2)
    escaped = await bot.send_message(chat.id, "*版本* 1\\.0", parse_mode=ParseMode.MARKDOWN_V2)
    assert escaped.text == "版本 1.0"

    with pytest.raises(BadRequest, match="Button_data_invalid"):
        too_long_data = InlineKeyboardButton("x", callback_data="d" * 65)
        await bot.send_message(chat.id, "hi", reply_markup=InlineKeyboardMarkup([[too_long_data]]))

    keyboard = ReplyKeyboardMarkup([["我是消费者", "我是商户"]], resize_keyboard=True)
    await bot.send_message(chat.id, "请选择身份", reply_markup=keyboard)
    assert chat.reply_keyboard == [["我是消费者", "我是商户"]]
    rejected = [f.description for f in emu.failed_calls]
    assert "Bad Request: message is too long" in rejected


async def test_edit_message_text_not_modified(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    sent = await bot.send_message(chat.id, "正在查询……", reply_markup=FEEDBACK)
    reply = await chat.next_reply(timeout=2)

    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message"):
        await bot.edit_message_text("正在查询……", chat.id, sent.message_id, reply_markup=FEEDBACK)

    edited = await bot.edit_message_text(
        "查询完成", chat.id, sent.message_id, reply_markup=FEEDBACK
    )
    assert not isinstance(edited, bool)
    assert edited.text == "查询完成"
    assert edited.edit_date is not None
    assert reply.text == "查询完成"
    assert reply.original_text == "正在查询……"
    assert reply.edits == ["查询完成"]
    assert reply.buttons == ["有帮助", "没帮助", "政策原文"]

    # Like the real server, an edit without reply_markup removes the inline keyboard.
    await bot.edit_message_text("查询完成。", chat.id, sent.message_id)
    assert reply.buttons == []
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(chat.id, sent.message_id)
    await bot.edit_message_reply_markup(chat.id, sent.message_id, reply_markup=FEEDBACK)
    assert reply.buttons == ["有帮助", "没帮助", "政策原文"]

    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", chat.id, 999)
    assert await bot.delete_message(chat.id, sent.message_id) is True
    assert reply.deleted
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(chat.id, sent.message_id)


async def test_answer_callback_query(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    sent = await bot.send_message(chat.id, "这个回答有帮助吗？", reply_markup=FEEDBACK)

    press = await chat.press("有帮助")
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None
    assert query.id == press.id
    assert query.data == "fb:yes"
    assert query.chat_instance
    assert query.from_user.id == 5512
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.message.date.timestamp() > 0  # an accessible message, not InaccessibleMessage

    assert await bot.answer_callback_query(query.id, text="感谢反馈") is True
    assert press.answer == {"text": "感谢反馈", "show_alert": False}
    assert (await press.wait_answer(timeout=1))["text"] == "感谢反馈"
    with pytest.raises(BadRequest, match=r"^Query is too old and response timeout expired"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match=r"^Query is too old and response timeout expired"):
        await bot.answer_callback_query("1234567890")

    stale = await chat.press_data("bogus", message_id=sent.message_id)
    emu.expire_callback_queries()
    with pytest.raises(BadRequest, match=r"^Query is too old"):
        await bot.answer_callback_query(stale.id)
    with pytest.raises(AssertionError, match="no inline button '没有这个按钮'"):
        await chat.press("没有这个按钮")
    with pytest.raises(AssertionError, match="not a callback button"):
        await chat.press("政策原文")


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
    assert updates[0].message is not None and updates[0].message.entities == ()

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
    assert woken.message is not None and woken.message.text == "还在吗"

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


async def test_user_media_updates_and_file_download(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    await chat.send_sticker()
    await chat.send_photo(caption="发票照片")
    await chat.send_voice(duration=4)
    await chat.send_document("申请表.pdf")

    sticker, photo, voice, document = [u.message for u in await bot.get_updates(timeout=0)]
    assert sticker is not None and sticker.sticker is not None
    assert sticker.sticker.emoji == "👍" and sticker.sticker.width == 512
    assert photo is not None and photo.caption == "发票照片"
    assert [(p.width, p.height) for p in photo.photo][-1] == (1280, 960)
    assert len({p.file_unique_id for p in photo.photo}) == len(photo.photo) > 1
    assert voice is not None and voice.voice is not None and voice.voice.to_dict()["duration"] == 4
    assert document is not None and document.document is not None
    assert document.document.file_name == "申请表.pdf"
    assert document.document.mime_type == "application/pdf"

    file = await bot.get_file(photo.photo[0].file_id)
    data = await file.download_as_bytearray()
    assert bytes(data).startswith(b"\x89PNG")
    assert len(data) == file.file_size
    with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
        await bot.get_file("nonsense")


async def test_bot_uploads_photos_and_documents(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")

    photo = await bot.send_photo(
        chat.id, make_png(64, 48), caption="<b>示意图</b>", parse_mode=ParseMode.HTML
    )
    assert (photo.photo[-1].width, photo.photo[-1].height) == (64, 48)
    assert photo.caption == "示意图"
    sent_photo = await chat.next_reply(timeout=2)
    assert sent_photo.kind == "photo" and sent_photo.caption == "示意图"
    assert sent_photo.upload is not None and sent_photo.upload.content == make_png(64, 48)

    again = await bot.send_photo(chat.id, photo.photo[-1].file_id)
    assert again.photo[-1].file_unique_id != ""
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(chat.id, b"definitely not an image")

    document = await bot.send_document(chat.id, b"col1,col2\n", filename="export.csv")
    assert document.document is not None
    assert document.document.file_name == "export.csv"
    by_url = await bot.send_document(chat.id, "https://example.gov.cn/files/guide.pdf")
    assert by_url.document is not None and by_url.document.file_name == "guide.pdf"
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await bot.send_document(chat.id, "not-a-file-id")
    with pytest.raises(BadRequest, match=r"(?i)^can't use file of type document as photo$"):
        await bot.send_photo(chat.id, document.document.file_id)


async def test_commands_chat_actions_and_chats(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明", username="xiaoming")
    group = emu.group(chat_id=-100123, title="客服坐席")

    commands = [BotCommand("start", "开始咨询"), BotCommand("status", "查询工单进度")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert emu.my_commands() == [c.to_dict() for c in commands]
    with pytest.raises(BadRequest, match=r"^Bot_command_invalid$"):
        await bot.set_my_commands([BotCommand("Start!", "大写不行")])
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()

    assert await bot.send_chat_action(chat.id, ChatAction.TYPING) is True
    assert chat.chat_actions == ["typing"]
    with pytest.raises(BadRequest, match=r"^Wrong parameter action in request$"):
        await bot.send_chat_action(chat.id, "dancing")

    info = await bot.get_chat(chat.id)
    assert (info.type, info.first_name, info.username) == ("private", "小明", "xiaoming")
    assert (await bot.get_chat("@xiaoming")).id == chat.id
    group_info = await bot.get_chat(group.id)
    assert (group_info.type, group_info.title) == ("supergroup", "客服坐席")

    chat.block_bot()
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(chat.id, "你好")


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
    assert take is not None and take.chat.type == "supergroup"
    assert take.from_user is not None and take.from_user.first_name == "坐席A"
    assert take.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 23),)
    reply = updates[1].message
    assert reply is not None and reply.reply_to_message is not None
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
        assert update.message is not None and update.message.text == "又来了"
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------ Application


async def test_application_user_journey(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(
            "请问这个回答有帮助吗？",
            reply_markup=InlineKeyboardMarkup(FEEDBACK.inline_keyboard[:1]),
        )

    async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
