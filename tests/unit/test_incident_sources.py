"""The signal keys and triggers that open incidents, and the alerts' signature."""

import hashlib
import hmac

from escalation.incidents.plan import load_plan
from escalation.incidents.sources import (
    alert_key,
    keys_for_risk,
    keys_for_text,
    keys_for_ticket,
    sign,
    trigger_key,
)

PLAN = load_plan()


def test_a_ticket_signals_its_category_and_its_merchant_masked() -> None:
    assert keys_for_ticket("系统故障", None) == ["category:系统故障"]
    keys = keys_for_ticket("商户拒用补贴", "某店 13812345678")
    assert keys[0] == "category:商户拒用补贴"
    assert keys[1].startswith("merchant:某店")
    assert "13812345678" not in keys[1]


def test_each_observed_key_is_counted_by_the_trigger_that_made_it() -> None:
    for n, trigger in enumerate(PLAN.triggers):
        keys: list[str] = []
        if trigger.risk:
            keys = keys_for_risk(PLAN, trigger.risk[:1])
        elif trigger.phrases:
            keys = keys_for_text(PLAN, f"用户说：{trigger.phrases[0]}")
        elif trigger.category:
            keys = keys_for_ticket(trigger.category, None)
        elif trigger.merchant:
            keys = keys_for_ticket("商户拒用补贴", "某店")
        assert trigger_key(n, trigger, keys) is not None, trigger


def test_an_ordinary_message_signals_nothing() -> None:
    assert keys_for_text(PLAN, "以旧换新补贴怎么领") == []
    assert keys_for_risk(PLAN, []) == []


def test_an_alert_opens_under_its_category_or_its_title() -> None:
    assert alert_key("支付接口超时", "系统故障") == "category:系统故障"
    assert alert_key("支付接口超时", None) == "alert:支付接口超时"
    assert alert_key("长" * 300, None) == "alert:" + "长" * 100


def test_the_signature_is_an_hmac_of_the_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", b"{}") == f"sha256={expected}"
