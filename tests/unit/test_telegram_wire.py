"""Telegram's callback data: what the service means, made and read in one place."""

from bot.telegram_wire import (
    ChoicePress,
    Press,
    callback_data,
    parse_callback,
    parse_choice,
    private_chat,
)
from escalation.tickets import notices
from escalation.tickets.views import card_buttons
from storage.outbox import Button, choice_buttons, dump_buttons, load_buttons

REF = "T20250602-0042"


def _data(buttons: list[Button]) -> list[str]:
    return [callback_data(b, i) for i, b in enumerate(buttons)]


def test_a_ticket_card_keeps_its_wire_strings() -> None:
    assert _data(card_buttons(REF, has_phone=True)) == [
        f"d:claim:{REF}",
        f"d:escalate:{REF}",
        f"d:close:{REF}",
        f"d:phone:{REF}",
    ]
    assert _data(card_buttons(REF)) == [f"d:claim:{REF}", f"d:escalate:{REF}", f"d:close:{REF}"]


def test_a_kb_button_carries_its_entry_and_an_incident_button_its_prefix() -> None:
    assert callback_data(Button.on_ticket("发送", "kb", REF, "7"), 0) == f"d:kb:{REF}:7"
    acknowledge = Button.on_incident("确认", "ack", "I20250602-01")
    assert callback_data(acknowledge, 0) == "i:ack:I20250602-01"


def test_a_close_result_button_carries_its_result_within_telegrams_64_bytes() -> None:
    for choice in (*notices.CLOSE_RESULTS, notices.CANCEL_CHOICE):
        data = callback_data(Button.on_ticket(choice.label, "close", REF, choice.key), 0)
        assert len(data.encode()) <= 64
        assert parse_callback(data) == Press("ticket", "close", REF, choice.key)


def test_choices_are_numbered_by_their_place() -> None:
    assert _data(choice_buttons(["1", "2", "问题没解决"])) == ["c0", "c1", "c2"]


def test_choices_under_a_stored_reply_name_it_and_read_back() -> None:
    data = _data(choice_buttons(["有帮助", "没帮助", "转人工"], reply=4242))
    assert data == ["c0:4242", "c1:4242", "c2:4242"]
    assert [parse_choice(d) for d in data] == [ChoicePress(i, 4242) for i in range(3)]
    assert parse_callback("c1:4242") is None  # a choice, not a desk action
    assert parse_choice("c2") == ChoicePress(2, None)  # a keyboard sent before replies had ids
    for bogus in ("c", "cx:1", "c1:", "c1:x", "c1:2:3", "d:claim:T1", "bogus"):
        assert parse_choice(bogus) is None, bogus


def test_presses_read_back_as_the_actions_they_were_made_from() -> None:
    assert parse_callback(f"d:claim:{REF}") == Press("ticket", "claim", REF)
    assert parse_callback(f"d:kb:{REF}:7") == Press("ticket", "kb", REF, "7")
    assert parse_callback("i:ack:I20250602-01") == Press("incident", "ack", "I20250602-01")


def test_choices_and_data_not_ours_are_no_press() -> None:
    assert parse_callback("c0") is None
    assert parse_callback("fb:yes") is None


def test_malformed_desk_data_is_a_press_nothing_answers() -> None:
    assert parse_callback("d:") == Press("ticket", "", "")
    assert parse_callback(f"d:kb:{REF}:7:8") == Press("ticket", "", "")


def test_rows_queued_with_wire_strings_are_sent_as_they_were() -> None:
    legacy = '[["认领", "d:claim:T20250602-0042"], ["1", "c0"]]'
    assert _data(load_buttons(legacy)) == [f"d:claim:{REF}", "c0"]


def test_stored_buttons_keep_their_meaning() -> None:
    buttons = [*card_buttons(REF, has_phone=True), *choice_buttons(["有帮助"])]
    assert load_buttons(dump_buttons(buttons)) == buttons
    assert "d:" not in dump_buttons(buttons)


def test_a_telegram_sender_is_reached_in_their_private_chat() -> None:
    assert private_chat("telegram:5512") == 5512
    assert private_chat("web:abc") is None
    assert private_chat("telegram:") is None
