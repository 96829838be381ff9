"""The agents' console, for the tests that drive it: the desk's people, a complaint filed
through the web chat API, a set of tickets to search, a login token, the browser steps
(waits, typing, logging in, the viewport's size) run off the event loop, and screenshots
saved when HELPDESK_SCREENSHOTS names a folder."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiohttp
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.app import Runtime
from bot.serve import Server
from escalation.routing import agent_actor
from escalation.tickets.rules import find_reference

P = ParamSpec("P")
R = TypeVar("R")

COMPLAINT = "6月2日在某某电器店买冰箱，店员不让用补贴"
INTAKE = ("我是消费者", "我要投诉", "投诉", "商户拒用补贴", COMPLAINT, "电话 139 1234 5678")
WAIT = 15

AGENT = (7001, "小王")
OTHER_AGENT = (7002, "小李")
SUPERVISOR = (7003, "张主管")
DESKTOP = (1366, 768)
PHONE = (390, 844)
# Tests read this one variable directly: it configures the test run, not the product.
SCREENSHOTS = os.environ.get("HELPDESK_SCREENSHOTS", "")


async def _open_complaint(server: Server, session: str) -> str:
    """File a complaint as a consumer in the web chat; return its reference."""
    last: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        for text in INTAKE:
            async with http.post(
                server.url + "api/messages", json={"session": session, "text": text}
            ) as resp:
                assert resp.status == 200, await resp.text()
                last = (await resp.json())["replies"]
    found = find_reference(" ".join(str(r["text"]) for r in last))
    assert found, last
    return found


async def _register(runtime: Runtime, who: tuple[int, str], role: str) -> str:
    """Register someone in the agents' register and return a console login token."""
    await runtime.agents.add(who[0], who[1], role, runtime.clock.now())
    return await runtime.agents.issue_token(who[0])


def _jar() -> aiohttp.CookieJar:
    # The server is on 127.0.0.1: a default jar refuses cookies from IP addresses.
    return aiohttp.CookieJar(unsafe=True)


def _css(driver: WebDriver, selector: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def _shown(driver: WebDriver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def _wait(driver: WebDriver, seconds: float = WAIT) -> WebDriverWait[WebDriver]:
    # Rows are rebuilt when the queue changes: a row found a moment ago may be gone.
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def _type(driver: WebDriver, element_id: str, text: str) -> None:
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


def _click(driver: WebDriver, selector: str) -> None:
    """Click what the selector finds, again if the list was rebuilt under the click."""

    def clicked(d: WebDriver) -> bool:
        d.find_element(By.CSS_SELECTOR, selector).click()
        return True

    _wait(driver).until(clicked)


def _wait_text(driver: WebDriver, selector: str, text: str) -> None:
    _wait(driver).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))


def _log_in(driver: WebDriver, token: str, name: str, role_name: str) -> None:
    _type(driver, "login-token", token)
    driver.find_element(By.ID, "login-button").click()
    _wait_text(driver, "#whoami", name)
    assert role_name in driver.find_element(By.ID, "whoami").text
    assert _shown(driver, "logout")
    assert _shown(driver, "console-view")
    assert not _shown(driver, "login-view")
    assert not _shown(driver, "error")


async def _in_browser(
    step: Callable[Concatenate[WebDriver, P], R],
    driver: WebDriver,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Run one step of the journey off the event loop (the server runs on it)."""
    try:
        return await asyncio.to_thread(step, driver, *args, **kwargs)
    except Exception as exc:
        page = await asyncio.to_thread(lambda: driver.find_element(By.TAG_NAME, "body").text)
        raise AssertionError(f"{step.__name__} failed; the page showed:\n{page}") from exc


@dataclass(frozen=True, slots=True)
class Seeded:
    """The references of the tickets `_seed_tickets` made, by what they are."""

    fridge: str  # closed by 小王; merchant 某某电器_旗舰店, phone 13912345678
    refund: str  # closed by 小李; 补贴未到账, merchant Apple 授权店, phone 13700005678
    broken: str  # open, claimed by 小王; 系统故障, no phone, a customer message with E1001
    waiting: str  # open, nobody's; merchant 某某电器 南山店, phone 13600005678


async def _seed_tickets(server: Server) -> Seeded:
    """Open four tickets as three customers and work them as 小王 and 小李 (registered here),
    each a minute apart so that newest-first has one answer."""
    runtime = server.runtime
    assert runtime is not None
    async with aiohttp.ClientSession() as http:
        for session in ("s1", "s2", "s3"):
            async with http.post(
                server.url + "api/messages", json={"session": session, "text": "你好"}
            ) as resp:
                assert resp.status == 200, await resp.text()
    for who in (AGENT, OTHER_AGENT):
        await runtime.agents.add(who[0], who[1], "agent", runtime.clock.now())
    wang, li = agent_actor(*AGENT, "agent"), agent_actor(*OTHER_AGENT, "agent")
    start = runtime.clock.now() - timedelta(hours=2)
    refs = []
    for n, (sender, ticket_type, category, summary, merchant, phone) in enumerate(
        (
            (
                "web:s1",
                "投诉",
                "商户拒用补贴",
                "买冰箱时店员说100%不能用补贴",
                "某某电器_旗舰店",
                "13912345678",
            ),
            (
                "web:s2",
                "投诉",
                "补贴未到账",
                "补贴一直没到账，我的手机 13800001111",
                "Apple 授权店",
                "13700005678",
            ),
            ("web:s3", "求助", "系统故障", "领券页面打不开", None, None),
            (
                "web:s1",
                "咨询",
                "其他",
                "以旧换新怎么申请，店员说不清楚",
                "某某电器 南山店",
                "13600005678",
            ),
        )
    ):
        view = await runtime.desk.open(
            at=start + timedelta(minutes=n),
            sender=sender,
            channel="web",
            ticket_type=ticket_type,
            category=category,
            summary=summary,
            merchant_name=merchant,
            contact_phone=phone,
        )
        refs.append(view.reference)
    at = start + timedelta(minutes=10)
    await runtime.desk.claim(refs[2], wang, at)
    await runtime.desk.customers.message(refs[2], "web:s3", "扫码时提示 E1001 错误", at)
    await runtime.desk.close(refs[0], wang, "已协调商户补发补贴", at + timedelta(minutes=1))
    await runtime.desk.close(refs[1], li, "补贴已于今日补发", at + timedelta(minutes=2))
    return Seeded(*refs)


def _viewport(driver: WebDriver, size: tuple[int, int]) -> None:
    """Make the page's viewport exactly this size; a phone's width also gets a phone's
    touch and viewport rules."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _screenshot(driver: WebDriver, name: str) -> Path | None:
    """Save the viewport as DIR/NAME-WIDTHxHEIGHT.png when HELPDESK_SCREENSHOTS=DIR is set."""
    if not SCREENSHOTS:
        return None
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    path = folder / f"{name}-{width}x{height}.png"
    assert driver.save_screenshot(str(path)), path
    return path


def _in_view(driver: WebDriver, element_id: str) -> bool:
    """Whether the element is shown and wholly inside the viewport."""
    return bool(
        driver.execute_script(
            """const box = document.getElementById(arguments[0]).getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.left >= 0
                && box.bottom <= window.innerHeight && box.right <= window.innerWidth;""",
            element_id,
        )
    )
