"""The bureau's report, built from a day of real traffic through the running service: each
number is checked against the database, and no ID or phone number reaches any output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import distinct, func, select

from bot.clock import utc_now
from bot.db import make_sessions
from bot.serve import Server
from escalation.digests.chart import render_chart
from escalation.digests.model import SHANGHAI, daily_period
from escalation.digests.render import (
    render_csv,
    render_html,
    render_markdown,
    render_text,
    report_json,
)
from escalation.digests.report import build_report
from escalation.digests.stats import import_stats, parse_stats
from escalation.routing import agent_actor
from knowledge.kb import BUNDLED_KB, load_kb
from storage.models import Message
from tests.support.console import _open_complaint
from tests.support.journeys import ID_CARD, PHONE, _say
from tests.support.stats import HEADER


async def test_a_day_of_traffic_is_reported_as_stored_and_masked(server: Server) -> None:
    runtime = server.runtime
    assert runtime is not None
    await _say(
        server,
        "c1",
        "我是消费者",
        "以旧换新补贴怎么领",
        "今天深圳天气怎么样",
        f"我的手机号{PHONE}，身份证{ID_CARD}，火星上能用补贴吗",
    )
    await _say(server, "m1", "我是商户", "商户怎么报名参加活动")
    ref = await _open_complaint(server, "c2")
    agent = agent_actor(7001, "小王", "agent")
    await runtime.agents.add(7001, "小王", "agent", utc_now())
    await runtime.desk.close(ref, agent, "已协调商户补发补贴", utc_now())

    today = utc_now().astimezone(SHANGHAI).date()
    csv_text = (
        HEADER
        + "\n"
        + f'{today},家电,"12,000","1,800,000.00",9500,4200,4800,"720,000.00",'
        + '150000,12000,320,"5,600,000"\n'
        + f"{today},数码,800,80000,600,300,310,20000,5000,0,40,90000\n"
    )
    sessions = make_sessions(runtime.db)
    await import_stats(sessions, parse_stats(csv_text), utc_now())

    kb = load_kb(BUNDLED_KB)
    period = daily_period(today)
    report = await build_report(
        sessions, period, categories={e.id: e.category for e in kb.entries}
    )

    async with sessions() as s:
        inbound = (
            await s.execute(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.direction == "in",
                    Message.created_at >= period.start,
                    Message.created_at < period.end,
                )
            )
        ).scalar_one()
        users = (
            await s.execute(
                select(func.count(distinct(Message.user_id))).where(
                    Message.direction == "in",
                    Message.created_at >= period.start,
                    Message.created_at < period.end,
                )
            )
        ).scalar_one()
    assert report.messages_in == inbound
    assert report.users == users == 3
    by_audience = {a.audience: a for a in report.audiences}
    assert by_audience["merchant"].users == 1
    assert by_audience["consumer"].users == 2
    assert report.unanswered_total >= 1
    assert report.tickets_opened == 1
    assert report.tickets_closed == 1
    resolution = next(line for line in report.sla if line.clock == "resolution")
    assert (resolution.met, resolution.breached) == (1, 0)
    assert resolution.rate == 1.0

    appliances = next(x for x in report.subsidy if x.industry == "家电")
    assert appliances.use_rate == pytest.approx(720_000 / 1_800_000)
    assert appliances.leverage_ratio == pytest.approx(5_600_000 / 720_000)
    total = report.subsidy[-1]
    assert total.industry == "合计"
    assert total.amount_used == (720_000 + 20_000) * 100
    assert total.leverage_ratio == pytest.approx(5_690_000 / 740_000)

    outputs = {
        "text": render_text(report),
        "md": render_markdown(report),
        "html": render_html(report),
        "csv": render_csv(report),
        "json": json.dumps(report_json(report), ensure_ascii=False),
    }
    assert "7.78" in outputs["md"]
    assert "40.0%" in outputs["md"]
    for name, out in outputs.items():
        assert PHONE not in out, name
        assert ID_CARD not in out, name
        assert "19900101" not in out, name
        assert "12345678" not in out, name
    chart = render_chart(report)
    assert chart.startswith(b"\x89PNG")
    assert PHONE.encode() not in chart


async def test_a_day_without_traffic_still_reports_so(server: Server) -> None:
    runtime = server.runtime
    assert runtime is not None
    day = (datetime.now(UTC) - timedelta(days=30)).astimezone(SHANGHAI).date()
    report = await build_report(make_sessions(runtime.db), daily_period(day), categories={})
    assert report.empty
    assert report.subsidy == ()
    assert "本期无咨询" in render_text(report)
    assert "本期无咨询" in render_markdown(report)
    assert render_chart(report).startswith(b"\x89PNG")
