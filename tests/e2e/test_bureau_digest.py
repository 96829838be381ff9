"""Scheduled digests end to end through the Bot API emulator with a clock the test moves: a
day of traffic → at 09:00 the bureau's chat gets the text, the chart and the file, once,
across a restart at 08:59; the bureau's webhook gets it signed, once, after a failure."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.clock import ManualClock
from bot.serve import Server
from escalation.digests.model import SHANGHAI, daily_period
from escalation.incidents.sources import sign
from tests.support.botapi import BotApiEmulator, BotMessage
from tests.support.journeys import BUREAU_CHAT, ID_CARD, PHONE, SUPERVISORS_CHAT, _say
from tests.support.servers import build_server

SECRET = "bureau-webhook-secret"


class BureauSystem:
    """The bureau's receiving end: checks signatures; the first request fails with 500."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        self.refused = 0
        self.bad_signatures = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers.get("X-Helpdesk-Timestamp", "")
        given = request.headers.get("X-Helpdesk-Signature", "")
        if not hmac.compare_digest(given, sign(SECRET, stamp, raw)):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.refused == 0:
            self.refused += 1
            return web.json_response({"error": "busy"}, status=500)
        self.accepted.append((request.headers["X-Helpdesk-Delivery"], json.loads(raw)))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/digests", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/digests"


@pytest.fixture
async def bureau_system() -> AsyncIterator[BureauSystem]:
    system = BureauSystem()
    await system.start()
    try:
        yield system
    finally:
        assert system.runner is not None
        await system.runner.cleanup()


def _server(database_url: str, emulator: BotApiEmulator, clock: ManualClock, url: str) -> Server:
    return build_server(
        database_url,
        emulator,
        clock=clock,
        bureau_chat_id=BUREAU_CHAT,
        supervisor_chat_id=SUPERVISORS_CHAT,
        bureau_webhook_url=url,
        bureau_webhook_secret=SECRET,
        digest_check_seconds=0.2,
        outbox_poll_seconds=0.1,
    )


def _about(emu: BotApiEmulator, label: str) -> list[BotMessage]:
    return [
        m
        for m in emu.sent_messages(BUREAU_CHAT)
        if label in (m.text or "") or label in (m.raw.get("caption") or "")
    ]


async def test_the_0900_report_reaches_the_bureau_once_across_a_restart(
    database_url: str, emulator: BotApiEmulator, bureau_system: BureauSystem, clock: ManualClock
) -> None:
    emulator.group(BUREAU_CHAT, "区商务局")
    emulator.group(SUPERVISORS_CHAT, "主管组")
    today = clock.now().astimezone(SHANGHAI).date()
    tomorrow = today + timedelta(days=1)
    label = daily_period(today).label

    clock.set(datetime(today.year, today.month, today.day, 12, 0, tzinfo=SHANGHAI))
    srv = _server(database_url, emulator, clock, bureau_system.url)
    await srv.start()
    try:
        await _say(
            srv, "c1", "我是消费者", "以旧换新补贴怎么领", f"手机{PHONE}身份证{ID_CARD}怎么领券"
        )
        await _say(srv, "m1", "我是商户", "商户怎么报名参加活动")
        clock.set(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, 59, tzinfo=SHANGHAI))
        for _ in range(3):  # several checks at 08:59: today's report is not due yet
            await srv.run_now("digests")
        await srv.run_now("outbox")
        assert _about(emulator, label) == []
    finally:
        await srv.stop()  # down over 09:00

    clock.advance(timedelta(minutes=1, seconds=30))  # back at 09:00:30
    srv = _server(database_url, emulator, clock, bureau_system.url)
    await srv.start()
    try:
        await srv.run_now("digests")  # the start-up check's, if it has not run yet
        await srv.run_now("outbox")
        assert len(_about(emulator, label)) >= 3, "the report"
        key = f"digest:daily:{today:%Y%m%d}"
        for _ in range(20):  # the webhook's retry waits 30 s of the clock after a failure
            if any(k == key for k, _ in bureau_system.accepted):
                break
            clock.advance(timedelta(seconds=31))
            await srv.run_now("digests")
        for _ in range(3):  # more checks: nothing is sent twice
            await srv.run_now("digests")
        await srv.run_now("outbox")
    finally:
        await srv.stop()

    parts = _about(emulator, label)
    kinds = sorted(m.method for m in parts)
    assert kinds == ["sendDocument", "sendMessage", "sendPhoto"], kinds
    text = next(m for m in parts if m.method == "sendMessage").text or ""
    assert "每日" in text
    assert label in text
    document = next(m for m in parts if m.method == "sendDocument")
    photo = next(m for m in parts if m.method == "sendPhoto")
    assert document.upload is not None
    assert document.upload.content.startswith(b"\xef\xbb\xbf")
    assert photo.upload is not None
    assert photo.upload.content.startswith(b"\x89PNG")
    csv_text = document.upload.content.decode("utf-8-sig")
    assert "咨询" in csv_text

    mine = [body for k, body in bureau_system.accepted if k == key]
    assert len(mine) == 1
    assert bureau_system.refused == 1
    assert bureau_system.bad_signatures == 0
    assert len({k for k, _ in bureau_system.accepted}) == len(bureau_system.accepted)

    sent = [m.text or "" for m in emulator.sent_messages(BUREAU_CHAT)]
    sent += [m.raw.get("caption") or "" for m in emulator.sent_messages(BUREAU_CHAT)]
    uploads = [m.upload.content for m in emulator.sent_messages(BUREAU_CHAT) if m.upload]
    bodies = [json.dumps(b, ensure_ascii=False) for _, b in bureau_system.accepted]
    for out in [*sent, *bodies]:
        assert PHONE not in out
        assert ID_CARD not in out
    for blob in uploads:
        assert PHONE.encode() not in blob
        assert ID_CARD.encode() not in blob


@pytest.mark.postgres
async def test_two_instances_on_one_postgresql_send_each_digest_once(
    database_url: str, emulator: BotApiEmulator, bureau_system: BureauSystem, clock: ManualClock
) -> None:
    if "postgresql" not in database_url:
        pytest.skip("several instances share a PostgreSQL database, not an SQLite file")
    emulator.group(BUREAU_CHAT, "区商务局")
    today = clock.now().astimezone(SHANGHAI).date()
    clock.set(datetime(today.year, today.month, today.day, 9, 0, 5, tzinfo=SHANGHAI))
    label = daily_period(today - timedelta(days=1)).label
    # One instance polls Telegram and sends; both run the scheduled jobs on one database.
    first = _server(database_url, emulator, clock, bureau_system.url)
    second = Server(first.settings.model_copy(update={"telegram_token": None}), clock=clock)
    servers = [first, second]
    for srv in servers:
        await srv.start()
    try:
        for _ in range(4):  # both instances check at once, again and again
            await asyncio.gather(*(srv.run_now("digests") for srv in servers))
        await first.run_now("outbox")
    finally:
        for srv in servers:
            await srv.stop()
    assert sorted(m.method for m in _about(emulator, label)) == [
        "sendDocument",
        "sendMessage",
        "sendPhoto",
    ]
