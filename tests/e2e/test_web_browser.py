"""The web chat in a real headless Chromium against the real server and database."""

from __future__ import annotations

import asyncio

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from bot.db import make_sessions
from bot.serve import Server
from handlers import texts
from storage.models import Feedback, Message
from tests.support.browser import browser_once, chromium_driver

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
    browser_once(server.settings.database_url)
    bubbles = await asyncio.to_thread(_journey, server.url)
    assert any("龙华惠购" in b for b in bubbles)
    assert server.runtime is not None
    counts = await server.runtime.store.counts()
    assert counts["users"] == 1
    assert counts["messages"] >= 6


def _rate_the_first_of_two_answers(url: str) -> list[str]:
    """Ask two questions, then press 没帮助 under the first answer."""
    with chromium_driver() as driver:
        driver.get(url)
        wait = WebDriverWait(driver, 15)
        wait.until(
            ec.element_to_be_clickable((By.XPATH, f"//button[.='{texts.CHOICE_CONSUMER}']"))
        ).click()
        wait.until(
            ec.text_to_be_present_in_element((By.ID, "messages"), texts.ROLE_SET["consumer"])
        )
        box = driver.find_element(By.ID, "input")
        for question, seen in (("补贴怎么领", "龙华惠购"), ("发票怎么开", "申请开票")):
            box.send_keys(question)
            box.send_keys(Keys.ENTER)
            wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), seen))
        first_answer = driver.find_elements(
            By.XPATH, f"//div[contains(@class,'bot')][.//button[.='{texts.CHOICE_UNHELPFUL}']]"
        )[0]
        assert "龙华惠购" in first_answer.text
        first_answer.find_element(By.XPATH, f".//button[.='{texts.CHOICE_UNHELPFUL}']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), texts.SORRY_UNHELPFUL))
        return [el.text for el in driver.find_elements(By.CSS_SELECTOR, ".msg.bot")]


async def test_unhelpful_under_an_earlier_answer_in_chromium_rates_that_answer(
    server: Server,
) -> None:
    browser_once(server.settings.database_url)
    bubbles = await asyncio.to_thread(_rate_the_first_of_two_answers, server.url)
    assert texts.NO_ANSWER not in bubbles
    assert server.runtime is not None
    async with make_sessions(server.runtime.db)() as s:
        feedback = (await s.execute(select(Feedback.kb_entry_id, Feedback.helpful))).all()
        pressed = (
            await s.execute(
                select(Message.kind).where(
                    Message.direction == "in", Message.text == texts.CHOICE_UNHELPFUL
                )
            )
        ).scalars()
        assert list(pressed) == ["feedback"]
    assert [tuple(row) for row in feedback] == [("consumer-claim-how", False)]
