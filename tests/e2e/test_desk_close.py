"""Closing from the card: 关闭 asks for the result before anything happens.

An agent presses 关闭 on a ticket's card: the bot answers with the usual results as
buttons (and 取消, and how to write another result); only a chosen result closes, and the
customer reads that result. A second or stale press of a result changes nothing and
sends the customer nothing more.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import utc_now
from bot.db import make_sessions
from bot.serve import Server
from escalation.tickets import notices
from storage.models import Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import AGENT_ID, AGENTS_CHAT, complain, groups

RESULT_BUTTONS = [*(c.label for c in notices.CLOSE_RESULTS), notices.CANCEL_CHOICE.label]


async def _status(srv: Server, ref: str) -> str:
    assert srv.runtime is not None
    return (await srv.runtime.desk.views.detail(ref, utc_now())).row.status


async def _customer_notices(srv: Server, ref: str) -> list[str]:
    """What the outbox holds for the customer that closes the ticket."""
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        texts = (
            await s.execute(select(Outbox.text).where(Outbox.purpose == "customer"))
        ).scalars()
        return [t for t in texts if t.startswith(f"您的工单 {ref} 已办结")]


async def test_pressing_close_offers_the_usual_results_and_only_a_choice_closes(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5521, first_name="小明")
    ref = await complain(consumer)
    card = await agents_group.next_reply()
    agent = agents_group.member(AGENT_ID, "小王")

    # 关闭 only asks: the ticket stays open and the customer hears nothing.
    press = await agent.press("关闭", message_id=card.message_id)
    await press.wait_answer()
    offer = await agents_group.next_reply()
    assert offer.buttons == RESULT_BUTTONS
    assert f"/close {ref}" in (offer.text or "")
    assert offer.raw.get("reply_to_message", {}).get("message_id") == card.message_id
    assert await _status(tg_desk, ref) == "new"
    await consumer.assert_no_reply()

    # 取消 leaves the ticket as it was and takes the offer's buttons away.
    press = await agent.press(notices.CANCEL_CHOICE.label, message_id=offer.message_id)
    await press.wait_answer()
    await emulator.wait_until(
        lambda: not emulator.sent_messages(AGENTS_CHAT)[-1].buttons, 5, "the offer settled"
    )
    assert "未作改动" in (emulator.sent_messages(AGENTS_CHAT)[-1].text or "")
    assert await _status(tg_desk, ref) == "new"
    await consumer.assert_no_reply()

    # Pressed again, a result is chosen: that closes, with that result for the customer.
    await agent.press("关闭", message_id=card.message_id)
    offer = await agents_group.next_reply()
    reissued = notices.CLOSE_RESULTS[1]
    press = await agent.press(reissued.label, message_id=offer.message_id)
    await press.wait_answer()
    closing = await consumer.next_reply()
    assert closing.text == notices.CLOSED_NOTICE.format(ref=ref, text=reissued.text)
    assert closing.buttons == [*notices.CSAT_CHOICES, notices.NOT_SOLVED]
    assert await _status(tg_desk, ref) == "closed"
    await emulator.wait_until(
        lambda: not any(m.buttons for m in emulator.sent_messages(AGENTS_CHAT)),
        5,
        "the offer settled and the closed card without buttons",
    )
    settled = next(
        m for m in emulator.sent_messages(AGENTS_CHAT) if m.message_id == offer.message_id
    )
    assert reissued.text in (settled.text or "")
    assert "小王" in (settled.text or "")

    # The same result pressed again (a double tap, or a stale offer): nothing more.
    data = f"d:close:{ref}:{reissued.key}"
    again = await agent.press_data(data, message_id=offer.message_id)
    answer = await again.wait_answer()
    assert answer.get("text") == notices.ALREADY_CLOSED.format(ref=ref)
    other = await agent.press_data(f"d:close:{ref}:refund", message_id=offer.message_id)
    await other.wait_answer()
    await consumer.assert_no_reply()
    assert len(await _customer_notices(tg_desk, ref)) == 1
    assert tg_desk.runtime is not None
    detail = await tg_desk.runtime.desk.views.detail(ref, utc_now())
    closes = [a for a in detail.audit if a[1] == "status" and a[3] == "closed"]
    assert len(closes) == 1


async def test_close_without_a_result_says_what_to_write_and_a_forged_choice_does_nothing(
    tg_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5522)
    ref = await complain(consumer)
    card = await agents_group.next_reply()
    agent = agents_group.member(AGENT_ID, "小王")

    await agent.send(f"/close {ref}")
    assert (await agents_group.next_reply()).text == notices.CLOSE_NEEDS_RESULT.format(ref=ref)
    unknown = await agent.press_data(f"d:close:{ref}:whatever", message_id=card.message_id)
    await unknown.wait_answer()
    assert await _status(tg_desk, ref) == "new"
    await consumer.assert_no_reply()
    assert "关闭" in card.buttons  # the card is still a card

    await agent.send(f"/close {ref} 已与商户沟通，改日到店使用补贴")
    await agents_group.next_reply()
    closing = await consumer.next_reply()
    assert "已与商户沟通，改日到店使用补贴" in (closing.text or "")
    assert await _status(tg_desk, ref) == "closed"
