"""The agents' console in a real headless Chromium against the real server and database.

A consumer files a complaint through the public web chat API; an agent logs in to the console,
finds it in the queue with a live countdown, claims it, replies, adds an internal note and closes
it. The database, the consumer's chat and the page must all agree on what happened. The second
test covers the console API's session handling without a browser, on every database.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec

from bot.clock import ManualClock
from bot.serve import Server
from tests.support.browser import browser_once, chromium_driver
from tests.support.console import (
    AGENT,
    SUPERVISOR,
    _css,
    _in_browser,
    _jar,
    _log_in,
    _open_complaint,
    _register,
    _shown,
    _type,
    _wait,
    _wait_text,
)

COUNTDOWN = re.compile(r"^(剩余|已超时) (\d+天)?(\d+小时)?(\d+分)?(\d+秒)?")
REPLY = "您好，已联系商户核实，请稍候。"
NOTE = "已电话联系商户店长，对方答应今天内处理。"
RESULT = "已协调商户补发补贴"
EXPIRED = "登录已过期，请重新登录"
PROMPT = 3  # seconds: well under the queue's 10-second refresh


# ---------------------------------------------------------------- the browser, step by step


def _queue_follows(driver: WebDriver, selector: str, text: str) -> None:
    """The queue shows an action's effect at once, not only at its next 10-second refresh."""
    _wait(driver, PROMPT).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text)
    )


def _row(ref: str) -> str:
    return f'#queue .ticket-row[data-ref="{ref}"]'


def _login_is_refused(driver: WebDriver, url: str) -> str:
    driver.get(url + "console")
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "login-token")))
    assert not _shown(driver, "console-view")
    _type(driver, "login-token", "not-a-real-token")
    driver.find_element(By.ID, "login-button").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "error")))
    error = driver.find_element(By.ID, "error").text
    assert not _shown(driver, "console-view")
    assert not _shown(driver, "whoami")
    assert driver.find_elements(By.CSS_SELECTOR, "#queue .ticket-row") == []
    return error


def _queue_counts_down(driver: WebDriver, ref: str) -> str:
    wait = _wait(driver)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, _row(ref))))
    row = driver.find_element(By.CSS_SELECTOR, _row(ref))
    assert "投诉·商户拒用补贴" in row.text, row.text
    assert "未分配" in row.text, row.text
    assert re.search(r"\bP[1-4]\b", row.text), row.text
    clock = driver.find_element(By.CSS_SELECTOR, _row(ref) + " .countdown")
    shown = clock.text
    assert COUNTDOWN.match(shown), shown
    # Coloured by the clock's state, the countdown and its row alike.
    states = {"state-on_track", "state-due_soon", "state-breached"}
    for element in (row, clock):
        assert states & set((element.get_attribute("class") or "").split()), element.text
    # The countdown is kept live in the page, without waiting for the next queue refresh.
    before = clock.get_attribute("data-seconds")
    assert before is not None, before
    assert re.fullmatch(r"-?\d+", before), before
    wait.until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, _row(ref) + " .countdown").get_attribute(
                "data-seconds"
            )
            != before
        )
    )
    return shown


