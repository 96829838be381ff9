"""The agents' desk end to end: the real Telegram Application against the Bot API emulator.

A consumer complains in a private chat; the card appears in the agents' group; an agent
claims it, replies to the card, the consumer answers, the agent closes, the consumer rates.
SLA warnings and breaches reach the chats once each.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import ManualClock, utc_now
from bot.serve import Server
from escalation.tickets import notices
from handlers import texts
from handlers.texts import DESK_REFUSED as REFUSED
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    SUPERVISORS_CHAT,
    complain,
    desk_server,
    groups,
    sla_file,
)


async def test_a_complaint_is_worked_from_the_agents_group_to_a_rating(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5512, first_name="小明")
    ref = await complain(consumer)

    card = await agents_group.next_reply()
    assert ref in (card.text or "")
    assert "未认领" in (card.text or "")
    assert card.buttons == ["认领", "升级", "关闭"]

    agent = agents_group.member(AGENT_ID, "小王")
    press = await agent.press("认领", message_id=card.message_id)
    await press.wait_answer()
    await emulator.wait_until(
        lambda: "处理人：小王" in (emulator.sent_messages(AGENTS_CHAT)[0].text or ""),
        5,
        "the card showing the assignee",
    )

    await agent.send("您好，已联系商户核实，请稍候。", reply_to=card)
    confirm = await agents_group.next_reply()
    assert "已发送给客户" in (confirm.text or "")
    relayed = await consumer.next_reply()
    assert relayed.text == notices.AGENT_REPLY.format(
        ref=ref, text="您好，已联系商户核实，请稍候。"
    )

    await consumer.send("好的，商户名叫某某电器")
    ack = await consumer.next_reply()
    assert ack.text == texts.SENT_TO_AGENT.format(ref=ref)
    into_thread = await agents_group.next_reply()
    assert "某某电器" in (into_thread.text or "")
    assert ref in (into_thread.text or "")
    assert into_thread.raw.get("reply_to_message", {}).get("message_id") == card.message_id

    await agent.send(f"/close {ref} 已协调商户补发补贴")
    assert "已办结" in ((await agents_group.next_reply()).text or "")
    closing = await consumer.next_reply()
    assert "已协调商户补发补贴" in (closing.text or "")
    assert closing.buttons == ["1", "2", "3", "4", "5", "问题没解决"]

    await consumer.press("5", message_id=closing.message_id)
    assert (await consumer.next_reply()).text == texts.CSAT_THANKS
    await consumer.send("处理很及时")
    assert (await consumer.next_reply()).text == texts.CSAT_COMMENT_THANKS

    assert tg_desk.runtime is not None
    detail = await tg_desk.runtime.desk.views.detail(ref, utc_now())
    assert detail.row.status == "closed"
    assert detail.row.assignee == "小王"
    assert detail.row.csat == 5
    assert [k for k, *_ in detail.thread] == ["customer", "agent", "customer", "agent"]
    results = {(c.clock, c.cycle): c.result for c in detail.clocks}
    assert results == {
        ("first_response", 0): "met",
        ("resolution", 0): "met",
        ("next_response", 0): "met",
    }
    assert all(c.used_minutes is not None for c in detail.clocks)
    actions = [a[1] for a in detail.audit]
    for expected in ("open", "assign", "status", "reply", "customer_message", "csat"):
        assert expected in actions
    assert ("agent:7001", "status", "assigned", "closed") in [
        (a[0], a[1], a[2], a[3]) for a in detail.audit
    ]


async def test_someone_not_registered_is_refused_and_nothing_changes(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5513)
    ref = await complain(consumer)
    card = await agents_group.next_reply()

    stranger = agents_group.member(8888, "路人")
    press = await stranger.press("认领", message_id=card.message_id)
    answer = await press.wait_answer()
    assert answer.get("text") == REFUSED[:190]
    assert answer.get("show_alert") is True
    await stranger.send(f"/close {ref} 我来关掉")
    assert (await agents_group.next_reply()).text == REFUSED
    await stranger.send("我替客服回复一下", reply_to=card)
    assert (await agents_group.next_reply()).text == REFUSED
    await consumer.send(f"/close {ref} 好了")  # a customer trying the desk's commands
    assert (await consumer.next_reply()).text == REFUSED

    assert tg_desk.runtime is not None
    detail = await tg_desk.runtime.desk.views.detail(ref, utc_now())
    assert detail.row.status == "new"
    assert detail.row.assignee is None
    assert [a[1] for a in detail.audit] == ["open"]
    assert [k for k, *_ in detail.thread] == ["customer"]


async def test_desk_commands_list_show_note_and_wait_on_the_customer(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5514)
    ref = await complain(consumer)
    await agents_group.next_reply()
    agent = agents_group.member(AGENT_ID, "小王")

    await agent.send("/queue")
    queue = (await agents_group.next_reply()).text or ""
    assert ref in queue
    assert "办结剩余" in queue
    await agent.send(f"/note {ref} 商户电话已打过，未接")
    assert "内部备注" in ((await agents_group.next_reply()).text or "")
    await consumer.assert_no_reply()  # notes are never relayed
    await agent.send(f"/pending {ref} 请提供购物小票照片")
    assert "等待客户" in ((await agents_group.next_reply()).text or "")
    assert "请提供购物小票照片" in ((await consumer.next_reply()).text or "")
    await agent.send(f"/ticket {ref}")
    shown = (await agents_group.next_reply()).text or ""
    assert "等待客户" in shown
    assert "内部备注" in shown
    assert "已暂停" in shown
    await agent.send("/mine")
    assert ref in ((await agents_group.next_reply()).text or "")
    await agent.send(f"/kb {ref} 退款后补贴怎么处理")
    found = await agents_group.next_reply()
    assert found.buttons
    assert found.buttons[0].startswith("发送第 1 条")
    press = await agent.press(found.buttons[0], message_id=found.message_id)
    await press.wait_answer()
    canned = await consumer.next_reply()
    assert (canned.text or "").startswith(f"客服回复（工单 {ref}）")

    # The customer answers: the ticket is worked again and its clocks run on.
    await consumer.send("小票照片稍后发，先说一下情况")
    await consumer.next_reply()
    assert tg_desk.runtime is not None
    detail = await tg_desk.runtime.desk.views.detail(ref, utc_now())
    assert detail.row.status == "assigned"
    first = next(c for c in detail.clocks if c.clock == "first_response")
    assert first.result == "met"
    resolution = next(c for c in detail.clocks if c.clock == "resolution")
    assert resolution.state == "on_track"


async def test_sla_warning_then_breach_reach_the_chats_once_each(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path, clock: ManualClock
) -> None:
    # The warning at half of it; the other clocks (1 h, 2 h) warn after the test.
    sla = sla_file(tmp_path, first="10m")
    srv = await desk_server(database_url, emulator, sla, clock)
    try:
        groups(emulator)  # the bot is a member of both chats
        consumer = emulator.private_chat(user_id=5515)
        ref = await complain(consumer)

        def texts_in(chat: int) -> list[str]:
            return [m.text or "" for m in emulator.sent_messages(chat)]

        clock.advance(timedelta(minutes=6))
        await srv.run_now("sla-sweep")
        await srv.run_now("outbox")
        assert any(t.startswith("⚠️") and ref in t for t in texts_in(AGENTS_CHAT)), "the warning"
        clock.advance(timedelta(minutes=5))
        for _ in range(3):  # the sweep that finds the breach, and several more
            await srv.run_now("sla-sweep")
        await srv.run_now("outbox")
        assert any("已超时" in t and ref in t for t in texts_in(SUPERVISORS_CHAT)), (
            "the breach notice in the supervisors' chat"
        )
        in_agents = [t for t in texts_in(AGENTS_CHAT) if "截止" in t and "首次响应" in t]
        warnings = [t for t in in_agents if t.startswith("⚠️")]
        breaches = [t for t in in_agents if t.startswith("🚨")]
        assert len(warnings) == 1, in_agents
        assert len(breaches) == 1, in_agents
        assert len([t for t in texts_in(SUPERVISORS_CHAT) if t.startswith("🚨")]) == 1
        assert not [t for t in texts_in(SUPERVISORS_CHAT) if t.startswith("⚠️")]
        assert srv.runtime is not None
        detail = await srv.runtime.desk.views.detail(ref, clock.now())
        first = next(c for c in detail.clocks if c.clock == "first_response")
        assert first.state == "breached"
    finally:
        await srv.stop()
