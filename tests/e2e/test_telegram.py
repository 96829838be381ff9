"""Telegram journeys: the real python-telegram-bot Application against the Bot API emulator."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from bot.db import make_sessions
from bot.serve import Server
from bot.terminal import run_terminal_chat
from handlers import texts
from storage.models import Feedback
from tests.support.botapi import BotApiEmulator
from tests.support.servers import TELEGRAM_TOKEN, make_settings, running_server


@pytest.fixture
async def tg_server(database_url: str, emulator: BotApiEmulator) -> AsyncIterator[Server]:
    async with running_server(database_url, emulator) as srv:
        yield srv


JOURNEY = (
    "/start",
    texts.CHOICE_CONSUMER,
    "补贴怎么领",
    texts.CHOICE_UNHELPFUL,
    texts.CHOICE_HUMAN,
)


async def _telegram_journey(emu: BotApiEmulator) -> list[str]:
    chat = emu.private_chat(user_id=5512, first_name="小明")
    seen: list[str] = []
    await chat.send("/start")
    welcome = await chat.next_reply()
    ask = await chat.next_reply()
    seen += [welcome.text or "", ask.text or ""]
    assert ask.buttons == list(texts.ROLE_CHOICES)
    await chat.press(texts.CHOICE_CONSUMER)
    seen.append((await chat.next_reply()).text or "")
    await chat.send("补贴怎么领")
    answer = await chat.next_reply()
    seen.append(answer.text or "")
    assert answer.buttons == list(texts.FEEDBACK_CHOICES)
    await chat.press(texts.CHOICE_UNHELPFUL)
    sorry = await chat.next_reply()
    seen.append(sorry.text or "")
    await chat.press(texts.CHOICE_HUMAN)
    seen.append((await chat.next_reply()).text or "")
    ask_type = await chat.next_reply()  # the hand-off goes on to take the problem down
    assert ask_type.buttons[:5] == ["咨询", "求助", "建议", "投诉", "举报"]
    seen.append(ask_type.text or "")
    return seen


async def test_telegram_journey_ends_with_a_recorded_hand_off(
    tg_server: Server, emulator: BotApiEmulator
) -> None:
    seen = await _telegram_journey(emulator)
    assert "龙华惠购" in seen[3]
    assert seen[-3:] == [texts.SORRY_UNHELPFUL, texts.HANDOFF, texts.ASK_TICKET_TYPE]
    await emulator.wait_idle()
    assert tg_server.runtime is not None
    counts = await tg_server.runtime.store.counts()
    assert counts["handoffs"] == 1
    assert counts["feedback"] == 1
    assert not emulator.pending_updates()
    answered = [c for c in emulator.calls if c[0] == "answerCallbackQuery"]
    assert len(answered) == 3  # every button press is acknowledged


async def test_unhelpful_on_an_earlier_telegram_answer_rates_that_answer(
    tg_server: Server, emulator: BotApiEmulator
) -> None:
    chat = emulator.private_chat(user_id=5513, first_name="小红")
    await chat.send(texts.CHOICE_CONSUMER)
    await chat.next_reply()
    await chat.send("补贴怎么领")
    first = await chat.next_reply()
    await chat.send("发票怎么开")
    second = await chat.next_reply()
    assert first.buttons == second.buttons == list(texts.FEEDBACK_CHOICES)
    await chat.press(texts.CHOICE_UNHELPFUL, message_id=first.message_id)
    assert (await chat.next_reply()).text == texts.SORRY_UNHELPFUL
    await chat.press(texts.CHOICE_HELPFUL, message_id=second.message_id)
    assert (await chat.next_reply()).text == texts.THANKS_FOR_FEEDBACK
    await emulator.wait_idle()
    assert tg_server.runtime is not None
    async with make_sessions(tg_server.runtime.db)() as s:
        feedback = (
            await s.execute(select(Feedback.kb_entry_id, Feedback.helpful).order_by(Feedback.id))
        ).all()
    assert [tuple(row) for row in feedback] == [
        ("consumer-claim-how", False),
        ("consumer-invoice-how", True),
    ]


async def test_web_terminal_and_telegram_give_the_same_replies(
    tg_server: Server, emulator: BotApiEmulator
) -> None:
    telegram = await _telegram_journey(emulator)
    web: list[str] = []
    async with aiohttp.ClientSession() as http:
        for text in JOURNEY:
            body = {"session": "same", "text": text}
            async with http.post(tg_server.url + "api/messages", json=body) as resp:
                web += [r["text"] for r in (await resp.json())["replies"]]
    assert tg_server.runtime is not None
    out = io.StringIO()
    # The terminal sends /start itself; then the rest of the journey, choices by number.
    await run_terminal_chat(tg_server.runtime.core, io.StringIO("1\n补贴怎么领\n2\n1\n"), out)
    terminal = out.getvalue()
    assert web == telegram
    positions = [terminal.find(reply) for reply in telegram]
    assert -1 not in positions
    assert positions == sorted(positions)


async def test_an_unexpected_error_gets_an_apology_with_a_code(
    tg_server: Server, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tg_server.runtime is not None
    engine = tg_server.runtime.core.engine

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("engine exploded 13812345678")

    monkeypatch.setattr(engine, "answer", broken)
    chat = emulator.private_chat(user_id=91)
    await chat.send(texts.CHOICE_CONSUMER)
    await chat.next_reply()
    await chat.send("补贴怎么领")
    apology = (await chat.next_reply()).text or ""
    assert apology.startswith("抱歉，系统开小差了（错误码 ")
    assert "exploded" not in apology
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            tg_server.url + "api/messages", json={"session": "err", "text": "我是消费者"}
        ) as _,
        http.post(tg_server.url + "api/messages", json={"session": "err", "text": "补贴"}) as r,
    ):
        assert r.status == 500
        assert "错误码" in (await r.json())["error"]


@pytest.mark.usefixtures("tg_server")
async def test_stickers_photos_and_unknown_commands_get_clear_replies(
    emulator: BotApiEmulator,
) -> None:
    chat = emulator.private_chat(user_id=77)
    await chat.send_sticker()
    assert (await chat.next_reply()).text == texts.NON_TEXT
    await chat.send_photo()  # no ticket to keep it: say what the bot can do instead
    assert (await chat.next_reply()).text == texts.FILE_NO_TICKET
    await chat.send(texts.CHOICE_MERCHANT)
    await chat.next_reply()
    await chat.send("/frobnicate")
    assert (await chat.next_reply()).text == texts.UNKNOWN_COMMAND


async def test_an_unknown_callback_is_answered_and_ignored(
    tg_server: Server, emulator: BotApiEmulator
) -> None:
    chat = emulator.private_chat(user_id=78)
    await chat.send("/start")
    await chat.next_reply()
    ask = await chat.next_reply()
    await chat.press_data("bogus", message_id=ask.message_id)
    await emulator.wait_idle()
    answers = [p for m, p in emulator.calls if m == "answerCallbackQuery"]
    assert answers
    assert "失效" in str(answers[-1].get("text"))
    assert tg_server.runtime is not None
    assert (await tg_server.runtime.store.counts())["messages"] == 3  # /start + 2 replies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_answers_and_checks_the_secret(
    database_url: str, emulator: BotApiEmulator
) -> None:
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/telegram/webhook"
    srv = Server(
        make_settings(
            database_url,
            web_port=port,
            telegram_token=TELEGRAM_TOKEN,
            telegram_base_url=emulator.base_url,
            webhook_url=hook,
            webhook_secret="s3cret-token",
        )
    )
    await srv.start()
    try:
        assert emulator.webhook_url == hook
        chat = emulator.private_chat(user_id=90)
        await chat.send("/start")
        assert texts.ASK_ROLE in [(await chat.next_reply()).text, (await chat.next_reply()).text]
        async with (
            aiohttp.ClientSession() as http,
            http.post(hook, json={"update_id": 1}) as resp,  # no secret header
        ):
            assert resp.status == 403
    finally:
        await srv.stop()
