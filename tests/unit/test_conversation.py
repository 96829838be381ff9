from datetime import UTC, datetime, timedelta

import pytest

from handlers import texts
from handlers.conversation import respond
from handlers.intake import parse_details, reads_like_complaint
from handlers.types import (
    CsatEffect,
    CustomerReplyEffect,
    FeedbackEffect,
    FlowState,
    HandoffEffect,
    Incoming,
    MyTicket,
    ReopenEffect,
    Step,
    TicketEffect,
    TicketInfo,
    TicketLine,
)
from knowledge.engine import Engine
from knowledge.kb import Audience, load_kb
from knowledge.model import Model
from tests.support.data import MINI_KB

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
    assert effect.last_question is not None
    assert "138****5678" in effect.last_question
    assert step.replies[0].text == texts.HANDOFF
    assert step.replies[1].text == texts.ASK_TICKET_TYPE
    assert step.state.intake_step == "type"


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


def test_a_complaint_walks_through_type_category_description_details(
    answering: Engine,
) -> None:
    step = respond(msg("我要投诉"), CONSUMER, answering)
    assert step.replies[-1].text == texts.ASK_TICKET_TYPE
    step = respond(msg("吐槽"), step.state, answering)
    assert step.replies[0].text == texts.PICK_FROM_CHOICES  # not a type: asked again
    step = respond(msg("投诉"), step.state, answering)
    step = respond(msg("补贴未到账"), step.state, answering)
    step = respond(msg("6月2日买的冰箱补贴一直没到账"), step.state, answering)
    assert step.replies[0].text == texts.ASK_DETAILS
    step = respond(msg("订单 A1234567890 手机 139 1234 5678"), step.state, answering)
    [effect] = step.effects
    assert effect == TicketEffect(
        "投诉", "补贴未到账", "6月2日买的冰箱补贴一直没到账", "A1234567890", None, "13912345678"
    )
    assert "{ref}" in step.replies[0].text  # the core fills in the reference
    assert step.state.intake == ()


def test_a_command_during_intake_leaves_it(answering: Engine) -> None:
    state = respond(msg("/complain"), CONSUMER, answering).state
    assert state.intake_step == "type"
    step = respond(msg("/help"), state, answering)
    assert step.state.intake == ()


def test_status_with_a_reference_shows_that_ticket(answering: Engine) -> None:
    found = TicketInfo("T20250602-0001", True, "assigned", "投诉", "其他")
    reply = respond(msg("/status T20250602-0001"), CONSUMER, answering, found).replies[0]
    assert texts.STATUS_NAMES["assigned"] in reply.text


def test_details_are_parsed_from_one_message() -> None:
    assert parse_details("订单号 202506021234567890，商户：龙华电器城，电话13812345678") == (
        "202506021234567890",
        "龙华电器城",
        "13812345678",
    )
    assert parse_details("就是那家店") == (None, "就是那家店", None)


# ---------------------------------------------------------------- the user's own ticket
def _mine(status: str, *, answered: bool = True, ack: bool = True, days: float = 1) -> MyTicket:
    done = NOW - timedelta(days=days) if status in ("closed", "resolved") else None
    return MyTicket("T20250601-0001", status, answered, ack, done, None)


def test_a_message_during_a_worked_ticket_goes_to_the_agent(answering: Engine) -> None:
    step = respond(msg("补充一下订单号"), CONSUMER, answering, None, _mine("assigned"))
    assert step.effects == [CustomerReplyEffect("T20250601-0001", "补充一下订单号")]
    assert [r.text for r in step.replies] == [texts.SENT_TO_AGENT.format(ref="T20250601-0001")]
    again = respond(msg("还有一点"), CONSUMER, answering, None, _mine("waiting", ack=False))
    assert [r.text for r in again.replies] == [texts.SENT_TO_AGENT.format(ref="T20250601-0001")]
    assert again.effects == [CustomerReplyEffect("T20250601-0001", "还有一点")]


def test_before_any_agent_wrote_the_bot_still_answers(answering: Engine) -> None:
    step = respond(msg("补贴怎么领"), CONSUMER, answering, None, _mine("new", answered=False))
    assert step.entry_id is not None
    assert not step.effects


