"""The question-answering flow, independent of the channel that carries it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from handlers import texts
from knowledge.engine import Engine, Kind
from knowledge.kb import Audience

_ROLE_WORDS = {
    "1": Audience.CONSUMER,
    "消费者": Audience.CONSUMER,
    "我是消费者": Audience.CONSUMER,
    "2": Audience.MERCHANT,
    "商户": Audience.MERCHANT,
    "商家": Audience.MERCHANT,
    "我是商户": Audience.MERCHANT,
    "我是商家": Audience.MERCHANT,
}
_HUMAN_WORDS = frozenset({"人工", "转人工", "人工客服", "/human"})


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FaqState:
    audience: Audience | None = None
    offered: tuple[str, ...] = ()  # entry ids of the last "您是想问" choices, in order


def greet(engine: Engine) -> list[Reply]:
    """Return the first-contact greeting with the role question."""
    return [
        Reply(texts.WELCOME.format(campaign=engine.kb.name)),
        Reply(texts.ASK_ROLE, texts.ROLE_CHOICES),
    ]


def on_message(text: str, state: FaqState, engine: Engine) -> tuple[list[Reply], FaqState]:
    """Answer one message; return the replies and the next state."""
    stripped = text.strip()
    if state.audience is None or stripped == "/role":
        role = _ROLE_WORDS.get(stripped)
        if role is None:
            if stripped == "/role" or state.audience is None:
                return [Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], replace(
                    state, audience=None, offered=()
                )
        else:
            return [Reply(texts.ROLE_SET[role.value])], FaqState(role)
    assert state.audience is not None
    if stripped in _HUMAN_WORDS:
        return [Reply(texts.HANDOFF)], replace(state, offered=())
    if state.offered:
        picked = _picked(stripped, state.offered, engine)
        if picked is not None:
            entry = engine.kb.entry(picked)
            return [Reply(entry.answer), Reply(texts.ANSWER_FOOTER)], replace(state, offered=())
    result = engine.answer(stripped, state.audience)
    if result.kind == Kind.ANSWER and result.answer:
        return [Reply(result.answer), Reply(texts.ANSWER_FOOTER)], replace(state, offered=())
    if result.kind == Kind.SMALLTALK and result.answer:
        return [Reply(result.answer)], replace(state, offered=())
    if result.kind == Kind.EMPTY:
        return [Reply(texts.EMPTY_QUERY)], replace(state, offered=())
    if result.kind == Kind.SUGGEST and result.suggestions:
        questions = tuple(engine.entry_question(i) for i in result.suggestions)
        return (
            [Reply(texts.DID_YOU_MEAN, questions), Reply(texts.DID_YOU_MEAN_FOOTER)],
            replace(state, offered=result.suggestions),
        )
    return [Reply(texts.NO_ANSWER, ("人工",))], replace(state, offered=())


def _picked(text: str, offered: tuple[str, ...], engine: Engine) -> str | None:
    if text.isdigit() and 1 <= int(text) <= len(offered):
        return offered[int(text) - 1]
    for entry_id in offered:
        if text == engine.entry_question(entry_id):
            return entry_id
    return None
