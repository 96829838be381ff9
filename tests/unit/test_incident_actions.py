"""The incident action table, the card's neutral buttons and their callback data."""

from datetime import UTC, datetime

import pytest

from bot.telegram_wire import callback_data, parse_callback
from escalation.incidents.actions import (
    ACTIONS,
    CARD_ACTIONS,
    check_allowed,
    incident_action,
)
from escalation.incidents.cards import card_buttons
from escalation.incidents.lifecycle import parse_eta
from escalation.incidents.records import (
    SHANGHAI,
    IncidentError,
    IncidentForbidden,
    IncidentView,
)
from escalation.routing import Actor
from handlers.desk import INCIDENT_COMMAND_ACTIONS, is_incident_card_press
from storage.models import Incident
from storage.outbox import Button

AGENT = Actor("agent:1", "小王", "agent")
SUPERVISOR = Actor("agent:2", "李主管", "supervisor")
NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
REF = "I20250602-01"


def _incident(status: str) -> Incident:
    return Incident(reference=REF, status=status, level="III")


def _view(status: str) -> IncidentView:
    return IncidentView(1, REF, "III", "Ⅲ级（较大）", "领券失败", None, status, "declared", NOW,
                        None, None, None)  # fmt: skip


def test_the_card_offers_the_five_card_actions_in_order() -> None:
    buttons = card_buttons(REF, "open")
    assert [b.label for b in buttons] == ["确认", "已缓解", "已解决", "升级", "降级"]
    assert [b.action for b in buttons] == ["ack", "mitigate", "resolve", "up", "down"]
    assert {b.reference for b in buttons} == {REF}


def test_a_resolved_incident_has_no_buttons() -> None:
    assert card_buttons(REF, "resolved") == []


def test_every_desk_command_names_an_action_of_the_table() -> None:
    assert set(INCIDENT_COMMAND_ACTIONS.values()) <= set(ACTIONS)


def test_an_unknown_action_is_refused_by_name() -> None:
    with pytest.raises(IncidentError, match="没有这个操作：reopen"):
        incident_action("reopen")


def test_only_a_supervisor_may_approve() -> None:
    approve = incident_action("approve")
    with pytest.raises(IncidentForbidden, match="主管"):
        check_allowed(approve, _incident("open"), AGENT)
    check_allowed(approve, _incident("resolved"), SUPERVISOR)


def test_a_resolved_incident_takes_notes_and_approval_only() -> None:
    resolved = _incident("resolved")
    allowed = set()
    refusals = set()
    for action in ACTIONS.values():
        try:
            check_allowed(action, resolved, SUPERVISOR)
        except IncidentError as exc:
            refusals.add(str(exc))
        else:
            allowed.add(action.name)
    assert refusals == {f"事件 {REF} 已解决。"}
    assert allowed == {"note", "approve"}


def test_confirmations_name_the_incident() -> None:
    assert (
        incident_action("note").confirm(_view("acknowledged")) == f"事件 {REF}：已确认，已记录。"
    )
    assert REF in incident_action("approve").confirm(_view("resolved"))


def test_approval_is_not_progress_on_the_incident() -> None:
    assert [a.name for a in ACTIONS.values() if not a.progress] == ["approve"]


@pytest.mark.parametrize("button", card_buttons(REF, "open"))
def test_a_card_button_survives_its_callback_data(button: Button) -> None:
    data = callback_data(button, 0)
    assert len(data.encode()) <= 64  # Telegram's limit on callback data
    press = parse_callback(data)
    assert press is not None
    assert press.on == "incident"
    assert (press.action, press.reference) == (button.action, REF)
    assert is_incident_card_press(press.action, press.reference, press.arg)


@pytest.mark.parametrize(
    "data", ["i:ack", f"i:approve:{REF}", f"i:note:{REF}", f"d:claim:{REF}", f"i:ack:{REF}:x"]
)
def test_callback_data_that_is_no_card_button_is_not_pressed(data: str) -> None:
    press = parse_callback(data)
    assert (
        press is None
        or press.on != "incident"
        or not is_incident_card_press(press.action, press.reference, press.arg)
    )


def test_card_actions_are_the_ones_with_a_label() -> None:
    assert all(a.label for a in CARD_ACTIONS)
    assert len(CARD_ACTIONS) == 5


def test_an_eta_is_the_next_time_of_day_in_shanghai() -> None:
    assert parse_eta("18:30", NOW, SHANGHAI) == datetime(2025, 6, 2, 18, 30, tzinfo=SHANGHAI)
    assert parse_eta("09：15", NOW, SHANGHAI) == datetime(2025, 6, 3, 9, 15, tzinfo=SHANGHAI)
    assert parse_eta("25:00", NOW, SHANGHAI) is None
    assert parse_eta("soon", NOW, SHANGHAI) is None
