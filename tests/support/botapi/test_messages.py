"""The emulator's message methods, driven by python-telegram-bot's own ``Bot``: texts,
keyboards, edits, callback answers, files, commands and chat actions."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden

from tests.support.botapi import BotApiEmulator, make_png
from tests.support.botapi.samples import FEEDBACK

# ------------------------------------------------------------------------------ messages


async def test_send_message_with_inline_keyboard(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")

    sent = await bot.send_message(chat.id, "以旧换新补贴可以叠加吗？", reply_markup=FEEDBACK)
    assert sent.from_user is not None
    assert sent.from_user.id == bot.id
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

    too_long_data = InlineKeyboardButton("x", callback_data="d" * 65)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
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
    assert query.message is not None
    assert query.message.message_id == sent.message_id
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


async def test_user_media_updates_and_file_download(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    await chat.send_sticker()
    await chat.send_photo(caption="发票照片")
    await chat.send_voice(duration=4)
    await chat.send_document("申请表.pdf")

    sticker, photo, voice, document = [u.message for u in await bot.get_updates(timeout=0)]
    assert sticker is not None
    assert sticker.sticker is not None
    assert sticker.sticker.emoji == "👍"
    assert sticker.sticker.width == 512
    assert photo is not None
    assert photo.caption == "发票照片"
    assert [(p.width, p.height) for p in photo.photo][-1] == (1280, 960)
    assert len({p.file_unique_id for p in photo.photo}) == len(photo.photo) > 1
    assert voice is not None
    assert voice.voice is not None
    assert voice.voice.to_dict()["duration"] == 4
    assert document is not None
    assert document.document is not None
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
    assert sent_photo.kind == "photo"
    assert sent_photo.caption == "示意图"
    assert sent_photo.upload is not None
    assert sent_photo.upload.content == make_png(64, 48)

    again = await bot.send_photo(chat.id, photo.photo[-1].file_id)
    assert again.photo[-1].file_unique_id != ""
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(chat.id, b"definitely not an image")

    document = await bot.send_document(chat.id, b"col1,col2\n", filename="export.csv")
    assert document.document is not None
    assert document.document.file_name == "export.csv"
    by_url = await bot.send_document(chat.id, "https://example.gov.cn/files/guide.pdf")
    assert by_url.document is not None
    assert by_url.document.file_name == "guide.pdf"
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await bot.send_document(chat.id, "not-a-file-id")
    with pytest.raises(BadRequest, match=r"(?i)^can't use file of type document as photo$"):
        await bot.send_photo(chat.id, document.document.file_id)


async def test_files_users_sent_are_sent_again_by_file_id(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    group = emu.group(chat_id=-100123, title="客服坐席")
    await chat.send_voice(duration=4)
    await chat.send_document("发票.pdf", mime_type="application/pdf")
    voice, document = [u.message for u in await bot.get_updates(timeout=0)]
    assert voice is not None
    assert voice.voice is not None
    assert document is not None
    assert document.document is not None

    relayed_voice = await bot.send_voice(group.id, voice.voice.file_id, caption="客户语音")
    assert relayed_voice.voice is not None
    assert relayed_voice.voice.file_id == voice.voice.file_id
    assert relayed_voice.caption == "客户语音"
    relayed = await bot.send_document(group.id, document.document.file_id)
    assert relayed.document is not None
    assert (relayed.document.file_name, relayed.document.mime_type) == (
        "发票.pdf",
        "application/pdf",
    )
    assert [m.kind for m in emu.sent_messages(group.id)] == ["voice", "document"]
    uploaded = await bot.send_voice(group.id, b"OggS\x00\x02voice", duration=2)
    assert uploaded.voice is not None
    assert uploaded.voice.to_dict()["duration"] == 2
    with pytest.raises(BadRequest, match=r"(?i)^can't use file of type voice as document$"):
        await bot.send_document(group.id, voice.voice.file_id)


async def test_get_file_refuses_files_over_20_mb(bot: Bot, emu: BotApiEmulator) -> None:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    await chat.send_document(
        "录像.zip", mime_type="application/zip", content=bytes(20 * 2**20 + 1)
    )
    await chat.send_document("small.zip", mime_type="application/zip", content=bytes(10))
    big, small = [u.message for u in await bot.get_updates(timeout=0)]
    assert big is not None
    assert big.document is not None
    assert small is not None
    assert small.document is not None

    with pytest.raises(BadRequest, match=r"^File is too big$"):
        await bot.get_file(big.document.file_id)
    found = await bot.get_file(small.document.file_id)
    assert bytes(await found.download_as_bytearray()) == bytes(10)


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
