"""Risk on every message, end to end: the verdict is stored with the message, a high-risk
message reaches the supervisors' chat within seconds (masked), once, and raises the
priority of the ticket it opens; the hourly summary goes out only for an hour with medium
or high risk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.serve import Server
from escalation.digests.model import SHANGHAI
from handlers import texts
from storage.models import Message, Ticket
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import (
    AGENTS_CHAT,
    BUREAU_CHAT,
    SUPERVISORS_CHAT,
    _say,
    complain,
    sla_file,
)
from tests.support.servers import TELEGRAM_TOKEN, make_settings, running_server

PHONE = "13812345678"
THREAT = f"补贴一直不到账，再不处理我就打12345投诉，还要发抖音曝光你们！电话{PHONE}"


@pytest.fixture
async def risk_server(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    emulator.group(AGENTS_CHAT, "客服组")
    emulator.group(SUPERVISORS_CHAT, "主管组")
    async with running_server(
        database_url,
        emulator,
        agent_chat_id=AGENTS_CHAT,
        supervisor_chat_id=SUPERVISORS_CHAT,
        sla_path=sla_file(tmp_path),
        outbox_poll_seconds=0.1,
    ) as srv:
        yield srv


def _alerts(emu: BotApiEmulator) -> list[str]:
    return [
        m.text or ""
        for m in emu.sent_messages(SUPERVISORS_CHAT)
        if (m.text or "").startswith("🔴 高风险消息")
    ]


async def test_a_high_risk_message_reaches_the_supervisors_at_once(
    risk_server: Server, emulator: BotApiEmulator
) -> None:
    runtime = risk_server.runtime
    assert runtime is not None
    consumer = emulator.private_chat(user_id=7301)
    await consumer.send(texts.CHOICE_CONSUMER)
    await consumer.next_reply()
    await consumer.send("以旧换新补贴怎么领")
    await consumer.next_reply()
    await consumer.send(THREAT)
    await consumer.next_reply()
    await emulator.wait_until(lambda: bool(_alerts(emulator)), 5, "the supervisors' alert")
    alert = _alerts(emulator)[0]
    assert "telegram:7301" in alert
    assert "媒体曝光" in alert
    assert "投诉升级" in alert
    assert PHONE not in alert
    assert "12345" in alert
    await risk_server.run_now("outbox")  # whatever else is owed goes out: no second alert
    assert len(_alerts(emulator)) == 1

    async with make_sessions(runtime.db)() as s:
        rows = (
            await s.execute(
                select(Message.text, Message.risk_level, Message.risk_tags)
                .where(Message.direction == "in", Message.kind != "command")
                .order_by(Message.id)
            )
        ).all()
    levels = {text: (level, tags) for text, level, tags in rows}
    assert levels["以旧换新补贴怎么领"][0] == "none"
    threat = next(v for t, v in levels.items() if "12345" in t)
    assert threat[0] == "high"
    assert "media-exposure" in (threat[1] or "")


async def test_a_high_risk_complaint_opens_an_urgent_ticket(
    risk_server: Server, emulator: BotApiEmulator
) -> None:
    runtime = risk_server.runtime
    assert runtime is not None
    calm = await complain(emulator.private_chat(user_id=7302), "店员说今天不能用补贴，想问问原因")
    angry = await complain(
        emulator.private_chat(user_id=7303), "店员拒绝使用补贴，我已经联系了记者，明天就曝光这家店"
    )
    async with make_sessions(runtime.db)() as s:
        rows = (await s.execute(select(Ticket.reference, Ticket.priority))).all()
    priority = dict(rows)
    assert priority[angry] < priority[calm]  # P1 before P3


async def test_the_hourly_risk_summary_reaches_supervisors_and_bureau_only_when_needed(
    database_url: str, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    emulator.group(SUPERVISORS_CHAT, "主管组")
    emulator.group(BUREAU_CHAT, "区商务局")
    hour = clock.now().astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    clock.set(hour + timedelta(minutes=20))  # the messages inside one hour
    label = f"{hour:%H}:00"
    srv = Server(
        make_settings(
            database_url,
            telegram_token=TELEGRAM_TOKEN,
            telegram_base_url=emulator.base_url,
            supervisor_chat_id=SUPERVISORS_CHAT,
            bureau_chat_id=BUREAU_CHAT,
            digest_daily_cron="",
            digest_weekly_cron="",
            digest_check_seconds=0.2,
            outbox_poll_seconds=0.1,
        ),
        clock=clock,
    )

    def summaries(chat: int) -> list[str]:
        return [
            m.text or ""
            for m in emulator.sent_messages(chat)
            if (m.text or "").startswith("⚠️ 风险提示")
        ]

    await srv.start()
    try:
        await _say(srv, "c1", "我是消费者", "以旧换新补贴怎么领", THREAT)
        await _say(srv, "c2", "我是消费者", "我们小区好多人补贴都没到账，已经建了维权群")
        await _say(srv, "c3", "我是消费者", "谢谢，已经到账了")
        await srv.run_now("digests")  # a check during this hour: the quiet hour before
        await srv.run_now("outbox")  # sends nothing
        assert summaries(SUPERVISORS_CHAT) == []
        assert summaries(BUREAU_CHAT) == []
        clock.set(hour + timedelta(hours=1, seconds=30))  # next hour, 00:30
        await srv.run_now("digests")
        await srv.run_now("outbox")
        assert summaries(SUPERVISORS_CHAT), "the hourly risk summary"
        assert summaries(BUREAU_CHAT), "the hourly risk summary"
        await srv.run_now("digests")  # another check: nothing twice
        await srv.run_now("outbox")
    finally:
        await srv.stop()
    for chat in (SUPERVISORS_CHAT, BUREAU_CHAT):
        sent = summaries(chat)
        assert len(sent) == 1, sent
        text = sent[0]
        assert label in text
        assert "媒体曝光" in text
        assert "群体投诉" in text
        assert "维权群" in text
        assert PHONE not in text
        assert "已经到账了" not in text
