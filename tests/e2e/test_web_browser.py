"""The web chat in a real headless Chromium against the real server and database."""

from __future__ import annotations

import asyncio

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.serve import Server
from handlers import texts
from tests.support.browser import chromium_driver, chromium_missing_reason

pytestmark = pytest.mark.browser


def _journey(url: str) -> list[str]:
    with chromium_driver() as driver:
        driver.get(url)
        wait = WebDriverWait(driver, 15)
        role = wait.until(
            ec.element_to_be_clickable(
                (
                    By.XPATH,
                    f"//div[contains(@class,'choices')]//button[.='{texts.CHOICE_CONSUMER}']",
                )
            )
        )
        role.click()
        wait.until(
            ec.text_to_be_present_in_element((By.ID, "messages"), texts.ROLE_SET["consumer"])
        )
        box = driver.find_element(By.ID, "input")
        box.send_keys("补贴怎么领")
        box.send_keys(Keys.ENTER)
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), "龙华惠购"))
        return [el.text for el in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]


async def test_a_question_typed_in_chromium_gets_the_kb_answer(server: Server) -> None:
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    if "postgresql" in server.settings.database_url:
        pytest.skip("the browser journey runs once, on SQLite; the API tests cover PostgreSQL")
    bubbles = await asyncio.to_thread(_journey, server.url)
    assert any("龙华惠购" in b for b in bubbles)
    assert server.runtime is not None
    counts = await server.runtime.store.counts()
    assert counts["users"] == 1
    assert counts["messages"] >= 6
