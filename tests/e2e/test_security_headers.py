"""Security headers on every response, and pages that work under their policy."""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.clock import utc_now
from bot.serve import Server
from tests.support.browser import browser_once, chromium_driver

STATIC = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"
FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
REQUIRED_CSP = {
    "default-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
}
REQUESTS = (
    ("GET", "", 200),
    ("GET", "console", 200),
    ("GET", "static/chat.js", 200),
    ("GET", "api/info", 200),
    ("GET", "api/messages?session=h1", 200),
    ("POST", "api/messages", 400),
    ("GET", "healthz", 200),
    ("GET", "api/console/me", 401),
    ("GET", "no-such-page", 404),
    ("GET", "api/no-such-endpoint", 404),
    ("GET", "static/no-such-file.js", 404),
    ("DELETE", "api/messages", 405),
    ("GET", "api/alerts", 405),
)


def _csp(value: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


async def test_every_response_carries_the_security_headers(server: Server) -> None:
    # One server for every route (a server per route would build a KB engine each).
    async with aiohttp.ClientSession() as http:
        for method, path, status in REQUESTS:
            async with http.request(method, server.url + path, data=b"{oops") as resp:
                assert resp.status == status, (method, path, await resp.text())
                headers = resp.headers
                if status >= 400 and not path.startswith("static/"):  # missing file: empty
                    assert (await resp.json())["error"], path
            for name, value in FIXED.items():
                assert headers.get(name) == value, (path, name)
            csp = _csp(headers["Content-Security-Policy"])
            for directive, sources in REQUIRED_CSP.items():
                assert csp.get(directive) == sources, (path, directive)
            assert not any("unsafe" in s for sources in csp.values() for s in sources), csp
            if path.startswith(("api/", "healthz")):
                assert headers.get("Cache-Control") == "no-store", path


class _Inline(HTMLParser):
    """What a strict Content-Security-Policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._in_script = "src" not in named
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append("inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_pages_have_no_inline_code_the_policy_would_block(page: str) -> None:
    parser = _Inline()
    parser.feed((STATIC / page).read_text(encoding="utf-8"))
    assert parser.found == []


RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _pages_under_the_policy(url: str, token: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    with chromium_driver() as driver:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
        )
        wait = WebDriverWait(driver, 15)
        driver.get(url)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".msg.bot")))
        seen["/"] = driver.execute_script("return window.__violations")
        driver.get(url + "console")
        box = wait.until(ec.element_to_be_clickable((By.ID, "login-token")))
        box.send_keys(token)
        driver.find_element(By.ID, "login-button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "console-view")))
        driver.find_element(By.ID, "view-incidents").click()
        wait.until(ec.visibility_of_element_located((By.ID, "incidents-view")))
        seen["/console"] = driver.execute_script("return window.__violations")
    return seen


@pytest.mark.browser
async def test_the_pages_work_and_break_no_rule_of_the_policy(server: Server) -> None:
    browser_once(server.settings.database_url, "the headers are the same on PostgreSQL")
    runtime = server.runtime
    assert runtime is not None
    await runtime.agents.add(7201, "小赵", "supervisor", utc_now())
    token = await runtime.agents.issue_token(7201)
    seen = await asyncio.to_thread(_pages_under_the_policy, server.url, token)
    assert seen == {"/": [], "/console": []}
