import pytest

from knowledge.engine import Engine, Kind
from knowledge.kb import Audience
from knowledge.model import Model

ALWAYS = Model.untrained().with_thresholds(0.0, 0.0)
MIDDLE = Model.untrained().with_thresholds(1.01, 0.0)
NEVER = Model.untrained().with_thresholds(1.01, 1.01)


def test_above_the_answer_threshold_the_engine_answers(mini_engine: Engine) -> None:
    result = mini_engine.decide(mini_engine.score("补贴在哪里领", Audience.CONSUMER), ALWAYS)
    assert result.kind == Kind.ANSWER
    assert result.entry_id == "consumer-claim-how"
    assert result.answer is not None
    assert "领取" in result.answer


def test_in_the_middle_band_the_engine_offers_choices(mini_engine: Engine) -> None:
    result = mini_engine.decide(mini_engine.score("补贴在哪里领", Audience.CONSUMER), MIDDLE)
    assert result.kind == Kind.SUGGEST
    assert result.entry_id is None
    assert 1 <= len(result.suggestions) <= 3
    assert result.suggestions[0] == "consumer-claim-how"


def test_below_the_suggest_threshold_the_engine_abstains(mini_engine: Engine) -> None:
    result = mini_engine.decide(mini_engine.score("补贴在哪里领", Audience.CONSUMER), NEVER)
    assert result.kind == Kind.ABSTAIN
    assert result.entry_id is None
    assert result.answer is None
    assert result.suggestions == ()


def test_a_consumer_never_gets_a_merchant_entry(mini_engine: Engine) -> None:
    scored = mini_engine.score("门店怎么核销补贴", Audience.CONSUMER)
    assert "merchant-redeem" not in scored.entry_ids
    scored = mini_engine.score("门店怎么核销补贴", Audience.MERCHANT)
    assert scored.entry_ids[0] == "merchant-redeem"


def test_entries_for_all_answer_both_audiences(mini_engine: Engine) -> None:
    for audience in (Audience.CONSUMER, Audience.MERCHANT):
        assert mini_engine.score("活动什么时候结束", audience).entry_ids[0] == "all-period"


def test_typo_and_traditional_queries_find_the_entry(mini_engine: Engine) -> None:
    assert (
        mini_engine.score("補貼在哪裡領", Audience.CONSUMER).entry_ids[0] == "consumer-claim-how"
    )
    assert mini_engine.score("以旧换心怎么参加", Audience.CONSUMER).entry_ids[0] == (
        "consumer-tradein"
    )


@pytest.mark.parametrize("text", ["你好", "谢谢！", "嗯嗯", "好的👌"])
def test_small_talk_gets_its_own_reply_not_an_entry(mini_engine: Engine, text: str) -> None:
    result = mini_engine.answer(text, Audience.CONSUMER)
    assert result.kind == Kind.SMALLTALK
    assert result.entry_id is None
    assert result.answer


def test_a_question_that_starts_politely_is_not_small_talk(mini_engine: Engine) -> None:
    result = mini_engine.decide(mini_engine.score("你好，补贴在哪里领", Audience.CONSUMER), ALWAYS)
    assert result.entry_id == "consumer-claim-how"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "？？！！。。",
        "……",
        "a" * 10_000,
        "补贴" * 5_000,
        "補貼abc１２３💰券?!",
    ],
)
def test_bad_input_gives_an_answer_or_abstention_never_a_crash(
    mini_engine: Engine, text: str
) -> None:
    result = mini_engine.answer(text, Audience.CONSUMER)
    assert result.kind in {Kind.ANSWER, Kind.SUGGEST, Kind.ABSTAIN, Kind.SMALLTALK, Kind.EMPTY}
    assert 0.0 <= result.score <= 1.0


def test_empty_input_is_reported_as_empty(mini_engine: Engine) -> None:
    assert mini_engine.answer("😀？！", Audience.CONSUMER).kind == Kind.EMPTY


def test_off_topic_questions_do_not_get_a_confident_answer(mini_engine: Engine) -> None:
    result = mini_engine.answer("明天深圳天气怎么样", Audience.CONSUMER)
    assert result.entry_id is None
