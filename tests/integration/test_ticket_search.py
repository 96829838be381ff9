"""The console's ticket search and finished list against a real database: each kind of
search, wildcards typed by an agent, masked numbers, the finished list's filters and pages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.agents import AgentStore
from escalation.routing import Actor, Routes
from escalation.tickets.changes import BadInput
from escalation.tickets.desk import Desk
from escalation.tickets.search import DoneFilter, Page
from escalation.tickets.sla import load_policy
from escalation.tickets.store import TicketStore
from storage.conversation import ConversationStore, Exchange

TZ = ZoneInfo("Asia/Shanghai")
WANG = Actor("agent:7001", "小王", "agent")
LI = Actor("agent:7002", "小李", "agent")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


NOW = local("2025-06-10T12:00")


@pytest.fixture
async def desk(sessions: async_sessionmaker[AsyncSession]) -> Desk:
    store = ConversationStore(sessions)
    for sender in ("web:u1", "web:u2"):
        await store.record(
            Exchange(
                "web",
                sender,
                local("2025-06-01T08:00"),
                "你好",
                "text",
                None,
                "consumer",
                "{}",
                [],
            )
        )
    tickets = TicketStore(sessions, TZ)
    return Desk(sessions, tickets, AgentStore(sessions), load_policy(), Routes(-1, -2))


async def _open(desk: Desk, at: str, **fields: str | None) -> str:
    view = await desk.open(
        at=local(at),
        sender=str(fields.pop("sender", None) or "web:u1"),
        channel="web",
        ticket_type=str(fields.pop("ticket_type", None) or "投诉"),
        category=str(fields.pop("category", None) or "商户拒用补贴"),
        summary=str(fields.pop("summary", None) or "门店不让用补贴"),
        **fields,
    )
    return view.reference


@pytest.fixture
async def refs(desk: Desk) -> dict[str, str]:
    """Four tickets: two closed by different agents on different days, one open."""
    fridge = await _open(
        desk,
        "2025-06-02T09:00",
        summary="冰箱不让用补贴，店员说100%不行",
        merchant_name="某某电器_旗舰店",
        contact_phone="13912345678",
    )
    phone = await _open(
        desk,
        "2025-06-02T10:00",
        category="补贴未到账",
        summary="补贴没到账，我的手机 13800001111",
        merchant_name="Apple 授权店",
        contact_phone="13700005678",
        sender="web:u2",
    )
    down = await _open(
        desk, "2025-06-03T11:00", ticket_type="求助", category="系统故障", summary="页面打不开"
    )
    later = await _open(desk, "2025-06-05T11:00", summary="另一家店也不让用")
    await desk.claim(down, LI, local("2025-06-03T11:05"))
    await desk.customers.message(
        down, "web:u1", "扫码时提示 E1001 错误", local("2025-06-03T11:10")
    )
    await desk.close(fridge, WANG, "已协调商户", local("2025-06-03T15:00"))
    await desk.close(phone, LI, "补贴已补发", local("2025-06-06T10:00"))
    return {"fridge": fridge, "phone": phone, "down": down, "later": later}


def _refs(page: Page) -> list[str]:
    return [i.row.reference for i in page.items]


async def test_search_by_reference_is_exact_and_ignores_case(
    desk: Desk, refs: dict[str, str]
) -> None:
    kind, page = await desk.finder.search(refs["phone"].lower(), "any", NOW)
    assert kind == "reference"
    assert _refs(page) == [refs["phone"]]
    assert page.total == 1
    _, none = await desk.finder.search(refs["phone"][:-1] + "9", "reference", NOW)
    assert _refs(none) == []
    with pytest.raises(BadInput, match="T20250602-0042"):
        await desk.finder.search("0042", "reference", NOW)


async def test_search_by_the_phone_s_last_four_digits_shows_it_masked(
    desk: Desk, refs: dict[str, str]
) -> None:
    kind, page = await desk.finder.search("5678", "any", NOW)
    assert kind == "phone"
    assert _refs(page) == [refs["phone"], refs["fridge"]]  # newest first
    assert [i.row.contact_phone for i in page.items] == ["137****5678", "139****5678"]
    _, wide = await desk.finder.search("５６７８", "phone", NOW)  # typed in full width
    assert _refs(wide) == _refs(page)
    _, other = await desk.finder.search("1111", "phone", NOW)  # only in a summary, masked
    assert _refs(other) == []
    with pytest.raises(BadInput, match="后四位"):
        await desk.finder.search("567", "phone", NOW)


async def test_search_by_merchant_is_a_substring_any_case_and_wildcards_are_literal(
    desk: Desk, refs: dict[str, str]
) -> None:
    _, apple = await desk.finder.search("apple", "merchant", NOW)
    assert _refs(apple) == [refs["phone"]]
    _, underscore = await desk.finder.search("电器_旗舰", "merchant", NOW)
    assert _refs(underscore) == [refs["fridge"]]
    # "_" and "%" typed by an agent are characters, not LIKE wildcards.
    _, wildcard = await desk.finder.search("电器%", "merchant", NOW)
    assert _refs(wildcard) == []
    _, one_char = await desk.finder.search("某_电器", "merchant", NOW)
    assert _refs(one_char) == []


async def test_search_by_text_finds_the_summary_and_the_thread(
    desk: Desk, refs: dict[str, str]
) -> None:
    _, summary = await desk.finder.search("不让用", "text", NOW)
    assert _refs(summary) == [refs["later"], refs["fridge"]]
    _, thread = await desk.finder.search("e1001", "any", NOW)  # a customer message
    assert _refs(thread) == [refs["down"]]
    _, result = await desk.finder.search("已协调商户", "text", NOW)  # the closing entry
    assert _refs(result) == [refs["fridge"]]
    _, percent = await desk.finder.search("100%", "text", NOW)
    assert _refs(percent) == [refs["fridge"]]
    _, merchant_only = await desk.finder.search("授权店", "text", NOW)
    assert _refs(merchant_only) == []  # 'text' is the problem and thread, not the merchant
    _, anything = await desk.finder.search("授权店", "any", NOW)
    assert _refs(anything) == [refs["phone"]]


async def test_search_by_text_compares_masked_text_and_shows_no_number(
    desk: Desk, refs: dict[str, str]
) -> None:
    # The summary was stored as 138****1111: the typed number is masked the same way, and
    # nothing in the result carries the number in full.
    _, page = await desk.finder.search("13800001111", "text", NOW)
    assert _refs(page) == [refs["phone"]]
    (item,) = page.items
    assert "13800001111" not in repr(item)
    assert "13700005678" not in repr(item)
    assert "138****1111" in item.row.summary


async def test_search_refuses_an_empty_query_and_pages_its_results(
    desk: Desk, refs: dict[str, str]
) -> None:
    with pytest.raises(BadInput, match="工单号"):
        await desk.finder.search("   ", "any", NOW)
    with pytest.raises(BadInput):
        await desk.finder.search("x", "everything", NOW)
    _, first = await desk.finder.search("不让用", "text", NOW, per_page=1)
    _, second = await desk.finder.search("不让用", "text", NOW, page=2, per_page=1)
    assert (first.total, first.pages) == (2, 2)
    assert _refs(first) + _refs(second) == [refs["later"], refs["fridge"]]
    assert refs["down"] not in _refs(first)


async def test_the_done_list_is_the_finished_tickets_latest_first(
    desk: Desk, refs: dict[str, str]
) -> None:
    page = await desk.finder.done(DoneFilter(), NOW)
    assert _refs(page) == [refs["phone"], refs["fridge"]]
    assert page.items[0].done_at == local("2025-06-06T10:00")
    closed = await desk.finder.done(DoneFilter(status="closed"), NOW)
    assert _refs(closed) == [refs["phone"], refs["fridge"]]
    resolved = await desk.finder.done(DoneFilter(status="resolved"), NOW)
    assert _refs(resolved) == []


async def test_the_done_list_filters_by_local_day_category_assignee_and_priority(
    desk: Desk, refs: dict[str, str]
) -> None:
    async def done(**f: object) -> list[str]:
        return _refs(await desk.finder.done(DoneFilter(**f), NOW))  # type: ignore[arg-type]

    assert await done(since=date(2025, 6, 3), until=date(2025, 6, 3)) == [refs["fridge"]]
    assert await done(since=date(2025, 6, 4)) == [refs["phone"]]
    assert await done(until=date(2025, 6, 5)) == [refs["fridge"]]
    assert await done(category="补贴未到账") == [refs["phone"]]
    assert await done(assignee="小王") == [refs["fridge"]]
    assert await done(assignee="小李", category="商户拒用补贴") == []
    fridge = await desk.views.detail(refs["fridge"], NOW)
    assert await done(priority=fridge.row.priority, assignee="小王") == [refs["fridge"]]
    assert await done(priority="P1") == []
    with pytest.raises(BadInput):
        await done(priority="P9")
    with pytest.raises(BadInput):
        await done(status="open")
    with pytest.raises(BadInput, match="开始日期"):
        await done(since=date(2025, 6, 5), until=date(2025, 6, 4))


async def test_a_reopened_ticket_leaves_the_done_list(desk: Desk, refs: dict[str, str]) -> None:
    await desk.reopen(refs["fridge"], WANG, local("2025-06-07T09:00"))
    assert _refs(await desk.finder.done(DoneFilter(), NOW)) == [refs["phone"]]
    categories, assignees = await desk.finder.done_options()
    assert "商户拒用补贴" in categories
    assert "系统故障" in categories
    assert assignees == ["小李"]  # only people who finished a ticket
