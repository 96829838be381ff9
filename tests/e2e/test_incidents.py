"""Incidents under the emergency plan end to end, with the plan's durations compressed to
seconds: complaints open a Ⅲ incident, the chain tells on-call then the supervisors, an
acknowledgement stops it, the bureau gets 初报, 续报 and 终报, and users asking meanwhile
get the incident's notice."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.serve import Server
from handlers import texts
from handlers.texts import DESK_REFUSED as REFUSED
from storage.models import Incident, IncidentTimer, Message
from tests.support.botapi import BotApiEmulator, ChatHandle
from tests.support.incidents import cards, fast_plan, incident_server, plan_chats
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    BUREAU_CHAT,
    LEADERSHIP_CHAT,
    SUPERVISOR_ID,
    SUPERVISORS_CHAT,
    complain,
)

_INCIDENT = re.compile(r"I\d{8}-\d{2}")
PHONE = "13812345678"


async def answer_to(emu: BotApiEmulator, chat: int, sent: Any) -> str:
    """The bot's reply to one message of ours (the chat has other traffic too)."""

    def found() -> list[str]:
        return [
            m.text or ""
            for m in emu.sent_messages(chat)
            if m.raw.get("reply_to_message", {}).get("message_id") == sent.message_id
        ]

    await emu.wait_until(lambda: bool(found()), 5, f"the answer to {sent.message_id}")
    return found()[0]


def reports(emu: BotApiEmulator, name: str) -> list[str]:
    return [m.text or "" for m in emu.sent_messages(BUREAU_CHAT) if f"的{name}" in (m.text or "")]


async def sweep_at(srv: Server, clock: ManualClock, at: datetime, *, sweeps: int = 1) -> None:
    """Move the clock to `at`, run the sweep (and more), and send what it queued."""
    clock.set(at)
    for _ in range(sweeps):
        await srv.run_now("sla-sweep")
    await srv.run_now("outbox")


