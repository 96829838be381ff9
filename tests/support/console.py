"""The agents' console, for the tests that drive it: the desk's people, a complaint filed
through the web chat API, a login token, and the browser steps (waits, typing, logging in)
run off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiohttp
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.app import Runtime
from bot.serve import Server
from escalation.tickets.rules import find_reference

P = ParamSpec("P")
R = TypeVar("R")

COMPLAINT = "6月2日在某某电器店买冰箱，店员不让用补贴"
INTAKE = ("我是消费者", "我要投诉", "投诉", "商户拒用补贴", COMPLAINT, "电话 139 1234 5678")
WAIT = 15

AGENT = (7001, "小王")
SUPERVISOR = (7003, "张主管")


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
