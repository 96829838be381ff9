"""POST /api/alerts: a signed alert opens an incident; a bad or replayed one opens nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
import pytest

from bot.serve import Server
from escalation.incidents.sources import sign
from tests.support.servers import running_server

SECRET = "alert-secret-for-tests"


@pytest.fixture
async def alert_server(database_url: str) -> AsyncIterator[Server]:
    async with running_server(database_url, alert_secret=SECRET) as srv:
        yield srv


def _signed(body: Mapping[str, object], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "X-Helpdesk-Timestamp": stamp,
        "X-Helpdesk-Signature": sign(secret, stamp, raw),
    }


async def test_signed_alerts_open_once_and_bad_ones_open_nothing(alert_server: Server) -> None:
    url = alert_server.url + "api/alerts"
    runtime = alert_server.runtime
    assert runtime is not None
    body = {
        "title": "补贴领取接口大量超时",
        "level": "Ⅲ",
        "category": "系统故障",
        "detail": "p99 30s",
    }
    async with aiohttp.ClientSession() as http:
        raw, headers = _signed(body, secret="wrong-secret")
        async with http.post(url, data=raw, headers=headers) as r:
            assert r.status == 401
        raw, headers = _signed(body)
        stale = dict(headers, **{"X-Helpdesk-Timestamp": str(int(time.time()) - 600)})
        stale["X-Helpdesk-Signature"] = sign(SECRET, stale["X-Helpdesk-Timestamp"], raw)
        async with http.post(url, data=raw, headers=stale) as r:
            assert r.status == 401
        assert await runtime.incidents.active() == []

        async with http.post(url, data=raw, headers=headers) as r:
            assert r.status == 201
            opened = await r.json()
        async with http.post(url, data=raw, headers=headers) as r:  # the same request again
            assert r.status == 401
            assert "replayed" in (await r.json())["error"]
        raw2, headers2 = _signed(dict(body, level="Ⅱ", detail="仍未恢复"))
        async with http.post(url, data=raw2, headers=headers2) as r:  # attaches and raises
            assert r.status == 200
            assert (await r.json())["incident"] == opened["incident"]
        raw3, headers3 = _signed(dict(body, level="Ⅸ"))
        async with http.post(url, data=raw3, headers=headers3) as r:
            assert r.status == 400
    active = await runtime.incidents.active()
    assert [v.reference for v in active] == [opened["incident"]]
    assert active[0].level == "II"
    assert active[0].source == "alert"
    detail = await runtime.incidents.detail(opened["incident"])
    kinds = [e[0] for e in detail.events]
    assert kinds[0] == "open"
    assert "level" in kinds
    assert [(r.kind, r.status) for r in detail.reports] == [("first", "draft")]