def _work_the_ticket(driver: WebDriver, ref: str) -> None:
    wait = _wait(driver)
    driver.find_element(By.CSS_SELECTOR, _row(ref)).click()
    _wait_text(driver, "#detail-ref", ref)
    _wait_text(driver, "#thread .entry.customer", "冰箱")
    assert driver.find_elements(By.CSS_SELECTOR, "#clocks .clock"), "no SLA clocks shown"
    assert "未分配" in driver.find_element(By.ID, "detail-fields").text

    # "我的" is empty until the ticket is claimed.
    driver.find_element(By.ID, "tab-mine").click()
    wait.until(ec.visibility_of_element_located((By.ID, "queue-empty")))
    assert driver.find_elements(By.CSS_SELECTOR, _row(ref)) == []
    driver.find_element(By.ID, "tab-all").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, _row(ref))))

    # The call-back phone shows masked; only the ticket's assignee may reveal it.
    assert "139****5678" in driver.find_element(By.ID, "detail-fields").text
    assert "认领后可显示" in driver.find_element(By.ID, "detail-fields").text
    assert driver.find_elements(By.CSS_SELECTOR, "#detail-fields .reveal-phone") == []
    driver.find_element(By.ID, "btn-claim").click()
    _wait_text(driver, "#detail-fields", "小王")
    wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#detail-fields .reveal-phone"))
    ).click()
    _wait_text(driver, "#detail-fields .phone-link", "13912345678")
    _queue_follows(driver, _row(ref) + " .assignee", "小王")
    driver.find_element(By.ID, "tab-mine").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, _row(ref))))

    first_clock = driver.find_element(By.CSS_SELECTOR, "#clocks .clock .clock-name").text
    assert first_clock
    _wait_text(driver, _row(ref) + " .clock-name", first_clock)  # rows are rebuilt meanwhile
    _type(driver, "action-text", REPLY)
    driver.find_element(By.ID, "btn-reply").click()
    _wait_text(driver, "#thread .entry.agent", REPLY)
    assert driver.find_element(By.ID, "action-text").get_attribute("value") == ""
    # The first response is made: its clock stops, and the queue moves to the next one.
    _wait_text(driver, "#clocks .clock .clock-result", "已达标")
    _wait(driver, PROMPT).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, _row(ref) + " .clock-name").text
            not in ("", first_clock)
        )
    )

    _type(driver, "action-text", NOTE)
    driver.find_element(By.ID, "btn-note").click()
    _wait_text(driver, "#thread .entry.note", NOTE)
    assert not _shown(driver, "error")

    # Closing needs the result written down.
    driver.find_element(By.ID, "btn-close").click()
    _wait_text(driver, "#error", "处理结果")
    _type(driver, "action-text", RESULT)
    driver.find_element(By.ID, "btn-close").click()
    _wait_text(driver, "#detail-status", "已办结")
    assert not _shown(driver, "error")
    assert driver.find_element(By.ID, "btn-reopen").is_enabled()
    assert not driver.find_element(By.ID, "btn-reply").is_enabled()


def _thread(driver: WebDriver) -> dict[str, list[str]]:
    return {
        kind: _css(driver, f"#thread .entry.{kind}")
        for kind in ("customer", "agent", "note", "system")
    }


def _stale_reopen_is_refused(driver: WebDriver) -> str:
    """Someone else reopened the ticket since the page loaded it: the server says no."""
    assert driver.find_element(By.ID, "detail-status").text == "已办结"
    driver.find_element(By.ID, "btn-reopen").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "error")))
    # The page reloads the ticket after a refusal, so it shows what really happened.
    _wait(driver).until(
        lambda d: d.find_element(By.ID, "detail-status").text not in ("", "已办结")
    )
    return driver.find_element(By.ID, "error").text


def _session_expires(driver: WebDriver) -> None:
    # The refusal is still on screen until it is dismissed.
    assert _shown(driver, "error")
    driver.find_element(By.ID, "error-close").click()
    _wait(driver).until(ec.invisibility_of_element_located((By.ID, "error")))
    driver.delete_all_cookies()  # as if the server had forgotten the session
    driver.find_element(By.ID, "tab-all").click()
    _wait_text(driver, "#login-message", EXPIRED)
    assert _shown(driver, "login-view")
    assert not _shown(driver, "console-view")
    assert not _shown(driver, "whoami")
    assert driver.find_elements(By.CSS_SELECTOR, "#queue .ticket-row") == []


def _supervisor_view(driver: WebDriver, token: str) -> tuple[list[str], list[str]]:
    _log_in(driver, token, SUPERVISOR[1], "主管")
    driver.find_element(By.ID, "tab-supervisor").click()
    wait = _wait(driver)
    wait.until(ec.visibility_of_element_located((By.ID, "supervisor")))
    assert not _shown(driver, "queue-panel")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#due-soon > li"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#breached-today > li"))
    assert not _shown(driver, "error")
    lists = (_css(driver, "#due-soon > li"), _css(driver, "#breached-today > li"))
    driver.find_element(By.ID, "logout").click()
    wait.until(ec.visibility_of_element_located((By.ID, "login-view")))
    assert not _shown(driver, "whoami")
    return lists


# ---------------------------------------------------------------- the tests