async def test_complaints_open_an_incident_that_runs_through_the_plan(
    tg_incidents: Server, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    runtime = tg_incidents.runtime
    assert runtime is not None
    consumers = [emulator.private_chat(user_id=9000 + n) for n in range(20)]
    refs = await asyncio.gather(
        *(
            complain(c, f"APP一直打不开，领不了补贴券，电话{PHONE}", category="系统故障")
            for c in consumers
        )
    )
    assert len(set(refs)) == 20

    await emulator.wait_until(
        lambda: (
            bool(emulator.sent_messages(AGENTS_CHAT))
            and any(_INCIDENT.search(m.text or "") for m in emulator.sent_messages(AGENTS_CHAT))
        ),
        10,
        "the incident card in the on-call chat",
    )
    active = await runtime.incidents.active()
    assert len(active) == 1
    incident = active[0]
    ref = incident.reference
    assert incident.level == "III"
    assert incident.source == "detected"
    assert incident.category == "系统故障"
    assert len(cards(emulator, AGENTS_CHAT, ref)) == 1
    assert not cards(emulator, SUPERVISORS_CHAT, ref)

    # Nobody acknowledges: after the first step's wait (2.4 s) the supervisors are told.
    await sweep_at(tg_incidents, clock, incident.opened_at + timedelta(seconds=2.5))
    assert cards(emulator, SUPERVISORS_CHAT, ref), "the supervisors' card"
    card = next(
        m
        for m in emulator.sent_messages(AGENTS_CHAT)
        if (m.text or "").startswith("🚨 事件") and ref in (m.text or "")
    )
    assert card.buttons == ["确认", "已缓解", "已解决", "升级", "降级"]

    # A user asking meanwhile gets the incident's notice, and the message is linked to it.
    asker = emulator.private_chat(user_id=9100)
    await asker.send(texts.CHOICE_CONSUMER)
    await asker.next_reply()
    await asker.send("领券页面打不开，一直转圈怎么办")
    notice = await asker.next_reply()
    assert (notice.text or "").startswith("【已知问题】")
    assert "正在紧急处理" in (notice.text or "")

    # A stranger's press is refused; the on-call agent's acknowledges and stops the chain.
    stranger = emulator.group(AGENTS_CHAT, "客服组").member(8888, "路人")
    refused = await (await stranger.press("确认", message_id=card.message_id)).wait_answer()
    assert refused.get("text") == REFUSED[:190]
    agent = emulator.group(AGENTS_CHAT, "客服组").member(AGENT_ID, "小王")
    await (await agent.press("确认", message_id=card.message_id)).wait_answer()
    acked = await runtime.incidents.detail(ref)
    assert acked.view.status == "acknowledged"
    await emulator.wait_until(
        lambda: (
            "已确认（小王）" in (emulator.sent_messages(AGENTS_CHAT)[-1].text or "")
            or any("已确认（小王）" in (m.text or "") for m in emulator.sent_messages(AGENTS_CHAT))
        ),
        5,
        "the card edited to acknowledged",
    )
    # Past the moment the chain would have run again (open + 2.4 s + 6 s): nothing more.
    await sweep_at(tg_incidents, clock, incident.opened_at + timedelta(seconds=9.5), sweeps=3)
    assert len(cards(emulator, AGENTS_CHAT, ref)) == 1
    assert len(cards(emulator, SUPERVISORS_CHAT, ref)) == 1
    assert not cards(emulator, LEADERSHIP_CHAT, ref)

    # 初报: drafted at opening, sent to the bureau once a supervisor approves it.
    supervisor = emulator.group(SUPERVISORS_CHAT, "主管组").member(SUPERVISOR_ID, "李主管")
    sent = await agent.send(f"/update {ref} 已联系用户{PHONE}，正在重启领券服务")
    assert "已记录" in await answer_to(emulator, AGENTS_CHAT, sent)
    sent = await supervisor.send(f"/approve {ref}")
    assert "初报：待报送" in await answer_to(emulator, SUPERVISORS_CHAT, sent)
    await emulator.wait_until(lambda: bool(reports(emulator, "初报")), 5, "the 初报")
    first = reports(emulator, "初报")[0]
    assert ref in first
    assert "Ⅲ级（较大）" in first
    assert "涉及工单20件" in first
    within = clock.now() - incident.opened_at
    assert within.total_seconds() < 120  # the level's first_report deadline

    # 续报 at the follow-up interval (6 s), with what changed since the 初报.
    await sweep_at(tg_incidents, clock, clock.now() + timedelta(seconds=6.5))
    assert reports(emulator, "续报"), "the 续报"
    sent = await agent.send(f"/resolve {ref} 领券服务节点宕机，已扩容恢复")
    assert "已解决" in await answer_to(emulator, AGENTS_CHAT, sent)
    # 终报 at the final-report deadline (3 s) after resolution (the plan sends it by itself).
    await sweep_at(tg_incidents, clock, clock.now() + timedelta(seconds=3.5))
    assert reports(emulator, "终报"), "the 终报"
    final = reports(emulator, "终报")[0]
    assert "领券服务节点宕机" in final
    assert "持续时间" in final
    # More sweeps, later still: nothing is sent twice.
    await sweep_at(tg_incidents, clock, clock.now() + timedelta(seconds=10), sweeps=3)
    assert len(reports(emulator, "初报")) == 1
    assert len(reports(emulator, "终报")) == 1
    follow_ups = len(reports(emulator, "续报"))
    assert follow_ups >= 1

    bureau = [m.text or "" for m in emulator.sent_messages(BUREAU_CHAT)]
    assert len(bureau) == 2 + follow_ups  # reports only
    assert all(t.startswith("关于") for t in bureau)
    assert not any(PHONE in t for t in bureau)

    detail = await runtime.incidents.detail(ref)
    kinds = [e[0] for e in detail.events]
    for expected in ("open", "notify", "ack", "note", "report", "resolve"):
        assert expected in kinds, kinds
    assert detail.view.status == "resolved"
    assert detail.tickets == 20
    assert detail.messages >= 1
    async with make_sessions(runtime.db)() as s:
        linked = (
            await s.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.incident_id == detail.view.id, Message.direction == "in")
            )
        ).scalar_one()
        pending = (
            await s.execute(
                select(func.count())
                .select_from(IncidentTimer)
                .where(
                    IncidentTimer.incident_id == detail.view.id,
                    IncidentTimer.fired_at.is_(None),
                    IncidentTimer.cancelled.is_(False),
                )
            )
        ).scalar_one()
    assert linked >= 1
    assert pending == 0  # nothing left to fire after the 终报


