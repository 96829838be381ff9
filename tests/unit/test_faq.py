import io

import pytest

from bot.terminal import run_terminal_chat
from handlers import texts
from handlers.faq import FaqState, greet, on_message
from knowledge.engine import Engine
from knowledge.kb import Audience, load_kb
from knowledge.model import Model
from tests.conftest import MINI_KB


@pytest.fixture(scope="module")
def suggesting_engine() -> Engine:
    return Engine(load_kb(MINI_KB), model=Model.untrained().with_thresholds(1.01, 0.0))


@pytest.fixture(scope="module")
def abstaining_engine() -> Engine:
    return Engine(load_kb(MINI_KB), model=Model.untrained().with_thresholds(1.01, 1.01))


def test_first_contact_asks_the_role(mini_engine: Engine) -> None:
    replies = greet(mini_engine)
    assert mini_engine.kb.name in replies[0].text
    assert replies[1].choices == texts.ROLE_CHOICES


def test_choosing_a_role_remembers_it(mini_engine: Engine) -> None:
    replies, state = on_message("我是商户", FaqState(), mini_engine)
    assert state.audience is Audience.MERCHANT
    assert replies[0].text == texts.ROLE_SET["merchant"]


def test_a_question_before_the_role_asks_for_it_again(mini_engine: Engine) -> None:
    replies, state = on_message("补贴怎么领", FaqState(), mini_engine)
    assert state.audience is None
    assert replies[0].choices == texts.ROLE_CHOICES


def test_role_command_switches_role(mini_engine: Engine) -> None:
    _, state = on_message("/role", FaqState(Audience.CONSUMER), mini_engine)
    assert state.audience is None
    _, state = on_message("2", state, mini_engine)
    assert state.audience is Audience.MERCHANT


def test_middle_band_offers_choices_and_a_number_picks_one(suggesting_engine: Engine) -> None:
    replies, state = on_message("补贴在哪里领", FaqState(Audience.CONSUMER), suggesting_engine)
    assert replies[0].text == texts.DID_YOU_MEAN
    assert replies[0].choices[0] == "怎么领取消费补贴？"
    assert state.offered[0] == "consumer-claim-how"
    replies, state = on_message("1", state, suggesting_engine)
    assert "实名认证" in replies[0].text
    assert state.offered == ()


def test_abstention_says_so_and_offers_a_person(abstaining_engine: Engine) -> None:
    replies, _ = on_message("补贴在哪里领", FaqState(Audience.CONSUMER), abstaining_engine)
    assert replies[0].text == texts.NO_ANSWER
    assert replies[0].choices == ("人工",)


def test_asking_for_a_person_records_the_hand_off(mini_engine: Engine) -> None:
    replies, _ = on_message("转人工", FaqState(Audience.CONSUMER), mini_engine)
    assert replies[0].text == texts.HANDOFF


def test_an_empty_message_asks_for_a_question(mini_engine: Engine) -> None:
    replies, _ = on_message("🙂🙂", FaqState(Audience.CONSUMER), mini_engine)
    assert replies[0].text == texts.EMPTY_QUERY


def test_terminal_chat_numbers_choices_and_answers(bundled_engine: Engine) -> None:
    out = io.StringIO()
    run_terminal_chat(bundled_engine, io.StringIO("1\n补贴怎么领\n/quit\n"), out)
    text = out.getvalue()
    assert "1. 我是消费者" in text and "2. 我是商户" in text
    assert texts.ROLE_SET["consumer"] in text
    assert "龙华惠购" in text  # the bundled KB's answer on how to claim
    assert text.rstrip().endswith(texts.BYE)


def test_terminal_numbers_pick_the_choice_shown_last(mini_engine: Engine) -> None:
    out = io.StringIO()
    run_terminal_chat(mini_engine, io.StringIO("2\n/quit\n"), out)
    assert texts.ROLE_SET["merchant"] in out.getvalue()
