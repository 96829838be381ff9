from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from escalation.incidents.plan import PLACEHOLDERS, load_plan
from escalation.incidents.reports import (
    REPORT_NAMES,
    IncidentFacts,
    render,
    span,
    template_values,
)

PLAN = load_plan()
OPENED = datetime.fromisoformat("2025-06-02T01:30+00:00")  # 09:30 in Beijing


def facts(**changes: object) -> IncidentFacts:
    base = IncidentFacts(
        reference="I20250602-01",
        title="补贴领取页面无法打开",
        level=PLAN.levels["III"],
        category="系统故障",
        status="acknowledged",
        opened_at=OPENED,
        acknowledged_at=OPENED + timedelta(minutes=8),
        mitigated_at=None,
        resolved_at=None,
        detail="大量用户反映领券页面白屏",
        tickets=23,
        users=41,
        messages=67,
        measures=("09:38 值班人员确认", "09:50 已切换备用节点"),
        changes=("09:50 已切换备用节点",),
        cause=None,
        eta=None,
        contact="平台客服值班室 0755-23708866",
        report_no=1,
        now=OPENED + timedelta(hours=2, minutes=15),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_first_report_states_the_facts() -> None:
    text = render(PLAN, "first", facts())
    assert text.startswith("关于补贴领取页面无法打开的初报（第1号）")
    assert "一、基本情况：2025年06月02日 09:30" in text
    assert "Ⅲ级（较大）" in text
    assert "黄色" in text
    assert "系统故障" in text
    assert "涉及工单23件、用户41人、相关咨询留言67条" in text
    assert "1. 09:38 值班人员确认\n2. 09:50 已切换备用节点" in text
    assert "已持续2小时15分钟" in text
    assert "当前状态：已确认" in text
    assert "初步原因：待查明" in text
    assert "预计恢复时间：暂无" in text
    assert "联系人：平台客服值班室 0755-23708866" in text
    assert text.endswith("报告时间：2025年06月02日 11:45")
    assert "{" not in text
    assert "}" not in text


def test_a_follow_up_report_lists_what_changed() -> None:
    eta = OPENED + timedelta(hours=3)
    text = render(
        PLAN,
        "follow_up",
        facts(
            report_no=2,
            status="mitigated",
            mitigated_at=OPENED + timedelta(minutes=20),
            cause="CDN 节点故障",
            eta=eta,
        ),
    )
    assert text.startswith("关于补贴领取页面无法打开的续报（第2号）")
    assert "二、上次报告以来的变化：\n09:50 已切换备用节点" in text
    assert "确认响应：2025年06月02日 09:38；缓解：2025年06月02日 09:50" in text
    assert "当前状态：已缓解" in text
    assert "原因分析：CDN 节点故障" in text
    assert "预计恢复时间：2025年06月02日 12:30" in text
    text = render(PLAN, "follow_up", facts(changes=()))
    assert "二、上次报告以来的变化：\n无" in text


def test_the_final_report_gives_duration_impact_and_cause() -> None:
    resolved = OPENED + timedelta(hours=2, minutes=15)
    text = render(
        PLAN,
        "final",
        facts(
            report_no=4,
            status="resolved",
            resolved_at=resolved,
            now=resolved + timedelta(hours=20),
            cause="活动开始时流量超出预估，负载均衡配置不足",
        ),
    )
    assert text.startswith("关于补贴领取页面无法打开的终报（第4号）")
    assert "持续时间2小时15分钟" in text  # opened -> resolved, not -> now
    assert "处置完毕：2025年06月02日 11:45" in text
    assert "缓解：—" in text
    assert "共涉及工单23件、用户41人、相关咨询留言67条" in text
    assert "原因分析：活动开始时流量超出预估" in text
    assert "四、处置过程及整改措施：\n1. 09:38 值班人员确认" in text
    assert "报告时间：2025年06月03日 07:45" in text


@pytest.mark.parametrize("kind", ["first", "follow_up", "final"])
def test_no_id_card_or_phone_number_reaches_the_bureau(kind: str) -> None:
    text = render(
        PLAN,
        kind,
        facts(
            detail="用户 13812345678 反映身份证 110101199003071234 被冒用",
            measures=("联系用户 139 1234 5678 核实", "核对 11010119900307123X 的领取记录"),
            changes=("用户 13700001111 已回电",),
            cause="商户泄露了 13812345678 的信息",
        ),
    )
    for raw in ("13812345678", "110101199003071234", "1234 5678", "11010119900307123X"):
        assert raw not in text
    for masked in ("138****5678", "110101********1234", "139****5678", "110101********123X"):
        assert masked in text
    assert "0755-23708866" in text  # a landline contact is not personal data


def test_missing_values_read_as_pending() -> None:
    values = template_values(
        "first", facts(cause=None, eta=None, measures=(), changes=(" ",), category=None)
    )
    assert values["cause"] == "待查明"
    assert values["eta"] == "暂无"
    assert values["measures"] == "暂无"
    assert values["changes"] == "无"
    assert values["category"] == "未分类"
    assert values["mitigated_at"] == "—"
    assert values["resolved_at"] == "—"
    text = render(PLAN, "first", facts(cause=None, measures=()))
    assert "三、已采取措施：\n暂无" in text
    assert "待查明" in text


def test_every_placeholder_is_filled() -> None:
    for kind, name in REPORT_NAMES.items():
        values = template_values(kind, facts())
        assert set(values) == PLACEHOLDERS
        assert values["report_name"] == name
    assert template_values("first", facts())["level"] == "Ⅲ级（较大）"
    assert template_values("first", facts(status="open"))["status"] == "处置中"
    assert template_values("first", facts(status="resolved"))["status"] == "已解决"


def test_custom_templates_are_used() -> None:
    plan = replace(PLAN, templates={**PLAN.templates, "first": "{report_name}|{duration}|{users}"})
    assert render(plan, "first", facts(now=OPENED + timedelta(minutes=45))) == "初报|45分钟|41"


def test_durations_for_people() -> None:
    assert span(timedelta(hours=2, minutes=15)) == "2小时15分钟"
    assert span(timedelta(minutes=45)) == "45分钟"
    assert span(timedelta(hours=3)) == "3小时"
    assert span(timedelta(days=1, hours=2, minutes=5)) == "1天2小时5分钟"
    assert span(timedelta(0)) == "0分钟"
    assert span(timedelta(minutes=-5)) == "0分钟"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="report kind 'interim'"):
        render(PLAN, "interim", facts())
    with pytest.raises(ValueError, match="status 'closed'"):
        render(PLAN, "first", facts(status="closed"))
    with pytest.raises(ValueError, match="naive datetime"):
        render(PLAN, "first", facts(now=datetime(2025, 6, 2, 12, 0)))  # noqa: DTZ001