def test_a_rating_then_an_optional_comment(answering: Engine) -> None:
    rated = respond(msg("4"), CONSUMER, answering, None, _mine("closed"))
    assert rated.effects == [CsatEffect("T20250601-0001", 4)]
    assert rated.state.csat_for == "T20250601-0001"
    comment = respond(msg("态度很好"), rated.state, answering, None, _mine("closed"))
    assert comment.effects == [CsatEffect("T20250601-0001", None, "态度很好")]
    assert comment.state.csat_for is None
    skipped = respond(msg(texts.CHOICE_SKIP), rated.state, answering)
    assert not skipped.effects
    assert skipped.state.csat_for is None


def test_not_solved_reopens_within_seven_days_and_starts_anew_after(answering: Engine) -> None:
    recent = respond(msg("问题没解决"), CONSUMER, answering, None, _mine("closed", days=6.9))
    assert recent.effects == [ReopenEffect("T20250601-0001", "问题没解决")]
    late = respond(msg("问题没解决"), CONSUMER, answering, None, _mine("closed", days=7.1))
    assert not late.effects
    assert late.state.intake_step == "type"
    assert texts.REOPEN_TOO_LATE.format(ref="T20250601-0001") == late.replies[0].text


def test_desk_commands_are_refused_to_customers(answering: Engine) -> None:
    step = respond(msg("/close T20250601-0001 好了"), CONSUMER, answering)
    assert [r.text for r in step.replies] == [texts.DESK_ONLY]
    assert not step.effects


def test_a_message_that_reads_like_a_complaint_gets_an_offer(
    answering: Engine, abstaining: Engine
) -> None:
    text = "商家不让用补贴，态度太差了"
    offered = respond(msg(text), CONSUMER, abstaining)
    assert [r.text for r in offered.replies] == [texts.OFFER_COMPLAINT]
    assert offered.replies[0].choices == texts.OFFER_CHOICES
    assert not offered.effects
    answered = respond(msg(text), CONSUMER, answering)
    assert answered.replies[-1].text == texts.OFFER_COMPLAINT
    assert answered.entry_id
    asking = respond(msg("补贴的问题在哪里投诉"), CONSUMER, abstaining)
    assert asking.replies[0].text == texts.NO_ANSWER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("店员拒绝使用补贴", True),
        ("被坑了，补贴多扣了", True),
        ("我要去12345反映", True),
        ("怎么投诉商家", False),
        ("补贴怎么领", False),
        ("以旧换新可以用几次", False),
    ],
)
def test_reads_like_complaint(text: str, expected: bool) -> None:
    assert reads_like_complaint(text) is expected


def test_a_complaint_keeps_no_unmasked_number_in_its_state_or_details(
    answering: Engine,
) -> None:
    step = respond(msg("我要投诉"), CONSUMER, answering)
    step = respond(msg("投诉"), step.state, answering)
    step = respond(msg("补贴未到账"), step.state, answering)
    step = respond(
        msg("身份证110105194912310021，手机138.1234.5678，补贴没到账"), step.state, answering
    )
    saved = step.state.to_json()
    assert "110105********0021" in saved
    assert "138****5678" in saved
    assert "110105194912310021" not in saved
    assert "1234.5678" not in saved
    step = respond(
        msg("110105194912310021 龙华电器城 手机 １３９ １２３４ ５６７８"), step.state, answering
    )
    [effect] = step.effects
    assert isinstance(effect, TicketEffect)
    assert (effect.order_no, effect.merchant_name, effect.contact_phone) == (
        None,
        "龙华电器城",
        "13912345678",
    )
    assert "110105194912310021" not in effect.description


# ---------------------------------------------------------------- the first question
def test_the_first_question_is_answered_once_the_role_is_chosen(answering: Engine) -> None:
    asked = respond(msg("补贴在哪里领"), FlowState(), answering)
    assert asked.replies[-1].text == texts.ASK_ROLE_THEN_ANSWER
    assert asked.replies[-1].choices == texts.ROLE_CHOICES
    step = respond(msg(texts.CHOICE_CONSUMER), asked.state, answering)
    assert step.replies[0].text == texts.ROLE_SET["consumer"]
    assert step.entry_id == "consumer-claim-how"
    assert step.replies[1].text == answering.kb.entry("consumer-claim-how").answer
    assert step.state.role is Audience.CONSUMER
    assert step.state.pending is None
    assert step.kind == "role"  # the digests count the question by its own text, not this
    later = respond(msg("/role"), step.state, answering)
    again = respond(msg(texts.CHOICE_MERCHANT), later.state, answering)
    assert [r.text for r in again.replies] == [texts.ROLE_SET["merchant"]]  # answered once


