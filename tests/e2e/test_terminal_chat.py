"""The terminal chat through the real core and database."""

from __future__ import annotations

import io

from bot.app import build_runtime
from bot.terminal import run_terminal_chat
from handlers import texts
from tests.support.servers import make_settings


async def test_terminal_numbers_choices_answers_and_stores(database_url: str) -> None:
    runtime = await build_runtime(make_settings(database_url))
    try:
        out = io.StringIO()
        # Role 1 (消费者), a question, 2 (没帮助), then 1: the only choice left, 转人工.
        script = "1\n补贴怎么领\n2\n1\n/quit\n"
        await run_terminal_chat(runtime.core, io.StringIO(script), out)
        text = out.getvalue()
        assert f"1. {texts.CHOICE_CONSUMER}" in text
        assert texts.ROLE_SET["consumer"] in text
        assert "龙华惠购" in text
        assert texts.SORRY_UNHELPFUL in text
        assert text.rstrip().endswith(texts.BYE)
        counts = await runtime.store.counts()
        assert counts["feedback"] == 1
        assert counts["handoffs"] == 1
        assert texts.HANDOFF in text
        assert counts["users"] == 1
    finally:
        await runtime.close()
