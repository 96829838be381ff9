"""The console's incidents view: declaring an incident and working it through the plan, in a
real headless Chromium, and the API behind it (sessions, refusals) on every database."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from bot.serve import Server
from tests.support.browser import browser_once, chromium_driver
from tests.support.console import (
    AGENT,
    SUPERVISOR,
    _in_browser,
    _jar,
    _log_in,
    _register,
    _type,
    _wait,
    _wait_text,
)

TITLE = "部分用户领券失败"


def _declare_and_work(driver: WebDriver, url: str, token: str) -> str:
    driver.get(url + "console")
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "login-token")))
    _log_in(driver, token, SUPERVISOR[1], "主管")
    driver.find_element(By.ID, "view-incidents").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "incident-empty")))
    assert not driver.find_element(By.ID, "console-view").is_displayed()

    driver.find_element(By.CSS_SELECTOR, "#declare-box summary").click()
    Select(driver.find_element(By.ID, "declare-level")).select_by_value("III")
    _wait_text(driver, "#declare-criteria", "适用情形")
    driver.find_element(By.ID, "declare-button").click()  # no title yet
    _wait_text(driver, "#error", "事件标题")
    _type(driver, "declare-title", TITLE)
    _type(driver, "declare-category", "系统故障")
    driver.find_element(By.ID, "declare-button").click()
    _wait_text(driver, "#incident-list", TITLE)
    _wait_text(driver, "#incident-ref", "Ⅲ级")
    ref = driver.find_element(By.ID, "incident-ref").text.split(" ")[0]
    _wait_text(driver, "#incident-status", "未确认")
    _wait_text(driver, "#incident-reports", "待审核")
    assert driver.find_element(By.ID, "incident-count").text == "1"

    driver.find_element(By.ID, "inc-ack").click()
    _wait_text(driver, "#incident-status", "已确认")
    _wait_text(driver, "#incident-timeline", "确认，启动处置")
    assert not driver.find_element(By.ID, "inc-ack").is_enabled()
    _type(driver, "incident-text", "已切换备用领券服务")
    driver.find_element(By.ID, "inc-note").click()
    _wait_text(driver, "#incident-timeline", "已切换备用领券服务")
    driver.find_element(By.ID, "inc-approve").click()
    _wait_text(driver, "#incident-reports", "未报送（未配置报送渠道）")
    assert "已报送" not in driver.find_element(By.ID, "incident-reports").text
    assert not driver.find_element(By.ID, "error").is_displayed()

    driver.find_element(By.ID, "view-tickets").click()
    _wait(driver).until(ec.visibility_of_element_located((By.ID, "console-view")))
    assert not driver.find_element(By.ID, "incidents-view").is_displayed()
    return ref


@pytest.mark.browser
async def test_a_supervisor_declares_and_works_an_incident_in_the_console(
    server: Server,
) -> None:
    browser_once(server.settings.database_url, "the API test covers PostgreSQL")
    runtime = server.runtime
    assert runtime is not None
    token = await _register(runtime, SUPERVISOR, "supervisor")
    browser = chromium_driver()
    driver = await asyncio.to_thread(browser.__enter__)
    try:
        ref = await _in_browser(_declare_and_work, driver, server.url, token)
    finally:
        await asyncio.to_thread(browser.__exit__, None, None, None)
    detail = await runtime.incidents.detail(ref)
    assert detail.view.title == TITLE
    assert detail.view.level == "III"
    assert detail.view.status == "acknowledged"
    assert detail.view.source == "declared"
    assert [(r.kind, r.status) for r in detail.reports] == [("first", "sent")]
    assert "已切换备用领券服务" in " ".join(e[2] for e in detail.events)


async def test_the_incident_api_refuses_what_it_must(server: Server) -> None:
    runtime = server.runtime
    assert runtime is not None
    api = server.url + "api/console/incidents"
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        for method, path in (("GET", api), ("POST", api), ("POST", api + "/I20250602-01/ack")):
            async with http.request(method, path, json={}) as resp:
                assert resp.status == 401, path
        agent = await _register(runtime, AGENT, "agent")
        async with http.post(server.url + "api/console/login", json={"token": agent}) as resp:
            assert resp.status == 200
        async with http.post(api, json={"level": "Ⅸ", "title": TITLE}) as resp:
            assert resp.status == 400
            assert "Ⅸ" in (await resp.json())["error"]
        async with http.post(api, json={"level": "Ⅲ"}) as resp:
            assert resp.status == 400
        async with http.post(api, data="not json") as resp:
            assert resp.status == 400
        async with http.get(api) as resp:
            body = await resp.json()
            assert body["incidents"] == []
            assert [lv["key"] for lv in body["levels"]] == [
                "I",
                "II",
                "III",
                "IV",
            ]
        async with http.post(api, json={"level": "3", "title": TITLE}) as resp:
            assert resp.status == 201
            ref = (await resp.json())["incident"]["reference"]
        async with http.post(f"{api}/{ref}/ack") as resp:
            assert resp.status == 200
            assert (await resp.json())["incident"]["status"] == "acknowledged"
        async with http.post(f"{api}/{ref}/ack") as resp:
            assert resp.status == 409  # already acknowledged, by 小王
        async with http.post(f"{api}/{ref}/approve") as resp:
            assert resp.status == 403  # reports need a supervisor
        async with http.post(f"{api}/{ref}/explode") as resp:
            assert resp.status == 404
        async with http.post(f"{api}/I20990101-01/ack") as resp:
            assert resp.status == 404
        async with http.get(f"{api}/{ref}") as resp:
            detail = await resp.json()
    assert detail["incident"]["status"] == "acknowledged"
    assert [r["status"] for r in detail["reports"]] == ["draft"]
    assert [e["kind"] for e in detail["timeline"]][:1] == ["open"]
    assert len(await runtime.incidents.active()) == 1
