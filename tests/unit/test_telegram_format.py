from bot.telegram_send import MAX_CHUNK, buttons_markup, split_text
from storage.outbox import choice_buttons


def test_short_text_is_one_message() -> None:
    assert split_text("补贴怎么领") == ["补贴怎么领"]


def test_long_text_splits_at_paragraphs_under_the_limit() -> None:
    para = "段" * 3000
    parts = split_text(f"{para}\n\n{para}\n\n{para}")
    assert parts == [para, para, para]
    assert all(len(p) <= MAX_CHUNK for p in parts)


def test_text_without_breaks_is_cut_hard_and_nothing_is_lost() -> None:
    text = "字" * 9000
    parts = split_text(text)
    assert "".join(parts) == text
    assert all(len(p) <= MAX_CHUNK for p in parts)


def test_choices_become_one_button_a_row_with_short_data() -> None:
    markup = buttons_markup(choice_buttons(["有帮助", "没帮助", "转人工"]))
    assert markup is not None
    rows = markup.inline_keyboard
    assert [r[0].text for r in rows] == ["有帮助", "没帮助", "转人工"]
    assert [r[0].callback_data for r in rows] == ["c0", "c1", "c2"]
    assert buttons_markup(choice_buttons([])) is None
