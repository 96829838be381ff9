"""The table of desk actions that the Telegram flow and the console both read."""

from escalation.agents import AGENT_ROLES
from escalation.tickets import notices
from escalation.tickets.actions import ACTIONS, TextNeed
from handlers.desk import CARD_ACTIONS, COMMAND_ACTIONS


def test_every_channel_entry_names_an_action_of_the_table() -> None:
    assert set(COMMAND_ACTIONS.values()) <= set(ACTIONS)
    assert set(CARD_ACTIONS) <= set(ACTIONS)


def test_actions_are_for_registered_agents() -> None:
    assert all(a.roles == frozenset(AGENT_ROLES) for a in ACTIONS.values())


def test_what_needs_a_text_is_said_in_the_table() -> None:
    needs = {name: a.text for name, a in ACTIONS.items()}
    assert needs["reply"] is needs["note"] is needs["close"] is TextNeed.REQUIRED
    assert needs["pending"] is TextNeed.OPTIONAL
    assert needs["claim"] is needs["reopen"] is needs["escalate"] is TextNeed.NONE


def test_only_close_offers_choices_when_pressed_and_they_are_the_usual_results() -> None:
    offered = {name: a.choices for name, a in ACTIONS.items() if a.choices}
    assert offered == {"close": notices.CLOSE_RESULTS}
    close = ACTIONS["close"]
    assert close.ask is not None
    assert "/close T20250602-0042" in close.ask.format(ref="T20250602-0042")
    assert close.choice("refund") == notices.CLOSE_RESULTS[0]
    assert close.choice("cancel") is None  # 取消 is the channel's, never a result
    assert close.choice("nonsense") is None


def test_the_usual_results_fit_a_button_and_say_something() -> None:
    keys = [c.key for c in notices.CLOSE_RESULTS]
    assert len(set(keys)) == len(keys)
    assert notices.CANCEL_CHOICE.key not in keys
    for choice in notices.CLOSE_RESULTS:
        assert choice.key.isascii()
        assert choice.key.isalpha()
        assert len(choice.key) <= 12
        assert choice.label
        assert choice.text.strip()


def test_only_the_phone_is_a_private_look() -> None:
    assert [name for name, a in ACTIONS.items() if a.private] == ["phone"]


def test_confirmations_name_the_ticket() -> None:
    for action in ACTIONS.values():
        for text in action.done:
            said = text.format(ref="T20250602-0042", priority="P2", value="13812345678")
            assert "T20250602-0042" in said
