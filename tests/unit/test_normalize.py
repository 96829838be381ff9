from knowledge.lexicon import builtin_lexicon
from knowledge.normalize import MAX_CHARS, Normalizer

norm = Normalizer(builtin_lexicon().colloquial)


def test_full_width_becomes_half_width_and_lower_case() -> None:
    assert norm("ＡＰＰ１２３") == "app123"


def test_traditional_becomes_simplified() -> None:
    assert norm("補貼怎麼領") == "补贴怎么领"


def test_punctuation_and_emoji_become_spaces() -> None:
    assert norm("补贴？？到账了吗😭😭！") == "补贴 到账了吗"


def test_only_emoji_or_punctuation_is_empty() -> None:
    assert norm("😀😀🎉") == ""
    assert norm("？？？！！。。，") == ""


def test_colloquial_spellings_become_standard() -> None:
    assert norm("补贴咋领") == "补贴怎么领"
    assert "券" in norm("优惠劵")


def test_repeated_characters_collapse_but_numbers_do_not() -> None:
    assert norm("哈哈哈哈哈") == "哈哈"
    assert norm("满1000减100") == "满1000减100"


def test_very_long_text_keeps_head_and_tail() -> None:
    text = "开头" + "啊" * 10_000 + "补贴怎么领"
    out = norm(text)
    assert len(out) <= MAX_CHARS + 1
    assert out.startswith("开头")
    assert out.endswith("补贴怎么领")
