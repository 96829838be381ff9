"""Declaring an incident on Telegram gives the bureau's report its category and what
happened: read from the text written with /incident, or asked for with the plan's
categories as buttons and then a reply; and a report shows 已报送 only once it reached the
bureau (未报送（未配置报送渠道） on a server with no bureau chat or webhook)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.serve import Server
from escalation.incidents.categories import categories
from storage.models import Incident
from tests.support.botapi import BotApiEmulator, BotMessage
from tests.support.console import _jar
from tests.support.incidents import cards, fast_plan, incident_server, plan_chats
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    BUREAU_CHAT,
    SUPERVISOR_ID,
    SUPERVISORS_CHAT,
)

_INCIDENT = re.compile(r"I\d{8}-\d{2}")
UNSENT = "未报送（未配置报送渠道）"


async def answer(emu: BotApiEmulator, chat: int, sent_id: int) -> BotMessage:
    """The bot's message that replies to one of ours."""

    def found() -> list[BotMessage]:
        return [
            m
            for m in emu.sent_messages(chat)
            if m.raw.get("reply_to_message", {}).get("message_id") == sent_id
        ]

    await emu.wait_until(lambda: bool(found()), 5, f"the answer to {sent_id}")
    return found()[-1]


def bureau_reports(emu: BotApiEmulator, ref: str) -> list[str]:
    return [m.text or "" for m in emu.sent_messages(BUREAU_CHAT) if ref in (m.text or "")]


async def approve(emu: BotApiEmulator, ref: str) -> str:
    supervisor = emu.group(AGENTS_CHAT, "客服组").member(SUPERVISOR_ID, "李主管")
    sent = await supervisor.send(f"/approve {ref}")
    return (await answer(emu, AGENTS_CHAT, sent.message_id)).text or ""


@pytest.mark.usefixtures("tg_incidents")
async def test_a_one_line_declaration_reads_its_category_and_the_report_has_it(
    emulator: BotApiEmulator,
) -> None:
    agent = emulator.group(AGENTS_CHAT, "客服组").member(AGENT_ID, "小王")
    sent = await agent.send("/incident 某商户拒收补贴，多人投诉")
    said = (await answer(emulator, AGENTS_CHAT, sent.message_id)).text or ""
    found = _INCIDENT.search(said)
    assert found, said
    ref = found.group(0)
    assert "事件类别：商户拒用补贴（根据描述判断）" in said
    assert "Ⅳ级（一般）" in said

    assert "初报：待报送" in await approve(emulator, ref)
    await emulator.wait_until(lambda: bool(bureau_reports(emulator, ref)), 5, "the 初报")
    report = bureau_reports(emulator, ref)[0]
    assert "事件类别为商户拒用补贴" in report
    assert "情况说明：某商户拒收补贴，多人投诉" in report
    assert "未分类" not in report
    assert "暂无" not in report.split("情况说明：")[1].split("\n")[0]


async def test_a_bare_declaration_asks_the_category_then_what_happened(
    tg_incidents: Server, emulator: BotApiEmulator
) -> None:
    runtime = tg_incidents.runtime
    assert runtime is not None
    group = emulator.group(AGENTS_CHAT, "客服组")
    agent = group.member(AGENT_ID, "小王")
    sent = await agent.send("/incident Ⅲ")
    question = await answer(emulator, AGENTS_CHAT, sent.message_id)
    assert "请选择事件类别" in (question.text or "")
    assert question.buttons == [*categories(runtime.incidents.plan), "取消"]

    # Someone else's press does not choose for the one declaring.
    stranger = group.member(SUPERVISOR_ID, "李主管")
    await (await stranger.press("系统故障", message_id=question.message_id)).wait_answer()
    await (await agent.press("系统故障", message_id=question.message_id)).wait_answer()
    ask = await answer(emulator, AGENTS_CHAT, question.message_id)
    assert "事件类别：系统故障" in (ask.text or "")
    assert "force_reply" in ask.params.get("reply_markup", "")

    sent = await agent.send("领券页面打不开，约两百名用户受影响", reply_to=ask)
    said = (await answer(emulator, AGENTS_CHAT, sent.message_id)).text or ""
    found = _INCIDENT.search(said)
    assert found, said
    ref = found.group(0)
    assert "Ⅲ级（较大）" in said
    assert "（根据描述判断）" not in said
    detail = await runtime.incidents.detail(ref)
    assert detail.view.category == "系统故障"
    assert detail.view.title == "领券页面打不开"

    await approve(emulator, ref)
    await emulator.wait_until(lambda: bool(bureau_reports(emulator, ref)), 5, "the 初报")
    report = bureau_reports(emulator, ref)[0]
    assert "事件类别为系统故障" in report
    assert "情况说明：领券页面打不开，约两百名用户受影响" in report

    # A second answer to the same question declares nothing more.
    again = await agent.send("再补充一点", reply_to=ask)
    await emulator.wait_idle()
    assert not [
        m
        for m in emulator.sent_messages(AGENTS_CHAT)
        if m.raw.get("reply_to_message", {}).get("message_id") == again.message_id
    ]
    async with make_sessions(runtime.db)() as s:
        assert (await s.execute(select(func.count()).select_from(Incident))).scalar_one() == 1