@pytest.mark.browser
async def test_an_agent_works_a_complaint_through_the_console(server: Server) -> None:
    browser_once(server.settings.database_url, "the API test covers PostgreSQL")
    runtime = server.runtime
    assert runtime is not None
    token = await _register(runtime, AGENT, "agent")
    ref = await _open_complaint(server, "c1")

    browser = chromium_driver()
    driver = await asyncio.to_thread(browser.__enter__)
    try:
        refusal = await _in_browser(_login_is_refused, driver, server.url)
        assert refusal
        assert EXPIRED not in refusal
        await _in_browser(_log_in, driver, token, AGENT[1], "客服")
        await _in_browser(_queue_counts_down, driver, ref)
        await _in_browser(_work_the_ticket, driver, ref)
        thread = await _in_browser(_thread, driver)
        assert any(REPLY in e for e in thread["agent"]), thread
        assert any(NOTE in e and "内部备注" in e for e in thread["note"]), thread
        assert not any("内部备注" in e for e in thread["agent"] + thread["customer"]), thread

        # What the page showed is what was stored.
        view = await runtime.tickets.get(ref)
        assert view is not None
        assert view.status.value == "closed"
        assert view.assignee is not None
        assert "小王" in view.assignee
        assert any(k == "agent" and t == REPLY for k, _, t in view.thread), view.thread
        assert any(k == "note" and t == NOTE for k, _, t in view.thread), view.thread
        looks = [a for a in await runtime.tickets.audit(ref) if a[1] == "reveal_phone"]
        assert looks == [("agent:7001", "reveal_phone", None, None)], looks

        # The consumer got the reply in the web chat, and never the internal note.
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.url + "api/messages", params={"session": "c1"}) as resp,
        ):
            assert resp.status == 200, await resp.text()
            pushed = [str(r["text"]) for r in (await resp.json())["replies"]]
        assert any(REPLY in text for text in pushed), pushed
        assert not any(NOTE in text for text in pushed), pushed

        # A supervisor reopens the ticket behind the page's back; the page's stale reopen is
        # refused with the server's own words.
        supervisor_token = await _register(runtime, SUPERVISOR, "supervisor")
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            async with http.post(
                server.url + "api/console/login", json={"token": supervisor_token}
            ) as resp:
                assert resp.status == 200, await resp.text()
            async with http.post(f"{server.url}api/console/tickets/{ref}/reopen") as resp:
                assert resp.status == 200, await resp.text()
        refused = await _in_browser(_stale_reopen_is_refused, driver)
        assert refused, refused
        assert "HTTP" not in refused, refused
        assert EXPIRED not in refused, refused

        await _in_browser(_session_expires, driver)
        due_soon, breached = await _in_browser(
            _supervisor_view, driver, await runtime.agents.issue_token(SUPERVISOR[0])
        )
        assert due_soon
        assert breached
    finally:
        await asyncio.to_thread(browser.__exit__, None, None, None)


async def test_the_console_api_needs_a_live_session(
    clocked_server: Server, clock: ManualClock
) -> None:
    server = clocked_server
    runtime = server.runtime
    assert runtime is not None
    token = await _register(runtime, AGENT, "agent")
    queue = server.url + "api/console/queue?scope=all"
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        # No session at all.
        for method, path in (
            ("GET", "api/console/me"),
            ("GET", "api/console/queue?scope=all"),
            ("GET", "api/console/supervisor"),
            ("POST", "api/console/tickets/T20250602-0001/claim"),
        ):
            async with http.request(method, server.url + path) as resp:
                assert resp.status == 401, (path, await resp.text())
                assert (await resp.json())["error"], path
        async with http.post(server.url + "api/console/login", json={"token": "nope"}) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]

        # A live session.
        async with http.post(server.url + "api/console/login", json={"token": token}) as resp:
            assert resp.status == 200, await resp.text()
            who = await resp.json()
        assert who["name"] == AGENT[1]
        assert who["role"] == "agent"
        assert who["expires_at"]
        async with http.get(queue) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        assert isinstance(body["tickets"], list)
        assert body["now"]
        async with http.get(server.url + "api/console/supervisor") as resp:
            assert resp.status == 403, await resp.text()  # agents are not supervisors

        # After logging out, the old session cookie is worth nothing.
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
        assert cookie, "login set no session cookie"
        async with http.post(server.url + "api/console/logout") as resp:
            assert resp.status == 200
    async with (
        aiohttp.ClientSession() as http,
        http.get(queue, headers={"Cookie": cookie}) as resp,
    ):
        assert resp.status == 401, await resp.text()

    # A session that outlives its time is refused, even with the cookie still in hand.
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        async with http.post(server.url + "api/console/login", json={"token": token}) as resp:
            assert resp.status == 200, await resp.text()
            expires_at = datetime.fromisoformat((await resp.json())["expires_at"])
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
        async with http.get(queue) as resp:
            assert resp.status == 200, await resp.text()
        clock.set(expires_at - timedelta(seconds=1))
        async with http.get(queue) as resp:
            assert resp.status == 200, await resp.text()
        clock.set(expires_at + timedelta(seconds=1))
        async with http.get(queue) as resp:
            assert resp.status == 401, await resp.text()
            assert (await resp.json())["error"]
