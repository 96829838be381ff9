"""Reading a declaration's category from its text with the plan's words, its title, and
where a report's delivery stands from its channels' rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation.incidents.categories import OTHER, categories, infer_category, title_of
from escalation.incidents.delivery import Attempt, delivery_state
from escalation.incidents.plan import load_plan
from storage.lease import NEVER

PLAN = load_plan()
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def test_the_categories_are_the_plans_then_other() -> None:
    names = categories(PLAN)
    assert names[-1] == OTHER
    assert set(PLAN.keywords) <= set(names)
    assert {t.category for t in PLAN.triggers if t.category} <= set(names)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("某商户拒收补贴，多人投诉", "商户拒用补贴"),
        ("APP打不开，一直转圈", "系统故障"),
        ("大量用户反映补贴没到账", "补贴未到账"),
        ("发现有人用外挂抢券后套现", "外挂骗补"),
        ("今天天气不错", None),  # none of the plan's words
        ("页面打不开，补贴也没到账", None),  # as many words of two categories: ask
    ],
)
def test_a_category_is_read_when_one_has_most_of_its_words(
    text: str, category: str | None
) -> None:
    assert infer_category(PLAN, text) == category


def test_the_title_is_the_first_clause() -> None:
    assert title_of("某商户拒收补贴，多人投诉") == "某商户拒收补贴"
    assert title_of("  \n平台异常") == "平台异常"
    assert len(title_of("很" * 100)) == 40


def _at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("status", "attempts", "state"),
    [
        ("draft", [], "draft"),
        ("sent", [], "no_channel"),
        ("sent", [Attempt(None, None)], "queued"),
        ("sent", [Attempt(None, _at(1))], "sending"),
        ("sent", [Attempt(None, _at(-1))], "queued"),  # a claim that lapsed
        ("sent", [Attempt(None, NEVER)], "failed"),
        ("sent", [Attempt(None, NEVER), Attempt(None, None)], "queued"),
        ("sent", [Attempt(None, NEVER), Attempt(_at(-5), _at(-4))], "sent"),
    ],
)
def test_a_report_is_sent_only_once_a_channel_delivered_it(
    status: str, attempts: list[Attempt], state: str
) -> None:
    assert delivery_state(status, attempts, NOW) == state
