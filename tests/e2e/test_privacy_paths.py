"""Personal numbers masked on every path out of the service, end to end.

A consumer writes ID, bank-card and phone numbers in the forms people type them (full
width, dotted, spaced, +86) into a complaint's every step and into a high-risk message; none
of them reaches the ticket's free-text columns, the agents' card, the supervisors' alert,
the stored messages, the saved chat state, the incident signal keys or the log. Only the
ticket's contact_phone keeps the call-back number, and only its assignee sees it, audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.clock import utc_now
from bot.db import make_engine, make_sessions, upgrade
from bot.serve import Server
from handlers import texts
from storage.models import IncidentSignal, Message, Ticket, User
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

# Each number in forms a careful tester tries; `digits` must never appear in clear.
ID_FORMS = (
    "110105 19491231 002X",
    "１１０１０５１９４９１２３１００２Ｘ",
    "110105-1949-1231-002x",
)
PHONE_FORMS = ("１３９１２３４５６７８", "139.1234.5678", "+86 139 1234 5678", "0086-13912345678")
CARD = "6222 0212 3456 7890 123"
SECRETS = ("19491231", "1949-1231", "12345678", "1234.5678", "1234 5678", "0212 3456 7890")


def _clear(value: str) -> bool:
    """Whether no secret middle part of a number is in `value` (in any width)."""
    narrow = value.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    return not any(secret in narrow for secret in SECRETS)


@pytest.fixture
async def desk(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    srv = await desk_server(database_url, emulator, sla_file(tmp_path))
    try:
        yield srv
    finally:
        await srv.stop()


async def test_numbers_never_leave_unmasked_and_the_call_back_phone_is_for_the_assignee(
    desk: Server, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5601)
    description = (
        f"店员拿走我的身份证{ID_FORMS[1]}复印，卡号{CARD}，说不给补贴，电话{PHONE_FORMS[1]}"
    )
    details = f"订单号 {ID_FORMS[0]} 商户 某某电器{PHONE_FORMS[0]} 电话 {PHONE_FORMS[2]}"
    ref = await complain(consumer, description, details=details)
    card = await agents_group.next_reply()
    assert ref in (card.text or ""), card.text
    assert _clear(card.text or ""), card.text
    assert "显示电话" in card.buttons

    # A threat with numbers: the supervisors are told, masked.
    await consumer.send(f"再不处理我就发抖音曝光，身份证{ID_FORMS[2]}，手机{PHONE_FORMS[3]}")
    await consumer.next_reply()
    await emulator.wait_until(
        lambda: any("高风险" in (m.text or "") for m in emulator.sent_messages(SUPERVISORS_CHAT)),
        10,
        "the risk alert",
    )
    for chat_id in (AGENTS_CHAT, SUPERVISORS_CHAT):
        for sent in emulator.sent_messages(chat_id):
            assert _clear(sent.text or ""), sent.text

    # An abandoned complaint keeps nothing in clear in the saved chat state.
    await consumer.send(texts.CHOICE_COMPLAIN)
    await consumer.next_reply()
    await consumer.next_reply()
    await consumer.press("投诉")
    await consumer.next_reply()
    await consumer.press("其他")
    await consumer.next_reply()
    await consumer.send(f"我的身份证号是{ID_FORMS[0]}，银行卡{CARD}，一直没到账")
    await consumer.next_reply()

    assert desk.runtime is not None
    async with desk.runtime.store._sessions() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.reference == ref))).scalar_one()
        stored = [m.text for m in (await s.execute(select(Message))).scalars()]
        states = [u.state for u in (await s.execute(select(User))).scalars()]
        keys = [k.key for k in (await s.execute(select(IncidentSignal))).scalars()]
        outbox = [r[0] for r in await s.execute(text("SELECT text FROM outbox"))]
    for value in (ticket.summary, ticket.order_no or "", ticket.merchant_name or ""):
        assert _clear(value), value
    assert ticket.contact_phone == "13912345678"  # the call-back number, and only there
    assert ticket.merchant_name
    assert "某某电器" in ticket.merchant_name
    for value in [*stored, *states, *keys, *outbox]:
        assert _clear(value), value
    assert any(
        "身份证" in json.loads(st).get("intake", {}).get("description", "") for st in states
    )
    for record in caplog.records:
        assert _clear(record.getMessage()), record.getMessage()

    # The full number: refused before the agent works the ticket, shown to its assignee
    # alone (a pop-up only the presser sees), and every look is in the audit trail.
    agent = agents_group.member(AGENT_ID, "小王")
    early = await agent.press("显示电话", message_id=card.message_id)
    assert "认领" in (await early.wait_answer()).get("text", "")
    await (await agent.press("认领", message_id=card.message_id)).wait_answer()
    shown = await (await agent.press("显示电话", message_id=card.message_id)).wait_answer()
    assert "13912345678" in shown.get("text", "")
    assert shown.get("show_alert") is True
    for sent in emulator.sent_messages(AGENTS_CHAT):
        assert "13912345678" not in (sent.text or "")
    detail = await desk.runtime.desk.views.detail(ref, utc_now())
    assert [a[:4] for a in detail.audit if a[1] == "reveal_phone"] == [
        ("agent:7001", "reveal_phone", None, None)
    ]
    assert detail.row.contact_phone == "139****5678"


async def test_a_failed_insert_names_no_value_it_was_given(database_url: str) -> None:
    """The database's own error text (and so a logged traceback) carries no parameters."""
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    try:
        sessions = make_sessions(engine)
        row = {"channel": "web", "sender": "web:pii", "state": "电话13812345678"}
        at = utc_now()
        async with sessions.begin() as s:
            s.add(User(**row, first_seen=at, last_seen=at))
        with pytest.raises(IntegrityError) as caught:
            async with sessions.begin() as s:
                s.add(User(**row, first_seen=at, last_seen=at))
        assert "13812345678" not in str(caught.value)
        assert "hidden" in str(caught.value).lower()  # SQLAlchemy says it left them out
    finally:
        await engine.dispose()
