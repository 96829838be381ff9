"""The web chat page in real headless Chromium, against a scripted stub of the chat API.

The stub is a small aiohttp app running in a background thread with its own event loop, so the
tests themselves are plain synchronous Selenium code. It serves the real static files from
bot/web/static and answers:

* "/start"      -> a greeting with the role buttons 我是消费者 / 我是商户
* "我是消费者"   -> "好的"
* "boom"        -> HTTP 500 (the retry path)
* "refuse"      -> HTTP 400 {"error": ...} (a refusal the page shows as is)
* "slow"        -> "收到：slow" after a short delay (the typing indicator)
* anything else -> "收到：<text>"
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import chromium_driver, chromium_missing_reason

pytestmark = pytest.mark.browser

STATIC_DIR = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"

CAMPAIGN = "测试区专项促消费活动"
GREETING = "您好！我是活动智能客服。\n请问您是消费者还是商户？"
ROLES = ["我是消费者", "我是商户"]
NETWORK_ERROR = "网络不稳定，消息没有发出去，请稍后重试。"
REFUSAL = "这条消息暂时无法处理，请换个说法。"
WAIT_SECONDS = 10

T = TypeVar("T")


# ---------------------------------------------------------------- stub server


@dataclass
class StubServer:
    """The scripted chat API, run in a thread of its own."""

    received: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _error: BaseException | None = None

    # -- what the page sent

    def texts(self) -> list[str]:
        with self._lock:
            return [text for _, text in self.received]

    def sessions(self) -> set[str]:
        with self._lock:
            return {session for session, _ in self.received}

    def reset(self) -> None:
        with self._lock:
            self.received.clear()

    # -- handlers

    async def index(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def info(self, _request: web.Request) -> web.Response:
        return web.json_response({"campaign": CAMPAIGN})

    async def messages(self, request: web.Request) -> web.Response:
        body: Any = await request.json()
        session, text = str(body["session"]), str(body["text"])
        with self._lock:
            self.received.append((session, text))
        if text == "/start":
            return _replies({"text": GREETING, "choices": ROLES})
        if text == "我是消费者":
            return _replies({"text": "好的", "choices": []})
        if text == "boom":
            return web.json_response({"error": "internal"}, status=500)
        if text == "refuse":
            return web.json_response({"error": REFUSAL}, status=400)
        if text == "slow":
            await asyncio.sleep(1.0)
        return _replies({"text": f"收到：{text}", "choices": []})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.index)
        app.router.add_static("/static", STATIC_DIR)
        app.router.add_get("/api/info", self.info)
        app.router.add_post("/api/messages", self.messages)
        return app

    # -- life cycle

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="stub-chat-api", daemon=True
        )
        self._thread.start()
        if not ready.wait(WAIT_SECONDS) or self._error is not None:
            self.stop()
            raise RuntimeError("stub chat API did not start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # The loop may close in between, when the server stopped on its own.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(WAIT_SECONDS)
            assert not self._thread.is_alive(), "stub chat API did not stop"

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:
            self._error = exc
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"
            ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()


def _replies(*replies: dict[str, Any]) -> web.Response:
    return web.json_response({"replies": list(replies)})


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    reason = chromium_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with chromium_driver() as drv:
        yield drv


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    server = StubServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(driver: WebDriver, stub: StubServer) -> WebDriver:
    """The chat page, opened as by a first-time visitor."""
    # Any page of the same origin will do to forget the previous test's session.
    driver.get(stub.url + "/api/info")
    driver.execute_script("window.localStorage.clear();")
    stub.reset()
    driver.get(stub.url + "/")
    return driver


# ---------------------------------------------------------------- helpers


def wait_until(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05).until(
        condition, message=f"timed out waiting for {what}"
    )


def bot_texts(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#messages .msg.bot .text")]


def user_texts(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#messages .msg.user .text")]


def wait_for_bot_text(driver: WebDriver, text: str) -> None:
    wait_until(driver, lambda d: text in bot_texts(d), f"bot reply {text!r}")


def wait_idle(driver: WebDriver) -> None:
    wait_until(
        driver,
        lambda d: not d.find_element(By.ID, "typing").is_displayed(),
        "the typing indicator to go away",
    )


def wait_for_greeting(driver: WebDriver) -> None:
    wait_for_bot_text(driver, GREETING)
    wait_idle(driver)


def type_and_enter(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


# ---------------------------------------------------------------- tests


def test_greeting_and_role_buttons(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)

    assert page.title == "活动智能客服"
    wait_until(page, lambda d: d.find_element(By.ID, "campaign").text == CAMPAIGN, "campaign")
    buttons = page.find_elements(By.CSS_SELECTOR, "#messages .msg.bot .choices button")
    assert [b.text for b in buttons] == ROLES
    assert all(b.tag_name == "button" and b.is_enabled() for b in buttons)
    # "/start" goes out by itself and is not shown as if the visitor had typed it.
    assert user_texts(page) == []
    assert stub.texts() == ["/start"]
    session = page.execute_script("return window.localStorage.getItem('helpdesk-session');")
    assert session
    assert stub.sessions() == {session}
    # Accessibility hooks.
    assert page.find_element(By.ID, "messages").get_attribute("aria-live") == "polite"
    label = page.find_element(By.CSS_SELECTOR, "label[for='input']")
    assert (label.get_attribute("textContent") or "").strip()


def test_role_button_sends_its_text(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)
    consumer = page.find_element(By.XPATH, "//div[@class='choices']/button[.='我是消费者']")
    consumer.click()

    wait_for_bot_text(page, "好的")
    assert user_texts(page) == ["我是消费者"]
    assert stub.texts() == ["/start", "我是消费者"]
    buttons = page.find_elements(By.CSS_SELECTOR, "#messages .choices button")
    assert [b.is_enabled() for b in buttons] == [False, False]


def test_enter_sends_and_shift_enter_breaks_lines(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "消费券什么时候发放？")
    wait_for_bot_text(page, "收到：消费券什么时候发放？")
    box = page.find_element(By.ID, "input")
    assert box.get_attribute("value") == ""

    box.send_keys("第一行")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("第二行")
    assert box.get_attribute("value") == "第一行\n第二行"
    box.send_keys(Keys.ENTER)
    wait_for_bot_text(page, "收到：第一行\n第二行")
    assert user_texts(page) == ["消费券什么时候发放？", "第一行\n第二行"]

    # Nothing (or only blanks) is never sent, neither by Enter nor by the button.
    box.send_keys("   ")
    box.send_keys(Keys.ENTER)
    page.find_element(By.ID, "send").click()
    wait_idle(page)
    assert stub.texts() == ["/start", "消费券什么时候发放？", "第一行\n第二行"]
    assert len(page.find_elements(By.CSS_SELECTOR, "#messages .msg.user")) == 2


def test_text_is_never_injected_as_html(page: WebDriver) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "<b>x</b>")
    wait_for_bot_text(page, "收到：<b>x</b>")

    assert user_texts(page) == ["<b>x</b>"]
    assert page.find_elements(By.CSS_SELECTOR, "#messages b") == []


def test_server_error_offers_retry(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "boom")
    wait_for_bot_text(page, NETWORK_ERROR)
    wait_idle(page)

    errors = page.find_elements(By.CSS_SELECTOR, "#messages .msg.bot.error")
    assert len(errors) == 1
    retry = errors[0].find_element(By.TAG_NAME, "button")
    assert retry.text == "重试"
    retry.click()

    wait_until(page, lambda _: stub.texts().count("boom") == 2, "the retried message")
    wait_for_bot_text(page, NETWORK_ERROR)
    wait_idle(page)
    # The retry resends the same text without showing the visitor's message twice.
    assert user_texts(page) == ["boom"]
    assert len(page.find_elements(By.CSS_SELECTOR, "#messages .msg.bot.error")) == 1

    # The conversation goes on afterwards.
    type_and_enter(page, "还在吗")
    wait_for_bot_text(page, "收到：还在吗")


def test_refusal_message_is_shown(page: WebDriver) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "refuse")
    wait_for_bot_text(page, REFUSAL)
    error = page.find_element(By.CSS_SELECTOR, "#messages .msg.bot.error")
    assert error.find_elements(By.TAG_NAME, "button") == []
    assert NETWORK_ERROR not in bot_texts(page)


def test_typing_indicator_while_waiting(page: WebDriver) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "slow")
    typing = page.find_element(By.ID, "typing")
    wait_until(page, lambda _: typing.is_displayed(), "the typing indicator")
    assert "正在输入" in typing.text
    wait_for_bot_text(page, "收到：slow")
    wait_idle(page)


def test_message_length_is_limited(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)
    box = page.find_element(By.ID, "input")
    # Typing 2,001 characters key by key is slow; put them in and fire the input event.
    page.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        box,
        "好" * 2001,
    )
    hint = page.find_element(By.ID, "hint")
    wait_until(page, lambda _: "2000" in hint.text, "the length hint")
    assert hint.is_displayed()
    assert not page.find_element(By.ID, "send").is_enabled()
    box.send_keys(Keys.ENTER)
    assert stub.texts() == ["/start"]

    box.send_keys(Keys.BACKSPACE)
    wait_until(page, lambda d: d.find_element(By.ID, "send").is_enabled(), "send enabled")
    box.send_keys(Keys.ENTER)
    wait_until(page, lambda _: len(stub.texts()) == 2, "the 2000-character message")
    assert stub.texts()[1] == "好" * 2000


def test_reload_keeps_the_conversation(page: WebDriver, stub: StubServer) -> None:
    wait_for_greeting(page)
    type_and_enter(page, "你好")
    wait_for_bot_text(page, "收到：你好")
    session = page.execute_script("return window.localStorage.getItem('helpdesk-session');")

    page.refresh()
    wait_for_bot_text(page, "收到：你好")
    assert user_texts(page) == ["你好"]
    assert GREETING in bot_texts(page)
    # Not a new conversation: no second "/start", same session.
    assert stub.texts() == ["/start", "你好"]
    type_and_enter(page, "再问一个")
    wait_for_bot_text(page, "收到：再问一个")
    assert stub.sessions() == {session}
