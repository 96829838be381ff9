"""The terminal channel: numbered choices instead of buttons."""

from __future__ import annotations

from typing import TextIO

from bot.clock import SYSTEM_CLOCK, Clock
from handlers import texts
from handlers.core import Core
from handlers.types import Incoming, Reply

SENDER = "terminal:console"


def _show(replies: list[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(reply.text + "\n")
        for n, choice in enumerate(reply.choices, start=1):
            out.write(f"  {n}. {choice}\n")
    out.flush()


def chosen(text: str, shown: list[Reply]) -> str:
    """Turn a typed number into the text of the choice it numbers, as a button would send."""
    choices = next((r.choices for r in reversed(shown) if r.choices), ())
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text


async def run_terminal_chat(
    core: Core, inp: TextIO, out: TextIO, sender: str = SENDER, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Talk with one user on a terminal until /quit or end of input."""
    replies = await core.dispatch(Incoming("terminal", sender, "/start", clock.now()))
    _show(replies, out)
    out.write(texts.TERMINAL_HINT + "\n")
    while True:
        out.write("> ")
        out.flush()
        line = inp.readline()
        if not line or line.strip() in {"/quit", "/exit"}:
            out.write(texts.BYE + "\n")
            return 0
        text = chosen(line.strip(), replies)
        replies = await core.dispatch(Incoming("terminal", sender, text, clock.now()))
        _show(replies, out)
