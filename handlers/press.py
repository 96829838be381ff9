"""A pressed button, read by what it was for rather than by its label.

Buttons stay on a page (and in a Telegram chat) after the conversation has moved on. A
press names the reply it was under, and the core looks that reply up (`Pressed`): a
feedback button rates the answer it was under, whatever was answered since; a button of an
earlier step says so instead of being read as a question.
"""

from __future__ import annotations

from dataclasses import replace

from handlers import texts
from handlers.types import FeedbackEffect, FlowState, Pressed, Reply, Step

_FEEDBACK = {texts.CHOICE_HELPFUL: True, texts.CHOICE_UNHELPFUL: False}
# Buttons that mean the same at any time: asking for a person, complaining, saying who one is.
_TIMELESS = frozenset({texts.CHOICE_HUMAN, texts.CHOICE_COMPLAIN, *texts.ROLE_CHOICES})


def on_press(pressed: Pressed, state: FlowState) -> Step | None:
    """Return the step for a press, or None when it still applies and means what its label
    says (the flow then reads the label as if typed)."""
    helpful = _FEEDBACK.get(pressed.label)
    if helpful is not None and pressed.entry_id is not None:
        return _feedback(pressed.entry_id, helpful, pressed.rated, state)
    if pressed.label and (pressed.current or pressed.label in _TIMELESS):
        return None
    return Step([Reply(texts.BUTTON_EXPIRED)], state, kind="expired")


def _feedback(entry_id: str, helpful: bool, rated: bool, state: FlowState) -> Step:
    """Feedback on the answer the button was under, the latest one or an earlier one."""
    # The latest answer, rated by its button, is rated: typing 有帮助 later adds nothing.
    # 没帮助 on it offers a person, who is handed the question it did not answer.
    latest = state.last_entry == entry_id
    after = state
    if latest:
        after = replace(state, last_entry=None, draft=None if helpful else state.last_question)
    if rated:
        return Step([Reply(texts.FEEDBACK_ALREADY)], after, kind="feedback")
    reply = (
        Reply(texts.THANKS_FOR_FEEDBACK)
        if helpful
        else Reply(texts.SORRY_UNHELPFUL, (texts.CHOICE_HUMAN,))
    )
    return Step([reply], after, kind="feedback", effects=[FeedbackEffect(entry_id, helpful)])
