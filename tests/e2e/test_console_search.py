"""The console's search, its finished list and the call-back phone, through the console API
of the real server on every database, and in Chromium on the phone's and a laptop's screen.

With HELPDESK_SCREENSHOTS=DIR the browser test saves what it saw (search results, the
finished list, a ticket's detail at 1366x768 and 390x844) into DIR.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from bot.serve import Server
from escalation.tickets import notices
from tests.support.browser import browser_once, chromium_driver
from tests.support.console import (
    AGENT,
    DESKTOP,
    OTHER_AGENT,
    PHONE,
    Seeded,
    _click,
    _css,
    _in_browser,
    _in_view,
    _jar,
    _log_in,
    _screenshot,
    _seed_tickets,
    _shown,
    _type,
    _viewport,
    _wait,
    _wait_text,
)

FULL_NUMBERS = ("13912345678", "13700005678", "13600005678", "13800001111")


async def _signed_in(server: Server, who: tuple[int, str]) -> aiohttp.ClientSession:
    assert server.runtime is not None
    token = await server.runtime.agents.issue_token(who[0])
    http = aiohttp.ClientSession(cookie_jar=_jar())
    async with http.post(server.url + "api/console/login", json={"token": token}) as resp:
        assert resp.status == 200, await resp.text()
    return http


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with http.get(url, params=params) as resp:
        return resp.status, await resp.json()


def _refs(body: dict[str, Any]) -> list[str]:
    return [t["reference"] for t in body["tickets"]]


# ---------------------------------------------------------------- the API, every database


async def test_the_console_searches_by_reference_phone_merchant_and_text(
    server: Server,
) -> None:
    s = await _seed_tickets(server)
    url = server.url + "api/console/search"
    async with await _signed_in(server, AGENT) as http:
        status, body = await _get(http, url, q=s.refund.lower())
        assert status == 200, body
        assert (body["kind"], _refs(body)) == ("reference", [s.refund])
        (row,) = body["tickets"]
        assert row["status_name"] == "已办结"
        assert row["merchant_name"] == "Apple 授权店"
        assert row["assignee"] == OTHER_AGENT[1]
        assert row["opened_at"]
        assert row["done_at"]

        status, body = await _get(http, url, q="5678")
        assert (status, body["kind"]) == (200, "phone")
        assert _refs(body) == [s.waiting, s.refund, s.fridge]  # newest first
        assert body["total"] == 3

        status, body = await _get(http, url, q="某某电器", kind="merchant")
        assert _refs(body) == [s.waiting, s.fridge]
        status, body = await _get(http, url, q="电器%", kind="merchant")  # % is a character
        assert (status, _refs(body)) == (200, [])

        status, body = await _get(http, url, q="e1001")  # a customer message in the thread
        assert (body["kind"], _refs(body)) == ("any", [s.broken])
        status, body = await _get(http, url, q="店员说", kind="text")
        assert _refs(body) == [s.waiting, s.fridge]
        status, body = await _get(http, url, q="100%", kind="text")
        assert _refs(body) == [s.fridge]

        # Numbers are searched and shown masked, never in full.
        status, body = await _get(http, url, q="13800001111", kind="text")
        assert _refs(body) == [s.refund]
        for query in ("5678", "13800001111", "某某电器"):
            _, found = await _get(http, url, q=query)
            shown = json.dumps(found, ensure_ascii=False)
            assert not any(number in shown for number in FULL_NUMBERS), shown
        assert "139****5678" in json.dumps(await _get(http, url, q="5678"), ensure_ascii=False)


async def test_the_console_search_says_what_to_type_instead(server: Server) -> None:
    await _seed_tickets(server)
    url = server.url + "api/console/search"
    async with await _signed_in(server, AGENT) as http:
        for params, words in (
            ({"q": "567", "kind": "phone"}, "后四位"),
            ({"q": "0042", "kind": "reference"}, "T20250602-0042"),
            ({"q": " "}, "工单号"),
            ({"q": "冰箱", "kind": "all"}, "搜索方式"),
            ({"q": "冰箱", "page": "0"}, "页码"),
            ({"q": "冰\x00箱"}, "控制字符"),
        ):
            status, body = await _get(http, url, **params)
            assert status == 400, (params, body)
            assert words in body["error"], (params, body)
    async with aiohttp.ClientSession() as anonymous:
        status, _ = await _get(anonymous, url, q="冰箱")
        assert status == 401


async def test_the_finished_list_filters_by_status_day_category_assignee_and_priority(
    server: Server,
) -> None:
    s = await _seed_tickets(server)
    assert server.runtime is not None
    today = server.runtime.clock.now().astimezone(server.runtime.desk.policy.calendar.tz)
    # The seeded tickets were closed 2 hours ago less 11 and 12 minutes: their local days,
    # which are not today's in the first two hours after midnight.
    closed = today - timedelta(hours=2) + timedelta(minutes=11)
    first_day = closed.date().isoformat()
    last_day = (closed + timedelta(minutes=1)).date().isoformat()
    url = server.url + "api/console/done"
    async with await _signed_in(server, AGENT) as http:
        status, body = await _get(http, url)
        assert status == 200, body
        assert _refs(body) == [s.refund, s.fridge]  # the latest finished first
        assert (body["page"], body["pages"], body["total"]) == (1, 1, 2)
        for params, wanted in (
            ({"status": "closed"}, [s.refund, s.fridge]),
            ({"status": "resolved"}, []),
            ({"assignee": AGENT[1]}, [s.fridge]),
            ({"category": "补贴未到账"}, [s.refund]),
            ({"priority": "P1"}, []),
            ({"from": first_day, "to": last_day}, [s.refund, s.fridge]),
            ({"to": "2020-01-01"}, []),
            ({"assignee": OTHER_AGENT[1], "category": "商户拒用补贴"}, []),
        ):
            status, body = await _get(http, url, **params)
            assert (status, _refs(body)) == (200, wanted), params
        fridge_priority = (await server.runtime.desk.views.detail(s.fridge, today)).row.priority
        status, body = await _get(http, url, priority=fridge_priority, category="商户拒用补贴")
        assert _refs(body) == [s.fridge]
        status, body = await _get(http, url, page="2")
        assert (status, _refs(body), body["page"]) == (200, [], 2)
        for params in ({"status": "open"}, {"from": "2025-6-1"}, {"priority": "P9"}):
            status, body = await _get(http, url, **params)
            assert status == 400, params
            assert body["error"], params

        status, options = await _get(http, url + "/options")
        assert status == 200
        assert "补贴未到账" in options["categories"]
        assert options["assignees"] == [OTHER_AGENT[1], AGENT[1]] or options["assignees"] == [
            AGENT[1],
            OTHER_AGENT[1],
        ]
        assert [o["key"] for o in options["statuses"]] == ["done", "closed", "resolved"]
        assert options["priorities"] == ["P1", "P2", "P3", "P4"]


async def test_the_assignee_alone_reveals_the_call_back_phone_and_it_is_audited(
    server: Server,
) -> None:
    s = await _seed_tickets(server)
    runtime = server.runtime
    assert runtime is not None
    phone = f"{server.url}api/console/tickets/{s.waiting}/phone"
    async with await _signed_in(server, OTHER_AGENT) as other, other.post(phone) as resp:
        assert resp.status == 403, await resp.text()  # nobody's yet
        assert "认领" in (await resp.json())["error"]
    async with await _signed_in(server, AGENT) as http:
        async with http.post(f"{server.url}api/console/tickets/{s.waiting}/claim") as resp:
            assert resp.status == 200, await resp.text()
        async with http.post(phone) as resp:
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"phone": "13600005678"}
        _, detail = await _get(http, f"{server.url}api/console/tickets/{s.waiting}")
        assert detail["ticket"]["contact_phone"] == "136****5678"  # the detail stays masked
    async with await _signed_in(server, OTHER_AGENT) as other, other.post(phone) as resp:
        assert resp.status == 403, await resp.text()  # 小王's now
        assert "13600005678" not in await resp.text()
    looks = [a for a in await runtime.tickets.audit(s.waiting) if a[1] == "reveal_phone"]
    assert looks == [("agent:7001", "reveal_phone", None, None)]


async def test_the_console_reads_the_desk_s_actions_and_usual_close_results(
    server: Server,
) -> None:
    await _seed_tickets(server)
    async with await _signed_in(server, AGENT) as http:
        status, body = await _get(http, server.url + "api/console/actions")
    assert status == 200, body
    actions = {a["name"]: a for a in body["actions"]}
    assert actions["close"]["text"] == "required"
    assert [(c["key"], c["label"], c["text"]) for c in actions["close"]["choices"]] == [
        tuple(c) for c in notices.CLOSE_RESULTS
    ]
    assert actions["phone"]["choices"] == []


# ---------------------------------------------------------------- Chromium


def _search(driver: WebDriver, query: str, kind: str = "any") -> list[str]:
    _type(driver, "search-q", query)
    Select(driver.find_element(By.ID, "search-kind")).select_by_value(kind)
    driver.find_element(By.ID, "search-button").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "search-panel")))
    _wait_text(driver, "#search-summary", "共")
    return [
        e.get_attribute("data-ref") or ""
        for e in driver.find_elements(By.CSS_SELECTOR, "#search-results .ticket-row")
    ]


def _search_and_open(driver: WebDriver, s: Seeded) -> None:
    assert _search(driver, "5678") == [s.waiting, s.refund, s.fridge]
    assert "按电话后四位" in driver.find_element(By.ID, "search-summary").text
    rows = driver.find_element(By.ID, "search-results").text
    assert not any(number in rows for number in FULL_NUMBERS), rows
    assert "某某电器 南山店" in rows
    _screenshot(driver, "search")
    assert _search(driver, "电器_旗舰", "merchant") == [s.fridge]
    assert _search(driver, s.refund.lower()) == [s.refund]
    assert _search(driver, "E1001") == [s.broken]
    _click(driver, f'#search-results [data-ref="{s.broken}"]')
    _wait_text(driver, "#detail-ref", s.broken)
    _wait_text(driver, "#thread", "E1001")
    driver.find_element(By.ID, "search-back").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "queue-panel")))


def _finished_list(driver: WebDriver, s: Seeded) -> None:
    driver.find_element(By.ID, "tab-done").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "done-panel")))
    _wait_text(driver, "#done-summary", "共 2 条")
    refs = [
        e.get_attribute("data-ref")
        for e in driver.find_elements(By.CSS_SELECTOR, "#done-list .ticket-row")
    ]
    assert refs == [s.refund, s.fridge]
    assert "结束" in driver.find_element(By.ID, "done-list").text
    _screenshot(driver, "done")
    driver.find_element(By.CSS_SELECTOR, "#done-filters summary").click()
    _wait(driver).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#done-assignee option")) > 1
    )
    Select(driver.find_element(By.ID, "done-assignee")).select_by_value(AGENT[1])
    driver.find_element(By.ID, "done-apply").click()
    _wait_text(driver, "#done-summary", "共 1 条")
    assert _css(driver, "#done-list .ticket-row .ref") == [s.fridge]
    assert "已选 1 项" in driver.find_element(By.ID, "done-filters").text
    Select(driver.find_element(By.ID, "done-category")).select_by_value("补贴未到账")
    driver.find_element(By.ID, "done-apply").click()
    _wait_text(driver, "#done-summary", "共 0 条")
    assert _shown(driver, "done-empty")
    driver.find_element(By.ID, "done-reset").click()
    _wait_text(driver, "#done-summary", "共 2 条")
    _screenshot(driver, "done-filters")
    driver.find_element(By.CSS_SELECTOR, "#done-filters summary").click()  # fold them away
    _click(driver, f'#done-list [data-ref="{s.fridge}"]')
    _wait_text(driver, "#detail-status", "已办结")
    _wait_text(driver, "#thread", "已协调商户补发补贴")


def _phone_for_the_assignee(driver: WebDriver, s: Seeded) -> None:
    driver.find_element(By.ID, "tab-all").click()
    row = f'#queue .ticket-row[data-ref="{s.waiting}"]'
    _click(driver, row)
    _wait_text(driver, "#detail-ref", s.waiting)
    fields = "#detail-fields"
    _wait_text(driver, fields, "136****5678")
    assert "仅处理人可查看" in driver.find_element(By.CSS_SELECTOR, fields).text
    assert driver.find_elements(By.CSS_SELECTOR, f"{fields} .reveal-phone") == []
    driver.find_element(By.ID, "btn-claim").click()
    _wait(driver).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, f"{fields} .reveal-phone"))
    ).click()
    link = _wait(driver).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, f"{fields} .phone-link"))
    )
    assert link.text == "13600005678"
    assert link.get_attribute("href") == "tel:13600005678"
    assert "本次查看已记录" in driver.find_element(By.CSS_SELECTOR, fields).text
    # A refresh of the ticket keeps the number on screen (the agent is calling it).
    _type(driver, "action-text", "已电话联系客户")
    driver.find_element(By.ID, "btn-note").click()
    _wait_text(driver, "#thread .entry.note", "已电话联系客户")
    assert driver.find_element(By.CSS_SELECTOR, f"{fields} .phone-link").text == "13600005678"
    driver.execute_script("document.getElementById('detail').scrollTop = 0")
    _screenshot(driver, "detail")


def _hint_names_the_command(driver: WebDriver, url: str) -> None:
    driver.delete_all_cookies()  # signed out
    driver.get(url + "console")
    hint = _wait(driver).until(ec.visibility_of_element_located((By.ID, "login-hint"))).text
    assert "helpdesk agents token" in hint, hint
    assert "机器人发给" not in hint
    _screenshot(driver, "login")
    assert "机器人发给" not in (
        driver.find_element(By.ID, "login-token").get_attribute("placeholder") or ""
    )


@pytest.mark.browser
async def test_search_the_finished_list_and_the_phone_work_on_the_page(server: Server) -> None:
    browser_once(server.settings.database_url)
    s = await _seed_tickets(server)
    assert server.runtime is not None
    browser = chromium_driver()
    driver = await asyncio.to_thread(browser.__enter__)
    try:
        for size in (DESKTOP, PHONE):
            await _in_browser(_viewport, driver, size)
            await _in_browser(_hint_names_the_command, driver, server.url)
            token = await server.runtime.agents.issue_token(AGENT[0])
            await _in_browser(_log_in, driver, token, AGENT[1], "客服")
            await _in_browser(_search_and_open, driver, s)
            await _in_browser(_finished_list, driver, s)
            if size == DESKTOP:
                await _in_browser(_phone_for_the_assignee, driver, s)
            else:
                await _in_browser(_open_and_capture_the_detail, driver, s)
            await _in_browser(_no_overflow, driver)
    finally:
        await asyncio.to_thread(browser.__exit__, None, None, None)
    # Every look is audited: once on the laptop, once on the phone.
    looks = [a for a in await server.runtime.tickets.audit(s.waiting) if a[1] == "reveal_phone"]
    assert looks == [("agent:7001", "reveal_phone", None, None)] * 2


def _open_and_capture_the_detail(driver: WebDriver, s: Seeded) -> None:
    """On the phone: the ticket 小王 works, its number revealed already on the laptop."""
    driver.find_element(By.ID, "tab-mine").click()
    row = f'#queue .ticket-row[data-ref="{s.waiting}"]'
    _click(driver, row)
    _wait_text(driver, "#detail-ref", s.waiting)
    _wait(driver).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#detail-fields .reveal-phone"))
    ).click()
    _wait_text(driver, "#detail-fields .phone-link", "13600005678")
    driver.execute_script("document.getElementById('detail').scrollIntoView({block: 'start'})")
    _screenshot(driver, "detail")


def _no_overflow(driver: WebDriver) -> None:
    """Nothing on the page is wider than the screen (no sideways scrolling on a phone)."""
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page is {wide}px wider than the viewport"


def _error_stays_in_view(driver: WebDriver, s: Seeded) -> None:
    # Deep in a long page on the phone: the ticket's actions, below its thread.
    driver.find_element(By.ID, "tab-all").click()
    row = f'#queue .ticket-row[data-ref="{s.broken}"]'
    _click(driver, row)
    _wait_text(driver, "#detail-ref", s.broken)
    reply = driver.find_element(By.ID, "btn-reply")
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", reply)
    assert driver.execute_script("return window.scrollY") > 100, "the page did not scroll"
    reply.click()  # with nothing written: refused on the page
    _wait_text(driver, "#error", "回复")
    assert _in_view(driver, "error")
    time.sleep(4)  # longer than any notice lasts
    assert _shown(driver, "error")
    assert _in_view(driver, "error")
    _screenshot(driver, "error")
    driver.find_element(By.ID, "error-close").click()
    _wait(driver).until(ec.invisibility_of_element_located((By.ID, "error")))

    # The server's refusal lands in the same banner, wherever the person is.
    _type(driver, "search-q", "567")
    Select(driver.find_element(By.ID, "search-kind")).select_by_value("phone")
    driver.execute_script(
        "window.scrollTo(0, document.body.scrollHeight);"
        "document.getElementById('search-form').requestSubmit();"
    )
    _wait_text(driver, "#error", "后四位")
    assert driver.execute_script("return window.scrollY") > 100, "the page did not scroll"
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    time.sleep(3)
    assert _shown(driver, "error")
    assert _in_view(driver, "error")


@pytest.mark.browser
async def test_an_error_stays_at_the_top_of_a_phone_s_screen(server: Server) -> None:
    browser_once(server.settings.database_url)
    s = await _seed_tickets(server)
    assert server.runtime is not None
    token = await server.runtime.agents.issue_token(AGENT[0])
    browser = chromium_driver()
    driver = await asyncio.to_thread(browser.__enter__)
    try:
        await _in_browser(_viewport, driver, PHONE)
        await _in_browser(_wait_for_login, driver, server.url)
        await _in_browser(_log_in, driver, token, AGENT[1], "客服")
        await _in_browser(_error_stays_in_view, driver, s)
        await _in_browser(_close_with_a_usual_result, driver, s)
    finally:
        await asyncio.to_thread(browser.__exit__, None, None, None)
    view = await server.runtime.tickets.get(s.broken)
    assert view is not None
    assert view.status.value == "closed"
    assert ("agent", "小王", "【办结】" + USUAL_RESULT) in [tuple(e) for e in view.thread]


USUAL = notices.CLOSE_RESULTS[-1]  # the desk's own list, as the Telegram card offers it
USUAL_RESULT = USUAL.text


def _close_with_a_usual_result(driver: WebDriver, s: Seeded) -> None:
    """A usual result fills the box; 办结 sends what the box holds."""
    driver.find_element(By.ID, "error-close").click()
    driver.find_element(By.ID, "tab-all").click()
    _click(driver, f'#queue .ticket-row[data-ref="{s.broken}"]')
    _wait_text(driver, "#detail-ref", s.broken)
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "close-results")))
    buttons = driver.find_elements(By.CSS_SELECTOR, "#close-results .quick-result")
    assert [b.text for b in buttons] == [c.label for c in notices.CLOSE_RESULTS]
    next(b for b in buttons if b.text == USUAL.label).click()
    assert driver.find_element(By.ID, "action-text").get_attribute("value") == USUAL_RESULT
    assert driver.find_element(By.ID, "detail-status").text != "已办结"  # nothing sent yet
    driver.find_element(By.ID, "btn-close").click()
    _wait_text(driver, "#detail-status", "已办结")
    _wait_text(driver, "#thread", USUAL_RESULT)
    assert not _shown(driver, "close-results")


def _wait_for_login(driver: WebDriver, url: str) -> None:
    driver.get(url + "console")
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "login-token")))
