"""The web chat's JSON API against the running server and a real database."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from bot.db import make_sessions
from bot.serve import Server
from escalation.tickets.rules import find_reference
from handlers import texts
from storage.models import Feedback, Message


async def _post(srv: Server, body: object) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(srv.url + "api/messages", json=body) as resp,
    ):
        return resp.status, await resp.json()


async def _say(srv: Server, session: str, text: str) -> list[dict[str, Any]]:
    status, body = await _post(srv, {"session": session, "text": text})
    assert status == 200, body
    replies = body["replies"]
    assert isinstance(replies, list)
    return replies


async def test_web_journey_answers_records_feedback_and_hand_off(server: Server) -> None:
    greeting = await _say(server, "s1", "/start")
    assert greeting[-1]["choices"] == list(texts.ROLE_CHOICES)
    assert (await _say(server, "s1", texts.CHOICE_CONSUMER))[0]["text"] == texts.ROLE_SET[
        "consumer"
    ]
    [answer] = await _say(server, "s1", "补贴怎么领")
    assert "龙华惠购" in str(answer["text"])
    assert answer["choices"] == list(texts.FEEDBACK_CHOICES)
    [sorry] = await _say(server, "s1", texts.CHOICE_UNHELPFUL)
    assert sorry["text"] == texts.SORRY_UNHELPFUL
    handoff, ask_type = await _say(server, "s1", texts.CHOICE_HUMAN)
    assert handoff["text"] == texts.HANDOFF
    assert ask_type["text"] == texts.ASK_TICKET_TYPE
    assert server.runtime is not None
    counts = await server.runtime.store.counts()
    assert counts == {"users": 1, "messages": 12, "feedback": 1, "handoffs": 1}


async def test_a_complaint_is_taken_down_into_a_ticket_the_user_can_look_up(
    server: Server,
) -> None:
    await _say(server, "c1", texts.CHOICE_CONSUMER)
    [_, ask_type] = await _say(server, "c1", "我要投诉")
    assert "投诉" in ask_type["choices"]
    [ask_category] = await _say(server, "c1", "投诉")
    assert "商户拒用补贴" in ask_category["choices"]
    [ask_text] = await _say(server, "c1", "商户拒用补贴")
    assert ask_text["text"] == texts.ASK_DESCRIPTION
    [too_short] = await _say(server, "c1", "不让用")
    assert too_short["text"] == texts.DESCRIPTION_TOO_SHORT
    await _say(server, "c1", "6月2日在龙华电器城买冰箱，店员说用补贴要加价")
    [opened] = await _say(server, "c1", "订单号 202506021234567890 电话 13812345678")
    ref = find_reference(str(opened["text"]))
    assert ref is not None
    [status] = await _say(server, "c1", f"查询工单 {ref}")
    assert status["text"] == texts.TICKET_STATUS.format(
        ref=ref, type="投诉", category="商户拒用补贴", status=texts.STATUS_NAMES["new"]
    )
    [missing] = await _say(server, "c1", "/status T20990101-0001")
    assert missing["text"] == texts.TICKET_NOT_FOUND.format(ref="T20990101-0001")
    # Someone else quoting the reference learns nothing: the same answer as an unknown one,
    # in every spelling of the request; with the phone given at intake, the owner's answer.
    await _say(server, "other", texts.CHOICE_CONSUMER)
    for asked in (f"查询工单 {ref}", f"/status {ref.lower()}"):
        [theirs] = await _say(server, "other", asked)
        assert theirs["text"] == texts.TICKET_NOT_FOUND.format(ref=ref), asked
        assert "商户拒用补贴" not in theirs["text"]
    [wrong_phone] = await _say(server, "other", f"查询工单 {ref} 13900000000")
    assert wrong_phone["text"] == texts.TICKET_NOT_FOUND.format(ref=ref)
    [by_phone] = await _say(server, "other", f"查询工单 {ref} 138-1234-5678")
    assert by_phone["text"] == status["text"]
    assert server.runtime is not None
    ticket = await server.runtime.core.tickets.get(ref)
    assert ticket is not None
    assert "加价" in ticket.summary


async def test_an_intake_can_be_cancelled(server: Server) -> None:
    await _say(server, "c2", texts.CHOICE_CONSUMER)
    await _say(server, "c2", "/complain")
    [cancelled] = await _say(server, "c2", texts.CHOICE_CANCEL)
    assert cancelled["text"] == texts.INTAKE_CANCELLED
    [answer] = await _say(server, "c2", "补贴怎么领")
    assert "龙华惠购" in str(answer["text"])


async def test_the_same_client_message_id_is_answered_once(server: Server) -> None:
    await _say(server, "s2", texts.CHOICE_CONSUMER)
    body = {"session": "s2", "text": "补贴怎么领", "id": "m-1"}
    first = await _post(server, body)
    second = await _post(server, body)
    # A retry is answered with what was recorded for it, not answered anew.
    assert first[0] == 200
    assert second == first
    assert first[1]["replies"]
    assert server.runtime is not None
    assert (await server.runtime.store.counts())["messages"] == 4


async def test_bad_requests_get_a_4xx_with_a_message(server: Server) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.url + "api/messages", data=b"{not json") as resp,
    ):
        assert resp.status == 400
        assert "JSON" in (await resp.json())["error"]
    status, body = await _post(server, ["list"])
    assert status == 400
    status, body = await _post(server, {"session": "bad session!", "text": "x"})
    assert status == 400
    assert "session" in str(body["error"])
    status, body = await _post(server, {"session": "s3", "text": 5})
    assert status == 400
    status, body = await _post(server, {"session": "s3", "text": "长" * 10_001})
    assert status == 413


async def test_a_long_message_and_an_unknown_command_get_clear_replies(server: Server) -> None:
    await _say(server, "s4", texts.CHOICE_CONSUMER)
    assert (await _say(server, "s4", "补" * 5000))[0]["text"] == texts.TOO_LONG
    assert (await _say(server, "s4", "/nope"))[0]["text"] == texts.UNKNOWN_COMMAND


async def test_health_reports_database_and_kb(server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.url + "healthz") as resp:
        body = await resp.json()
    assert resp.status == 200
    assert body["db"] == "ok"
    assert body["kb"]["entries"] >= 80


async def test_the_page_and_campaign_name_are_served(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url) as resp:
            assert resp.status == 200
            assert "活动智能客服" in await resp.text()
        async with http.get(server.url + "api/info") as resp:
            assert "龙华区" in (await resp.json())["campaign"]


async def _press(
    srv: Server, session: str, reply: dict[str, Any], label: str
) -> list[dict[str, Any]]:
    """Press a button of an earlier reply, as the page does: its label and where it was."""
    press = {"reply": reply["reply"], "choice": reply["choices"].index(label)}
    status, body = await _post(srv, {"session": session, "text": label, "press": press})
    assert status == 200, body
    replies = body["replies"]
    assert isinstance(replies, list)
    return replies


async def _feedback_and_kinds(srv: Server) -> tuple[list[tuple[str, bool]], list[str]]:
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        feedback = (await s.execute(select(Feedback.kb_entry_id, Feedback.helpful))).all()
        kinds = (
            await s.execute(
                select(Message.kind).where(Message.direction == "in").order_by(Message.id)
            )
        ).scalars()
        return [(str(e), bool(h)) for e, h in feedback], list(kinds)


async def test_unhelpful_on_an_earlier_answer_rates_that_answer_not_a_question(
    server: Server,
) -> None:
    await _say(server, "fb", texts.CHOICE_CONSUMER)
    [first] = await _say(server, "fb", "补贴怎么领")  # consumer-claim-how
    [second] = await _say(server, "fb", "发票怎么开")  # consumer-invoice-how
    assert first["choices"] == second["choices"] == list(texts.FEEDBACK_CHOICES)
    assert first["reply"] != second["reply"]

    [sorry] = await _press(server, "fb", first, texts.CHOICE_UNHELPFUL)
    assert sorry["text"] == texts.SORRY_UNHELPFUL
    [again] = await _press(server, "fb", first, texts.CHOICE_UNHELPFUL)
    assert again["text"] == texts.FEEDBACK_ALREADY
    [thanks] = await _press(server, "fb", second, texts.CHOICE_HELPFUL)
    assert thanks["text"] == texts.THANKS_FOR_FEEDBACK

    feedback, kinds = await _feedback_and_kinds(server)
    assert feedback == [("consumer-claim-how", False), ("consumer-invoice-how", True)]
    assert kinds == ["role", "question", "question", "feedback", "feedback", "feedback"]


async def test_a_button_of_a_step_long_past_says_it_has_expired(server: Server) -> None:
    await _say(server, "old", texts.CHOICE_CONSUMER)
    [offer] = await _say(server, "old", "手机能参加吗")  # "您是想问……"
    assert offer["text"] == texts.DID_YOU_MEAN
    await _say(server, "old", "补贴怎么领")
    [expired] = await _press(server, "old", offer, texts.NONE_OF_THESE)
    assert expired["text"] == texts.BUTTON_EXPIRED
    # A reply of someone else's conversation is no button of this one.
    await _say(server, "other", texts.CHOICE_CONSUMER)
    [theirs] = await _press(server, "other", offer, texts.NONE_OF_THESE)
    assert theirs["text"] == texts.BUTTON_EXPIRED
    _, kinds = await _feedback_and_kinds(server)
    assert kinds == ["role", "question", "question", "expired", "role", "expired"]


async def test_a_malformed_press_is_refused(server: Server) -> None:
    for press in ("1:0", {"reply": "1", "choice": 0}, {"reply": 1}, {"reply": True, "choice": 0}):
        status, body = await _post(server, {"session": "bad", "text": "没帮助", "press": press})
        assert status == 400, press
        assert body["error"] == texts.WEB_BAD_PRESS