def test_a_question_after_the_welcome_is_not_welcomed_again(answering: Engine) -> None:
    started = respond(msg("/start"), FlowState(), answering)
    asked = respond(msg("补贴在哪里领"), started.state, answering)
    assert [r.text for r in asked.replies] == [texts.ASK_ROLE_THEN_ANSWER]
    assert asked.replies[0].choices == texts.ROLE_CHOICES
    assert FlowState.from_json(asked.state.to_json()) == asked.state
    step = respond(msg(texts.CHOICE_CONSUMER), asked.state, answering)
    assert step.entry_id == "consumer-claim-how"


def test_a_greeting_before_the_role_gets_no_second_answer(answering: Engine) -> None:
    asked = respond(msg("你好"), FlowState(), answering)
    step = respond(msg("1"), asked.state, answering)
    assert [r.text for r in step.replies] == [texts.ROLE_SET["consumer"]]


def test_the_question_kept_before_the_role_is_masked(abstaining: Engine) -> None:
    asked = respond(msg("我手机13812345678领不了补贴"), FlowState(), abstaining)
    assert "13812345678" not in asked.state.to_json()
    assert asked.state.pending == "我手机138****5678领不了补贴"
    assert FlowState.from_json(asked.state.to_json()) == asked.state
    step = respond(msg(texts.CHOICE_CONSUMER), asked.state, abstaining)
    assert [r.text for r in step.replies] == [texts.ROLE_SET["consumer"], texts.NO_ANSWER]


# ---------------------------------------------------------------- a message to a worked ticket
def test_a_question_to_a_worked_ticket_is_added_and_answered(answering: Engine) -> None:
    mine = _mine("assigned", ack=False)
    step = respond(msg("补贴在哪里领？"), CONSUMER, answering, None, mine)
    assert step.effects == [CustomerReplyEffect("T20250601-0001", "补贴在哪里领？")]
    assert step.replies[0].text == texts.SENT_TO_AGENT.format(ref="T20250601-0001")
    assert step.replies[1].text == answering.kb.entry("consumer-claim-how").answer
    assert step.entry_id == "consumer-claim-how"
    thanked = respond(msg(texts.CHOICE_HELPFUL), step.state, answering, None, mine)
    assert thanked.effects == [FeedbackEffect("consumer-claim-how", True)]  # not for the agent


@pytest.mark.parametrize(
    "text", ["好的，谢谢", "13912345678", "订单号 A1234567890", "已经重新下单了"]
)
def test_a_plain_reply_to_the_agent_gets_only_the_confirmation(
    answering: Engine, text: str
) -> None:
    # The engine here answers anything: only what asks something is put to it.
    step = respond(msg(text), CONSUMER, answering, None, _mine("assigned", ack=False))
    assert [r.text for r in step.replies] == [texts.SENT_TO_AGENT.format(ref="T20250601-0001")]
    assert step.effects == [CustomerReplyEffect("T20250601-0001", text)]


def test_a_question_to_a_worked_ticket_the_kb_cannot_answer_gets_no_abstention(
    abstaining: Engine,
) -> None:
    step = respond(msg("补贴在哪里领？"), CONSUMER, abstaining, None, _mine("assigned"))
    assert [r.text for r in step.replies] == [texts.SENT_TO_AGENT.format(ref="T20250601-0001")]
    assert isinstance(step.effects[0], CustomerReplyEffect)


# ---------------------------------------------------------------- the offer's text as description
def _to_description_step(text: str, engine: Engine, accept: str) -> list[Step]:
    steps = [respond(msg(text), CONSUMER, engine)]
    for said in (accept, "投诉", "商户拒用补贴"):
        steps.append(respond(msg(said), steps[-1].state, engine))
    return steps


def test_accepting_the_complaint_offer_takes_its_text_as_the_description(
    abstaining: Engine,
) -> None:
    story = "6月2日在龙华电器城，店员不让用补贴，态度太差了，电话13812345678"
    offer, *_, confirm = _to_description_step(story, abstaining, texts.CHOICE_COMPLAIN)
    assert offer.replies[0].text == texts.OFFER_COMPLAINT
    masked = "6月2日在龙华电器城，店员不让用补贴，态度太差了，电话138****5678"
    assert [r.text for r in confirm.replies] == [
        texts.CONFIRM_DESCRIPTION.format(description=masked)
    ]
    assert confirm.replies[0].choices[0] == texts.CHOICE_KEEP_DESCRIPTION
    assert "13812345678" not in confirm.state.to_json()
    details = respond(msg(texts.CHOICE_KEEP_DESCRIPTION), confirm.state, abstaining)
    assert details.replies[0].text == texts.ASK_DETAILS
    opened = respond(msg(texts.CHOICE_SKIP), details.state, abstaining)
    [effect] = opened.effects
    assert effect == TicketEffect("投诉", "商户拒用补贴", masked)


