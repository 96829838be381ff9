"""The emulator's HTTP surface: tokens, unknown methods and the Bot API's envelopes."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from telegram import Bot
from telegram.error import InvalidToken
from telegram.request import HTTPXRequest

from tests.support.botapi import BotApiEmulator
from tests.support.botapi.samples import TOKEN


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
    assert status == 200
    assert body["ok"] is True
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
