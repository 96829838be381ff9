"""A ticket's files in the console, in a real headless Chromium: the photo a customer sent
shows as a thumbnail the signed-in page loads, the PDF as a download link."""

from __future__ import annotations

import asyncio

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec

from bot.serve import Server
from escalation.tickets.files import Fetch, NewFile, Outcome
from tests.support.botapi import make_png
from tests.support.browser import browser_once, chromium_driver
from tests.support.console import (
    AGENT,
    DESKTOP,
    PHONE,
    _in_browser,
    _log_in,
    _open_complaint,
    _register,
    _screenshot,
    _viewport,
    _wait,
    _wait_text,
)

PHOTO = make_png(120, 90)
PDF = b"%PDF-1.4\n% a receipt\n%%EOF\n"


def _bytes(data: bytes) -> Fetch:
    async def fetch(_limit: int) -> bytes:
        return data

    return fetch


def _open_console(driver: WebDriver, url: str) -> None:
    driver.get(url + "console")
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "login-token")))


def _files_are_shown(driver: WebDriver, ref: str) -> tuple[int, str, str]:
    _wait(driver).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f'#queue .ticket-row[data-ref="{ref}"]'))
    )
    driver.find_element(By.CSS_SELECTOR, f'#queue .ticket-row[data-ref="{ref}"]').click()
    _wait_text(driver, "#detail-ref", ref)
    thumb = _wait(driver).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#files img.file-thumb"))
    )
    # Loaded through the signed-in session: a refused or broken image has no width.
    _wait(driver).until(lambda d: d.execute_script("return arguments[0].naturalWidth", thumb))
    width = int(driver.execute_script("return arguments[0].naturalWidth", thumb))
    links = driver.find_elements(By.CSS_SELECTOR, "#files a[download]")
    assert len(links) == 1, [a.text for a in links]
    return width, links[0].text, driver.find_element(By.ID, "files-title").text


def _files_in_view(driver: WebDriver) -> None:
    driver.execute_script("document.getElementById('files').scrollIntoView({block: 'center'})")
    _screenshot(driver, "ticket-photo")


@pytest.mark.browser
async def test_the_console_shows_a_photo_the_customer_sent_as_a_thumbnail(
    server: Server,
) -> None:
    browser_once(server.settings.database_url, "tests/e2e/test_ticket_files.py does both")
    runtime = server.runtime
    assert runtime is not None
    token = await _register(runtime, AGENT, "agent")
    ref = await _open_complaint(server, "c1")
    now = runtime.clock.now()
    for new in (
        NewFile("photo", None, None, len(PHOTO), _bytes(PHOTO)),
        NewFile("document", "小票.pdf", "application/pdf", len(PDF), _bytes(PDF)),
    ):
        added = await runtime.files.attach(ref, "web:c1", new, now)
        assert added.outcome is Outcome.ADDED

    browser = chromium_driver()
    driver = await asyncio.to_thread(browser.__enter__)
    try:
        await _in_browser(_open_console, driver, server.url)
        await _in_browser(_log_in, driver, token, AGENT[1], "客服")
        width, link, title = await _in_browser(_files_are_shown, driver, ref)
        for size in (DESKTOP, PHONE):  # with HELPDESK_SCREENSHOTS=DIR, how it looks
            await _in_browser(_viewport, driver, size)
            await _in_browser(_files_in_view, driver)
    finally:
        await asyncio.to_thread(browser.__exit__, None, None, None)
    assert width == 120
    assert "小票.pdf" in link
    assert title == "附件"