async def test_incident_commands_refuse_strangers_and_unknown_levels(
    tg_incidents: Server, emulator: BotApiEmulator
) -> None:
    runtime = tg_incidents.runtime
    assert runtime is not None
    group = emulator.group(AGENTS_CHAT, "客服组")
    stranger = group.member(8888, "路人")
    await stranger.send("/incident Ⅲ 平台无法领取补贴")
    assert (await group.next_reply()).text == REFUSED
    consumer: ChatHandle = emulator.private_chat(user_id=9200)
    await consumer.send("/incident Ⅰ 我也要上报")
    assert (await consumer.next_reply()).text == REFUSED

    agent = group.member(AGENT_ID, "小王")
    await agent.send("/incident Ⅸ 平台无法领取补贴")
    unknown = (await group.next_reply()).text or ""
    assert "Ⅸ" in unknown
    assert "Ⅲ" in unknown
    await agent.send("/incident")
    assert "请选择事件类别" in ((await group.next_reply()).text or "")
    await agent.send("/resolve I20990101-01 没有这个事件")
    assert "没有找到事件" in ((await group.next_reply()).text or "")
    async with make_sessions(runtime.db)() as s:
        assert (await s.execute(select(func.count()).select_from(Incident))).scalar_one() == 0

    # An agent's declaration opens one; a supervisor-only step is refused to the agent.
    # The incident's card reaches this chat too, in no fixed order: read the answers.
    sent = await agent.send("/incident Ⅲ 部分用户领券失败，页面报错")
    declared = await answer_to(emulator, AGENTS_CHAT, sent)
    found = _INCIDENT.search(declared)
    assert found
    assert "Ⅲ级（较大）" in declared
    sent = await agent.send(f"/approve {found.group(0)}")
    assert "主管" in await answer_to(emulator, AGENTS_CHAT, sent)
    detail = await runtime.incidents.detail(found.group(0))
    assert [(r.kind, r.status) for r in detail.reports] == [("first", "draft")]


async def test_a_quiet_acknowledged_incident_is_reminded_and_its_level_moves(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path, clock: ManualClock
) -> None:
    plan_chats(emulator)
    plan = fast_plan(
        tmp_path,
        deadlines={
            "acknowledge": "1m",
            "first_report": "10m",
            "follow_up": "10m",
            "final_report": "10m",
            "reminder": "0.05m",  # 3 s without an update after the acknowledgement
        },
    )
    srv = await incident_server(database_url, emulator, plan, clock)
    try:
        runtime = srv.runtime
        assert runtime is not None
        group = emulator.group(AGENTS_CHAT, "客服组")
        agent = group.member(AGENT_ID, "小王")
        sent = await agent.send("/incident Ⅲ 部分用户领券失败，页面报错")
        found = _INCIDENT.search(await answer_to(emulator, AGENTS_CHAT, sent))
        assert found
        ref = found.group(0)
        await emulator.wait_until(lambda: bool(cards(emulator, AGENTS_CHAT, ref)), 5, "the card")
        card = next(
            m for m in emulator.sent_messages(AGENTS_CHAT) if (m.text or "").startswith("🚨 事件")
        )
        for label in ("确认", "升级", "降级"):  # back at Ⅲ, whose reminder is 3 s
            await (await agent.press(label, message_id=card.message_id)).wait_answer()

        def reminders() -> list[str]:
            return [
                m.text or ""
                for m in emulator.sent_messages(AGENTS_CHAT)
                if (m.text or "").startswith("⏰") and ref in (m.text or "")
            ]

        # The level changes count as updates: the reminder comes 3 s after the last one.
        await sweep_at(srv, clock, clock.now() + timedelta(seconds=2.5))
        assert not reminders()  # not yet
        await sweep_at(srv, clock, clock.now() + timedelta(seconds=1))
        assert reminders(), "the no-update reminder"
        assert "没有进展更新" in reminders()[0]
        sent = await agent.send(f"/update {ref} 已定位到领券接口超时")
        assert "已记录" in await answer_to(emulator, AGENTS_CHAT, sent)
        # Under the reminder interval since the update: no second reminder.
        await sweep_at(srv, clock, clock.now() + timedelta(seconds=2.5), sweeps=3)
        assert len(reminders()) == 1
        detail = await runtime.incidents.detail(ref)
        levels = [d for k, _, d, _ in detail.events if k == "level"]
        assert len(levels) == 2, levels
        assert "调整为Ⅱ级（重大）" in levels[0]
        assert "调整为Ⅲ级（较大）" in levels[1]
        assert detail.view.level == "III"
        assert any(
            "Ⅱ级（重大）" in (m.text or "") for m in emulator.sent_messages(SUPERVISORS_CHAT)
        )
    finally:
        await srv.stop()
