from datetime import UTC, datetime

import pytest

from handlers import texts
from handlers.conversation import respond
from handlers.types import FeedbackEffect, FlowState, HandoffEffect, Incoming
from knowledge.engine import Engine
from knowledge.kb import Audience, load_kb
from knowledge.model import Model
from tests.conftest import MINI_KB

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
CONSUMER = FlowState(role=Audience.CONSUMER)


def msg(text: str, kind: str = "text") -> Incoming:
    return Incoming("test", "test:1", text, NOW, kind=kind)


@pytest.fixture(scope="module")
def answering() -> Engine:
    return Engine(load_kb(MINI_KB), model=Model.untrained().with_thresholds(0.0, 0.0))


@pytest.fixture(scope="module")
def suggesting() -> Engine:
    return Engine(load_kb(MINI_KB), model=Model.untrained().with_thresholds(1.01, 0.0))


@pytest.fixture(scope="module")
def abstaining() -> Engine:
    return Engine(load_kb(MINI_KB), model=Model.untrained().with_thresholds(1.01, 1.01))


def test_start_greets_with_the_campaign_and_asks_the_role(answering: Engine) -> None:
    step = respond(msg("/start"), FlowState(), answering)
    assert answering.kb.name in step.replies[0].text
    assert step.replies[1].choices == texts.ROLE_CHOICES


def test_a_question_before_the_role_is_answered_with_the_greeting(answering: Engine) -> None:
    step = respond(msg("补贴在哪里领"), FlowState(), answering)
    assert step.replies[-1].choices == texts.ROLE_CHOICES
    assert step.state.role is None


def test_choosing_a_role_remembers_it(answering: Engine) -> None:
    step = respond(msg(texts.CHOICE_MERCHANT), FlowState(), answering)
    assert step.state.role is Audience.MERCHANT
    assert step.replies[0].text == texts.ROLE_SET["merchant"]


def test_role_command_asks_again(answering: Engine) -> None:
    step = respond(msg("/role"), CONSUMER, answering)
    assert step.replies[0].choices == texts.ROLE_CHOICES


def test_an_answer_offers_feedback_and_remembers_the_entry(answering: Engine) -> None:
    step = respond(msg("补贴在哪里领"), CONSUMER, answering)
    assert step.entry_id == "consumer-claim-how"
    assert step.replies[0].choices == texts.FEEDBACK_CHOICES
    assert step.state.last_entry == "consumer-claim-how"


def test_feedback_is_recorded_once(answering: Engine) -> None:
    state = respond(msg("补贴在哪里领"), CONSUMER, answering).state
    step = respond(msg(texts.CHOICE_UNHELPFUL), state, answering)
    assert step.effects == [FeedbackEffect("consumer-claim-how", False)]
    assert step.replies[0].choices == (texts.CHOICE_HUMAN,)
    again = respond(msg(texts.CHOICE_UNHELPFUL), step.state, answering)
    assert again.effects == []  # no entry to judge any more: read as a question


def test_hand_off_records_the_last_question_masked(answering: Engine) -> None:
    state = respond(msg("我手机13812345678领不了补贴"), CONSUMER, answering).state
    step = respond(msg(texts.CHOICE_HUMAN), state, answering)
    [effect] = step.effects
    assert isinstance(effect, HandoffEffect)
    assert effect.last_question is not None and "138****5678" in effect.last_question
    assert step.replies[0].text == texts.HANDOFF


def test_middle_band_offers_questions_and_picking_one_answers(suggesting: Engine) -> None:
    step = respond(msg("补贴在哪里领"), CONSUMER, suggesting)
    assert step.replies[0].text == texts.DID_YOU_MEAN
    assert step.replies[0].choices[0] == "怎么领取消费补贴？"
    assert step.replies[0].choices[-1] == texts.NONE_OF_THESE
    picked = respond(msg("怎么领取消费补贴？"), step.state, suggesting)
    assert picked.entry_id == "consumer-claim-how"


def test_none_of_these_asks_to_rephrase(suggesting: Engine) -> None:
    state = respond(msg("补贴在哪里领"), CONSUMER, suggesting).state
    step = respond(msg(texts.NONE_OF_THESE), state, suggesting)
    assert step.replies[0].text == texts.REPHRASE


def test_abstention_says_so_and_offers_a_person(abstaining: Engine) -> None:
    step = respond(msg("补贴在哪里领"), CONSUMER, abstaining)
    assert step.replies[0].text == texts.NO_ANSWER
    assert step.replies[0].choices == (texts.CHOICE_HUMAN,)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
def test_non_text_asks_for_text(answering: Engine, kind: str) -> None:
    step = respond(msg("", kind=kind), CONSUMER, answering)
    assert step.replies[0].text == texts.NON_TEXT


def test_unknown_command_lists_the_commands(answering: Engine) -> None:
    step = respond(msg("/frobnicate"), CONSUMER, answering)
    assert step.replies[0].text == texts.UNKNOWN_COMMAND


def test_help_names_the_campaign(answering: Engine) -> None:
    assert answering.kb.name in respond(msg("/help"), CONSUMER, answering).replies[0].text


def test_a_very_long_message_is_asked_to_be_shorter(answering: Engine) -> None:
    step = respond(msg("补贴" * 5000), CONSUMER, answering)
    assert step.replies[0].text == texts.TOO_LONG


def test_state_survives_a_json_round_trip() -> None:
    state = FlowState(Audience.MERCHANT, ("a", "b"), "e", "q")
    assert FlowState.from_json(state.to_json()) == state
    assert FlowState.from_json("not json") == FlowState()