async def test_a_declaration_whose_category_cannot_be_read_asks_and_can_be_cancelled(
    tg_incidents: Server, emulator: BotApiEmulator
) -> None:
    runtime = tg_incidents.runtime
    assert runtime is not None
    agent = emulator.group(AGENTS_CHAT, "客服组").member(AGENT_ID, "小王")
    sent = await agent.send("/incident 平台出现问题，原因待查")
    question = await answer(emulator, AGENTS_CHAT, sent.message_id)
    assert "“平台出现问题”" in (question.text or "")
    await (await agent.press("补贴未到账", message_id=question.message_id)).wait_answer()
    said = (await answer(emulator, AGENTS_CHAT, question.message_id)).text or ""
    found = _INCIDENT.search(said)
    assert found, said
    detail = await runtime.incidents.detail(found.group(0))
    assert detail.view.category == "补贴未到账"
    assert "情况说明：平台出现问题，原因待查" in detail.reports[0].text

    # 取消 as a button, and as the answer to "what happened": nothing is declared.
    sent = await agent.send("/incident")
    question = await answer(emulator, AGENTS_CHAT, sent.message_id)
    await (await agent.press("取消", message_id=question.message_id)).wait_answer()
    assert "已取消" in ((await answer(emulator, AGENTS_CHAT, question.message_id)).text or "")
    sent = await agent.send("/incident")
    question = await answer(emulator, AGENTS_CHAT, sent.message_id)
    await (await agent.press("个人信息", message_id=question.message_id)).wait_answer()
    ask = await answer(emulator, AGENTS_CHAT, question.message_id)
    sent = await agent.send("取消", reply_to=ask)
    assert "已取消" in ((await answer(emulator, AGENTS_CHAT, sent.message_id)).text or "")
    async with make_sessions(runtime.db)() as s:
        assert (await s.execute(select(func.count()).select_from(Incident))).scalar_one() == 1


async def test_without_a_bureau_channel_a_report_shows_unsent_never_sent(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path, clock: ManualClock
) -> None:
    plan_chats(emulator)
    srv = await incident_server(
        database_url,
        emulator,
        fast_plan(tmp_path),
        clock,
        bureau_chat_id=None,
        bureau_webhook_url=None,
    )
    try:
        runtime = srv.runtime
        assert runtime is not None
        agent = emulator.group(AGENTS_CHAT, "客服组").member(AGENT_ID, "小王")
        sent = await agent.send("/incident Ⅲ 领券页面打不开，大量用户无法领取")
        found = _INCIDENT.search((await answer(emulator, AGENTS_CHAT, sent.message_id)).text or "")
        assert found
        ref = found.group(0)
        await emulator.wait_until(lambda: bool(cards(emulator, AGENTS_CHAT, ref)), 5, "the card")

        assert f"初报：{UNSENT}" in await approve(emulator, ref)
        await emulator.wait_until(
            lambda: any(f"初报：{UNSENT}" in c for c in cards(emulator, AGENTS_CHAT, ref)),
            5,
            "the card showing the 初报 unsent",
        )
        assert not any("已报送" in c for c in cards(emulator, AGENTS_CHAT, ref))

        token = await runtime.agents.issue_token(AGENT_ID)
        api = srv.url + "api/console/"
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            async with http.post(api + "login", json={"token": token}) as resp:
                assert resp.status == 200
            async with http.get(api + f"incidents/{ref}") as resp:
                detail = await resp.json()
            async with http.get(api + "incidents") as resp:
                listed = (await resp.json())["incidents"]
        report = detail["reports"][0]
        assert (report["kind"], report["delivery"]) == ("first", "no_channel")
        assert report["delivery_name"] == UNSENT
        assert report["delivered_at"] is None
        assert [r["delivery_name"] for r in listed[0]["unsent_reports"]] == [UNSENT]

        # The plan's 初报 deadline (2 minutes) passes: it is not met, and people are told.
        clock.set(clock.now() + timedelta(minutes=2, seconds=5))
        await srv.run_now("sla-sweep")
        await srv.run_now("outbox")
        detail_now = await runtime.incidents.detail(ref, clock.now())
        assert detail_now.reports[0].met(clock.now()) is False
        texts = [m.text or "" for m in emulator.sent_messages(SUPERVISORS_CHAT)]
        assert any("仍未送达主管部门" in t and ref in t for t in texts), texts
    finally:
        await srv.stop()


async def test_with_a_bureau_chat_a_report_is_pending_until_the_outbox_sent_it(
    tg_incidents: Server, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    runtime = tg_incidents.runtime
    assert runtime is not None
    agent = emulator.group(AGENTS_CHAT, "客服组").member(AGENT_ID, "小王")
    sent = await agent.send("/incident Ⅲ 领券页面打不开，大量用户无法领取")
    found = _INCIDENT.search((await answer(emulator, AGENTS_CHAT, sent.message_id)).text or "")
    assert found
    ref = found.group(0)
    await emulator.wait_until(lambda: bool(cards(emulator, AGENTS_CHAT, ref)), 5, "the card")

    emulator.hold("sendMessage")  # nothing reaches a chat: the 初报 waits in the outbox
    supervisor = emulator.group(AGENTS_CHAT, "客服组").member(SUPERVISOR_ID, "李主管")
    await supervisor.send(f"/approve {ref}")

    async def first_report() -> tuple[str, str]:
        report = (await runtime.incidents.detail(ref, clock.now())).reports[0]
        return report.status, report.delivery

    for _ in range(100):
        if (await first_report())[0] == "sent":
            break
        await asyncio.sleep(0.05)
    status, delivery = await first_report()
    assert status == "sent"
    assert delivery in ("queued", "sending")
    assert not any("初报：已报送" in c for c in cards(emulator, AGENTS_CHAT, ref))

    emulator.release()
    await emulator.wait_until(lambda: bool(bureau_reports(emulator, ref)), 10, "the 初报")
    await emulator.wait_until(
        lambda: any("初报：已报送" in c for c in cards(emulator, AGENTS_CHAT, ref)),
        10,
        "the card showing the 初报 sent",
    )
    report = (await runtime.incidents.detail(ref, clock.now())).reports[0]
    assert report.delivery == "sent"
    assert report.delivered_at is not None
    assert report.met(clock.now()) is True
