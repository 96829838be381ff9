"""Starting with Telegram away, or with a token Telegram refuses."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

import bot.serve
from bot.config import ConfigError
from handlers import texts
from tests.support.botapi import BotApiEmulator
from tests.support.servers import TELEGRAM_TOKEN, build_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_web_chat_runs_while_telegram_is_away_and_the_bot_connects_later(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.serve, "TELEGRAM_RETRY_FIRST", 0.2)
    port = _free_port()
    server = build_server(
        database_url,
        telegram_token=TELEGRAM_TOKEN,
        telegram_base_url=f"http://127.0.0.1:{port}/bot",
    )
    await server.start()  # Telegram refuses the connection: the start goes on
    emu = BotApiEmulator(token=TELEGRAM_TOKEN)
    try:
        assert not server.telegram_ready.is_set()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}api/messages", json={"session": "w1", "text": "/start"}
            ) as resp,
        ):
            assert resp.status == 200
            body = await resp.json()
        assert body["replies"], body
        await emu.start(port=port)
        await asyncio.wait_for(server.telegram_ready.wait(), timeout=15)
        chat = emu.private_chat(user_id=7001, first_name="小红")
        await chat.send("/start")
        welcome = await chat.next_reply()
        assert server.runtime is not None
        assert welcome.text == texts.WELCOME.format(campaign=server.runtime.core.engine.kb.name)
    finally:
        await server.stop()
        emu.release()
        await emu.stop()


async def test_a_token_telegram_refuses_stops_the_start_and_names_the_setting(
    database_url: str, emulator: BotApiEmulator
) -> None:
    server = build_server(
        database_url, telegram_token="999999:WRONG-TOKEN", telegram_base_url=emulator.base_url
    )
    with pytest.raises(ConfigError, match="HELPDESK_TELEGRAM_TOKEN"):
        await server.start()