def test_the_description_taken_from_the_offer_can_be_replaced(abstaining: Engine) -> None:
    *_, confirm = _to_description_step("商家不让用补贴，太过分了", abstaining, "我要投诉")
    details = respond(
        msg("6月2日在龙华电器城买冰箱，店员说用补贴要加价"), confirm.state, abstaining
    )
    opened = respond(msg(texts.CHOICE_SKIP), details.state, abstaining)
    assert isinstance(opened.effects[0], TicketEffect)
    assert opened.effects[0].description == "6月2日在龙华电器城买冰箱，店员说用补贴要加价"


def test_a_hand_off_after_an_unanswered_question_carries_the_question(
    abstaining: Engine,
) -> None:
    question = "以旧换新的补贴为什么还没有到账"
    steps = _to_description_step(question, abstaining, texts.CHOICE_HUMAN)
    assert steps[0].replies[0].text == texts.NO_ANSWER
    assert steps[1].replies[0].text == texts.HANDOFF
    assert steps[-1].replies[0].text == texts.CONFIRM_DESCRIPTION.format(description=question)


def test_the_offer_is_forgotten_after_another_message(abstaining: Engine) -> None:
    offered = respond(msg("商家不让用补贴，太过分了"), CONSUMER, abstaining)
    other = respond(msg("你好"), offered.state, abstaining)
    steps = [respond(msg(texts.CHOICE_COMPLAIN), other.state, abstaining)]
    for said in ("投诉", "商户拒用补贴"):
        steps.append(respond(msg(said), steps[-1].state, abstaining))
    assert steps[-1].replies[0].text == texts.ASK_DESCRIPTION


def test_a_complaint_without_an_offer_asks_for_the_description(answering: Engine) -> None:
    *_, ask = _to_description_step("补贴在哪里领", answering, texts.CHOICE_COMPLAIN)
    assert ask.replies[0].text == texts.ASK_DESCRIPTION


# ---------------------------------------------------------------- the person's tickets
def _line(ref: str, status: str, hours: float) -> TicketLine:
    return TicketLine(ref, "投诉", "商户拒用补贴", status, NOW - timedelta(hours=hours))


@pytest.mark.parametrize("text", ["/status", "我的工单处理得怎么样了", "查询工单"])
def test_asking_about_my_tickets_lists_them_latest_first(abstaining: Engine, text: str) -> None:
    listing = [_line(f"T20250601-000{n}", "assigned", hours=n) for n in range(1, 8)]
    step = respond(msg(text), CONSUMER, abstaining, listing=listing[::-1])
    [reply] = step.replies
    lines = reply.text.splitlines()
    assert lines[0] == texts.MY_TICKETS_HEAD.format(count=5)
    assert lines[1].startswith(
        "1. T20250601-0001｜投诉·商户拒用补贴｜客服处理中｜更新于 06-02 16:00"
    )
    assert [line.split("｜")[0][3:] for line in lines[1:6]] == [
        f"T20250601-000{n}" for n in range(1, 6)
    ]
    assert "T20250601-0006" not in reply.text


def test_asking_about_my_tickets_without_any_offers_to_register_one(abstaining: Engine) -> None:
    step = respond(msg("我的投诉怎么样了"), CONSUMER, abstaining)
    assert [r.text for r in step.replies] == [texts.NO_TICKETS]
    assert step.replies[0].choices == (texts.CHOICE_COMPLAIN, texts.CHOICE_HUMAN)


def test_asking_about_my_tickets_during_an_intake_is_its_description(abstaining: Engine) -> None:
    state = FlowState(
        Audience.CONSUMER,
        intake=(("step", "description"), ("type", "投诉"), ("category", "其他")),
    )
    step = respond(msg("我的投诉一直没人处理，商家还在拒用补贴"), state, abstaining)
    assert step.state.intake_step == "details"


def test_suggestions_for_a_complaint_keep_the_offer(suggesting: Engine) -> None:
    step = respond(msg("店员不让用补贴，太过分了"), CONSUMER, suggesting)
    assert [r.text for r in step.replies] == [texts.DID_YOU_MEAN, texts.OFFER_COMPLAINT]
    accepted = respond(msg(texts.CHOICE_COMPLAIN), step.state, suggesting)
    assert dict(accepted.state.intake)["description"] == "店员不让用补贴，太过分了"
