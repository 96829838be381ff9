"""The conversation flow for consumers and merchants: one message and its state in, a step out.

Pure apart from the knowledge engine (itself deterministic), so every channel and every
test sees the same replies for the same messages.
"""

from __future__ import annotations

from dataclasses import replace

from handlers import texts
from handlers.types import (
    NON_TEXT_KINDS,
    FeedbackEffect,
    FlowState,
    HandoffEffect,
    Incoming,
    Reply,
    Step,
)
from knowledge.engine import Engine, Kind
from knowledge.kb import Audience
from knowledge.masking import mask_pii

_ROLE_WORDS = {
    texts.CHOICE_CONSUMER: Audience.CONSUMER,
    "消费者": Audience.CONSUMER,
    texts.CHOICE_MERCHANT: Audience.MERCHANT,
    "我是商家": Audience.MERCHANT,
    "商户": Audience.MERCHANT,
    "商家": Audience.MERCHANT,
}
_NUMBERED_ROLES = {"1": Audience.CONSUMER, "2": Audience.MERCHANT}
_HUMAN_WORDS = frozenset({texts.CHOICE_HUMAN, "人工", "人工客服", "找人工", "转人工客服"})
COMMANDS = frozenset({"/start", "/role", "/help", "/human"})
MAX_TEXT = 2000


def _command(text: str) -> str | None:
    if not text.startswith("/"):
        return None
    word = text.split()[0].split("@")[0].lower()
    return word


def respond(msg: Incoming, state: FlowState, engine: Engine) -> Step:
    """Return the replies to one message, the next state and what to record."""
    if msg.kind in NON_TEXT_KINDS:
        return Step([Reply(texts.NON_TEXT, (texts.CHOICE_HUMAN,))], state, kind=msg.kind)
    text = msg.text.strip()
    command = _command(text)
    if command is not None:
        return _on_command(command, state, engine)
    if text in _ROLE_WORDS or (state.role is None and text in _NUMBERED_ROLES):
        role = _ROLE_WORDS.get(text) or _NUMBERED_ROLES[text]
        fresh = FlowState(role=role)
        return Step([Reply(texts.ROLE_SET[role.value])], fresh, kind="role")
    if state.role is None:
        return Step(_greeting(engine), state, kind="greeting")
    if text in _HUMAN_WORDS:
        return _handoff("asked", state)
    if text == texts.CHOICE_HELPFUL and state.last_entry:
        return Step(
            [Reply(texts.THANKS_FOR_FEEDBACK)],
            replace(state, last_entry=None),
            kind="feedback",
            effects=[FeedbackEffect(state.last_entry, True)],
        )
    if text == texts.CHOICE_UNHELPFUL and state.last_entry:
        return Step(
            [Reply(texts.SORRY_UNHELPFUL, (texts.CHOICE_HUMAN,))],
            replace(state, last_entry=None),
            kind="feedback",
            effects=[FeedbackEffect(state.last_entry, False)],
        )
    if state.offered:
        if text == texts.NONE_OF_THESE:
            return Step([Reply(texts.REPHRASE, (texts.CHOICE_HUMAN,))], replace(state, offered=()))
        picked = next((i for i in state.offered if engine.entry_question(i) == text), None)
        if picked is not None:
            return _answer_entry(picked, None, replace(state, offered=()), engine, kind="choice")
    if len(text) > MAX_TEXT:
        return Step([Reply(texts.TOO_LONG)], state, kind="too_long")
    return _on_question(text, state, engine)


def _greeting(engine: Engine) -> list[Reply]:
    return [
        Reply(texts.WELCOME.format(campaign=engine.kb.name)),
        Reply(texts.ASK_ROLE, texts.ROLE_CHOICES),
    ]


def _on_command(command: str, state: FlowState, engine: Engine) -> Step:
    if command == "/start":
        return Step(_greeting(engine), state, kind="command")
    if command == "/role":
        return Step([Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], state, kind="command")
    if command == "/help":
        return Step([Reply(texts.HELP.format(campaign=engine.kb.name))], state, kind="command")
    if command == "/human":
        return _handoff("asked", state)
    return Step([Reply(texts.UNKNOWN_COMMAND)], state, kind="command")


def _handoff(reason: str, state: FlowState) -> Step:
    return Step(
        [Reply(texts.HANDOFF)],
        replace(state, offered=(), last_entry=None),
        kind="handoff",
        effects=[HandoffEffect(reason, state.last_question)],
    )


def _answer_entry(
    entry_id: str, score: float | None, state: FlowState, engine: Engine, *, kind: str
) -> Step:
    entry = engine.kb.entry(entry_id)
    return Step(
        [Reply(entry.answer, texts.FEEDBACK_CHOICES)],
        replace(state, offered=(), last_entry=entry_id),
        kind=kind,
        entry_id=entry_id,
        score=score,
    )


def _on_question(text: str, state: FlowState, engine: Engine) -> Step:
    assert state.role is not None
    result = engine.answer(text, state.role)
    asked = replace(state, last_question=mask_pii(text)[:500], offered=(), last_entry=None)
    if result.kind == Kind.ANSWER and result.entry_id:
        return _answer_entry(result.entry_id, result.score, asked, engine, kind="question")
    if result.kind == Kind.SMALLTALK and result.answer:
        return Step([Reply(result.answer)], state, kind="smalltalk")
    if result.kind == Kind.EMPTY:
        return Step([Reply(texts.EMPTY_QUERY)], state, kind="empty")
    if result.kind == Kind.SUGGEST and result.suggestions:
        questions = tuple(engine.entry_question(i) for i in result.suggestions)
        return Step(
            [Reply(texts.DID_YOU_MEAN, (*questions, texts.NONE_OF_THESE))],
            replace(asked, offered=result.suggestions),
            kind="question",
            score=result.score,
        )
    return Step(
        [Reply(texts.NO_ANSWER, (texts.CHOICE_HUMAN,))], asked, kind="question", score=result.score
    )
