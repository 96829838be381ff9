"""The terminal chat: numbered choices instead of buttons."""

from __future__ import annotations

from typing import TextIO

from handlers import texts
from handlers.faq import FaqState, Reply, greet, on_message
from knowledge.engine import Engine


def _show(replies: list[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(reply.text + "\n")
        for n, choice in enumerate(reply.choices, start=1):
            out.write(f"  {n}. {choice}\n")
    out.flush()


def run_terminal_chat(engine: Engine, inp: TextIO, out: TextIO) -> int:
    """Talk with one user on a terminal until /quit or end of input."""
    state = FaqState()
    replies = greet(engine)
    _show(replies, out)
    out.write(texts.TERMINAL_HINT + "\n")
    while True:
        out.write("> ")
        out.flush()
        line = inp.readline()
        if not line or line.strip() in {"/quit", "/exit"}:
            out.write(texts.BYE + "\n")
            return 0
        replies, state = on_message(_chosen(line.strip(), replies), state, engine)
        _show(replies, out)


def _chosen(text: str, shown: list[Reply]) -> str:
    """Turn a typed number into the text of the choice it numbers, as a button would send."""
    choices = next((r.choices for r in reversed(shown) if r.choices), ())
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text
