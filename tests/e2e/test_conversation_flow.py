"""The conversation as a new user meets it, on Telegram and the web: the first question is
answered once the role is chosen, 我的工单 lists the person's own tickets, the story that
offered a complaint becomes its description, a message to a worked ticket is added to it and
answered, and a ticket opened soon after a high-risk message carries its verdict."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.serve import Server
from escalation.routing import Actor
from escalation.tickets.rules import find_reference
from handlers import texts
from storage.models import Ticket, TicketAudit, TicketEntry
from tests.support.botapi import BotApiEmulator, ChatHandle
from tests.support.journeys import (
    AGENT_ID,
    SUPERVISORS_CHAT,
    complain,
    groups,
)
from tests.support.servers import running_server

THREAT = "补贴一直不到账，再不处理我就打12345投诉，还要发抖音曝光你们！电话13812345678"
CALM = "店员说今天不能用补贴，想问问原因"
STORY = "6月2日在龙华电器城买冰箱，店员不让用补贴，态度太差了，电话13812345678"
STORY_MASKED = "6月2日在龙华电器城买冰箱，店员不让用补贴，态度太差了，电话138****5678"
AGENT = Actor(f"agent:{AGENT_ID}", "小王", "agent")


async def _say(srv: Server, session: str, text: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(srv.url + "api/messages", json={"session": session, "text": text}) as resp,
    ):
        body = await resp.json()
        assert resp.status == 200, body
        replies: list[dict[str, Any]] = body["replies"]
        return replies


async def _web_complaint(srv: Server, session: str, description: str = CALM) -> str:
    for text in ("我要投诉", "投诉", "商户拒用补贴", description):
        await _say(srv, session, text)
    [opened] = await _say(srv, session, texts.CHOICE_SKIP)
    ref = find_reference(str(opened["text"]))
    assert ref is not None, opened
    return ref


async def _ticket_rows(
    srv: Server, ref: str
) -> tuple[Ticket, list[TicketAudit], list[TicketEntry]]:
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.reference == ref))).scalar_one()
        audit = list(
            (await s.execute(select(TicketAudit).where(TicketAudit.ticket_id == ticket.id)))
            .scalars()
            .all()
        )
        entries = list(
            (await s.execute(select(TicketEntry).where(TicketEntry.ticket_id == ticket.id)))
            .scalars()
            .all()
        )
    return ticket, audit, entries


# ---------------------------------------------------------------- the web API
async def test_web_first_question_is_answered_once_the_role_is_chosen(server: Server) -> None:
    greeting = await _say(server, "w1", "补贴怎么领")
    assert greeting[-1]["text"] == texts.ASK_ROLE_THEN_ANSWER
    role, answer = await _say(server, "w1", texts.CHOICE_CONSUMER)
    assert role["text"] == texts.ROLE_SET["consumer"]
    assert "龙华惠购" in answer["text"]
    assert answer["choices"] == list(texts.FEEDBACK_CHOICES)


async def test_web_my_tickets_lists_the_persons_own_tickets(server: Server) -> None:
    await _say(server, "w2", texts.CHOICE_CONSUMER)
    [none] = await _say(server, "w2", "我的工单处理得怎么样了")
    assert none["text"] == texts.NO_TICKETS
    first = await _web_complaint(server, "w2")
    second = await _web_complaint(server, "w2", "店员说补贴要加价才能用，不合理")
    await _say(server, "w3", texts.CHOICE_CONSUMER)
    theirs = await _web_complaint(server, "w3")
    [listed] = await _say(server, "w2", "我的工单处理得怎么样了")
    lines = str(listed["text"]).splitlines()
    assert lines[0] == texts.MY_TICKETS_HEAD.format(count=2)
    assert lines[1].startswith(f"1. {second}｜投诉·商户拒用补贴｜{texts.STATUS_NAMES['new']}")
    assert lines[2].startswith(f"2. {first}｜")
    assert theirs not in listed["text"]
    [by_command] = await _say(server, "w2", "/status")
    assert by_command["text"] == listed["text"]


async def test_web_the_story_that_offered_a_complaint_is_its_description(
    server: Server,
) -> None:
    await _say(server, "w4", texts.CHOICE_CONSUMER)
    offered = await _say(server, "w4", STORY)
    assert offered[-1]["text"] == texts.OFFER_COMPLAINT
    await _say(server, "w4", texts.CHOICE_COMPLAIN)
    await _say(server, "w4", "投诉")
    [confirm] = await _say(server, "w4", "商户拒用补贴")
    assert confirm["text"] == texts.CONFIRM_DESCRIPTION.format(description=STORY_MASKED)
    [details] = await _say(server, "w4", texts.CHOICE_KEEP_DESCRIPTION)
    assert details["text"] == texts.ASK_DETAILS
    [opened] = await _say(server, "w4", texts.CHOICE_SKIP)
    ref = find_reference(str(opened["text"]))
    assert ref is not None
    ticket, _, _ = await _ticket_rows(server, ref)
    assert ticket.summary == STORY_MASKED


async def test_web_a_question_to_a_worked_ticket_is_added_and_answered(server: Server) -> None:
    runtime = server.runtime
    assert runtime is not None
    await _say(server, "w5", texts.CHOICE_CONSUMER)
    ref = await _web_complaint(server, "w5")
    await runtime.agents.add(AGENT_ID, "小王", "agent", runtime.clock.now())
    await runtime.desk.reply(ref, AGENT, "您好，已联系商户核实。", runtime.clock.now())
    [ack] = await _say(server, "w5", "好的，谢谢")
    assert ack["text"] == texts.SENT_TO_AGENT.format(ref=ref)
    added, answer = await _say(server, "w5", "补贴怎么领？")
    assert added["text"] == texts.SENT_TO_AGENT.format(ref=ref)
    assert "龙华惠购" in answer["text"]
    _, _, entries = await _ticket_rows(server, ref)
    said = [e.text for e in entries if e.kind == "customer"]
    assert said[-2:] == ["好的，谢谢", "补贴怎么领？"]


async def test_web_a_ticket_soon_after_a_threat_carries_its_verdict(
    clocked_server: Server, clock: ManualClock
) -> None:
    await _say(clocked_server, "w6", texts.CHOICE_CONSUMER)
    await _say(clocked_server, "w6", THREAT)
    clock.advance(timedelta(minutes=10))
    linked = await _web_complaint(clocked_server, "w6")
    ticket, audit, entries = await _ticket_rows(clocked_server, linked)
    assert ticket.priority == "P1"
    [risk] = [a for a in audit if a.action == "risk"]
    assert (risk.after or "").startswith("high: ")
    assert "media-exposure" in (risk.after or "")
    [note] = [e for e in entries if e.kind == "system"]
    assert "媒体曝光" in note.text
    assert "13812345678" not in note.text
    # Long after the threat, a calm complaint is routine again.
    clock.advance(timedelta(minutes=31))
    later = await _web_complaint(clocked_server, "w6")
    ticket, audit, _ = await _ticket_rows(clocked_server, later)
    assert ticket.priority == "P2"
    assert not [a for a in audit if a.action == "risk"]


# ---------------------------------------------------------------- Telegram
@pytest.fixture
async def tg_server(database_url: str, emulator: BotApiEmulator) -> AsyncIterator[Server]:
    async with running_server(database_url, emulator) as srv:
        yield srv


async def _replies(chat: ChatHandle, count: int) -> list[str]:
    return [(await chat.next_reply()).text or "" for _ in range(count)]


@pytest.mark.usefixtures("tg_server")
async def test_telegram_first_question_is_answered_and_my_tickets_listed(
    emulator: BotApiEmulator,
) -> None:
    chat = emulator.private_chat(user_id=6101)
    await chat.send("补贴怎么领")
    welcome, ask = await chat.next_reply(), await chat.next_reply()
    assert (welcome.text or "").startswith("您好！")
    assert ask.text == texts.ASK_ROLE_THEN_ANSWER
    assert ask.buttons == list(texts.ROLE_CHOICES)
    await chat.press(texts.CHOICE_CONSUMER)
    role, answer = await _replies(chat, 2)
    assert role == texts.ROLE_SET["consumer"]
    assert "龙华惠购" in answer
    await chat.send("我的投诉怎么样了")
    assert await _replies(chat, 1) == [texts.NO_TICKETS]
    ref = await complain(chat, CALM)
    await chat.send("我的工单处理得怎么样了")
    [listed] = await _replies(chat, 1)
    assert listed.splitlines()[1].startswith(f"1. {ref}｜投诉·商户拒用补贴｜")


async def test_telegram_offer_threat_and_a_worked_ticket(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    chat = emulator.private_chat(user_id=6102)
    await chat.send(texts.CHOICE_CONSUMER)
    await chat.next_reply()
    await chat.send(THREAT)  # alerts the supervisors, offers a complaint
    await emulator.wait_until(
        lambda: any(
            (m.text or "").startswith("🔴") for m in emulator.sent_messages(SUPERVISORS_CHAT)
        ),
        10,
        "the supervisors' alert",
    )
    while (await chat.next_reply()).text != texts.OFFER_COMPLAINT:
        pass
    await chat.press(texts.CHOICE_COMPLAIN)
    await _replies(chat, 2)
    await chat.press("投诉")
    await chat.next_reply()
    await chat.press("补贴未到账")
    confirm = await chat.next_reply()
    masked = THREAT.replace("13812345678", "138****5678")
    assert confirm.text == texts.CONFIRM_DESCRIPTION.format(description=masked)
    await chat.press(texts.CHOICE_KEEP_DESCRIPTION)
    await chat.next_reply()
    await chat.press(texts.CHOICE_SKIP)
    ref = find_reference((await chat.next_reply()).text or "")
    assert ref is not None
    ticket, audit, entries = await _ticket_rows(tg_desk, ref)
    assert ticket.summary == masked
    assert ticket.priority == "P1"
    assert any(a.action == "risk" and (a.after or "").startswith("high") for a in audit)
    assert any(e.kind == "system" and "已预警主管" in e.text for e in entries)

    card = await agents_group.next_reply()
    assert ref in (card.text or "")
    agent = agents_group.member(AGENT_ID, "小王")
    await agent.send("您好，已联系商户核实，请稍候。", reply_to=card)
    await agents_group.next_reply()  # 已发送给客户
    await chat.next_reply()  # the agent's reply
    await chat.send("好的，商户名叫某某电器")
    assert await _replies(chat, 1) == [texts.SENT_TO_AGENT.format(ref=ref)]
    await chat.send("以旧换新怎么参加？")  # no longer silence: added, and answered
    added, answer = await _replies(chat, 2)
    assert added == texts.SENT_TO_AGENT.format(ref=ref)
    assert "以旧换新" in answer
    relayed = [await agents_group.next_reply() for _ in range(2)]
    assert "某某电器" in (relayed[0].text or "")
    assert "以旧换新怎么参加" in (relayed[1].text or "")
