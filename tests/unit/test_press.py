"""A pressed button is read by what it was for: the answer it rated, or a step long past."""

from __future__ import annotations

from handlers import texts
from handlers.press import on_press
from handlers.types import FeedbackEffect, FlowState, Pressed
from knowledge.kb import Audience

STATE = FlowState(role=Audience.CONSUMER, last_entry="entry-b")


def test_unhelpful_under_an_earlier_answer_rates_that_answer() -> None:
    step = on_press(Pressed(texts.CHOICE_UNHELPFUL, "entry-a", current=False), STATE)
    assert step is not None
    assert step.kind == "feedback"
    assert step.effects == [FeedbackEffect("entry-a", False)]
    assert step.replies[0].text == texts.SORRY_UNHELPFUL
    assert step.state.last_entry == "entry-b"  # the latest answer can still be rated


def test_helpful_under_the_latest_answer_rates_it_once() -> None:
    step = on_press(Pressed(texts.CHOICE_HELPFUL, "entry-b", current=True), STATE)
    assert step is not None
    assert step.effects == [FeedbackEffect("entry-b", True)]
    assert step.replies[0].text == texts.THANKS_FOR_FEEDBACK
    assert step.state.last_entry is None


def test_feedback_given_before_is_not_recorded_again() -> None:
    step = on_press(Pressed(texts.CHOICE_UNHELPFUL, "entry-a", rated=True), STATE)
    assert step is not None
    assert step.effects == []
    assert step.replies[0].text == texts.FEEDBACK_ALREADY


def test_a_choice_of_an_earlier_step_is_expired_not_a_question() -> None:
    for pressed in (Pressed(texts.NONE_OF_THESE), Pressed("补贴多久到账？"), Pressed("")):
        step = on_press(pressed, STATE)
        assert step is not None, pressed
        assert step.kind == "expired"
        assert step.replies[0].text == texts.BUTTON_EXPIRED
        assert step.effects == []
        assert step.state == STATE


def test_a_current_choice_and_a_timeless_one_mean_their_label() -> None:
    assert on_press(Pressed("补贴多久到账？", current=True), STATE) is None
    for label in (texts.CHOICE_HUMAN, texts.CHOICE_COMPLAIN, texts.CHOICE_MERCHANT):
        assert on_press(Pressed(label), STATE) is None
