"""The dialect table both the answer engine and the risk scorer read."""

import re

import pytest

from escalation.risk.text import normalise
from knowledge.dialect import DialectError, builtin_dialects, parse
from knowledge.normalize import Normalizer


@pytest.mark.parametrize(
    ("typed", "standard"),
    [
        ("點樣攞補貼", "怎么拿补贴"),  # Cantonese, traditional
        ("我哋系咪可以用", "我们是不是可以用"),  # Cantonese, simplified
        ("有冇得退", "有没有得退"),
        ("老汉儿莫得智能手机咋个办", "父亲没有智能手机怎么办"),  # Southwestern
        ("券过期了咋整", "券过期了怎么办"),  # Northeastern
        ("侬好 搿个券哪能用", "你好 这个券怎么用"),  # Wu
        ("啥辰光发券", "什么时候发券"),
    ],
)
def test_dialect_forms_read_as_standard_mandarin(typed: str, standard: str) -> None:
    assert Normalizer()(typed) == standard


@pytest.mark.parametrize(
    "text",
    [
        "系统出错了",  # 系 is not Cantonese 係
        "联系电话是多少",
        "關係户能不能领",
        "去阿拉伯旅游",
        "砍伐树木",
    ],
)
def test_standard_words_are_left_alone(text: str) -> None:
    d = builtin_dialects()
    assert d.after_conversion(d.before_conversion(text)) == text


def test_cantonese_is_mapped_only_where_the_message_shows_it() -> None:
    d = builtin_dialects()
    # 话 is 说 in Cantonese, but a Mandarin message keeps it.
    assert d.before_conversion("他话费没到账") == "他话费没到账"
    assert d.before_conversion("佢话冇到账") == "他说没到账"
    # ...and a Cantonese message keeps the standard words that contain a mapped character.
    assert d.before_conversion("佢打电话畀我") == "他打电话给我"
    assert d.before_conversion("我哋申请仲裁") == "我们申请仲裁"


def test_wu_question_particle_only_at_a_clause_end() -> None:
    d = builtin_dialects()
    assert d.after_conversion("可以用伐") == "可以用吗"
    assert d.after_conversion("可以用伐？还有券伐") == "可以用吗？还有券吗"
    assert d.after_conversion("步伐太快") == "步伐太快"


def test_engine_and_risk_scorer_read_a_dialect_message_alike() -> None:
    text = "點解我嘅券冇咗"
    assert Normalizer()(text) == "为什么我的券没了"
    assert normalise(text) == "为什么我的券没了"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("佢\t他\n", "line 1: a mapping before any [section] header"),
        ("[cantonese]\n佢 他\n", "line 2: write `from<TAB>to`"),
        ("[klingon]\n", "line 1: unknown section [klingon]"),
    ],
)
def test_a_malformed_table_is_refused_with_its_line(table: str, message: str) -> None:
    with pytest.raises(DialectError, match=re.escape(message)):
        parse(table, "dialect.txt")
