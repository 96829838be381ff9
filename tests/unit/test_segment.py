import pytest

from knowledge.lexicon import builtin_lexicon
from knowledge.segment import Segmenter, fuzzy_pinyin, word_pinyin


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    s = Segmenter(
        builtin_lexicon(),
        kb_words=["示例区", "资格券"],
        kb_synonyms=[["补贴", "消费券", "资格券"], ["商户", "商家"]],
    )
    s.learn_vocabulary(["补贴", "核销", "以旧换新", "能效", "商户", "资格券", "到账"])
    return s


def test_domain_words_stay_whole(seg: Segmenter) -> None:
    tokens = seg.raw_tokens("参加以旧换新能领一级能效补贴吗")
    assert "以旧换新" in tokens
    assert "一级能效" in tokens


def test_kb_words_stay_whole(seg: Segmenter) -> None:
    assert "示例区" in seg.raw_tokens("示例区的活动")


def test_synonyms_map_to_the_kb_canonical_word(seg: Segmenter) -> None:
    assert seg.analyze("消费券怎么用").content[0] == "补贴"
    assert seg.analyze("商家不让用").content[0] == "商户"


def test_stop_words_are_dropped(seg: Segmenter) -> None:
    content = seg.analyze("请问一下我的补贴呢").content
    assert "请问" not in content
    assert "的" not in content
    assert "呢" not in content
    assert "补贴" in content


def test_negations_are_kept(seg: Segmenter) -> None:
    assert "没有" in seg.analyze("补贴没有到账").content


@pytest.mark.parametrize(
    ("typed", "expected"),
    # Spellings the colloquial table does not list, so the pinyin repair has to find them.
    [("步贴怎么领", "补贴"), ("盒销失败", "核销"), ("怎么领butie", "补贴"), ("能孝等级", "能效")],
)
def test_typos_and_pinyin_are_repaired_to_kb_words(
    seg: Segmenter, typed: str, expected: str
) -> None:
    analysis = seg.analyze(typed, repair=True)
    assert expected in analysis.content
    assert analysis.repaired


def test_correct_words_are_not_rewritten(seg: Segmenter) -> None:
    analysis = seg.analyze("我说有人不能用", repair=True)
    assert analysis.repaired == ()


def test_repair_only_applies_to_queries(seg: Segmenter) -> None:
    assert "补贴" not in seg.analyze("步贴").content


def test_common_words_weigh_less_than_topic_words(seg: Segmenter) -> None:
    assert seg.weight("怎么") < seg.weight("冰箱") < seg.weight("核销") + 1
    assert seg.weight("的") == 0.0


def test_colloquial_typos_are_fixed_by_normalisation(seg: Segmenter) -> None:
    assert seg.analyze("补帖").content == ("补贴",)
    assert "券" in seg.normalize("优惠劵")


def test_pinyin_helpers() -> None:
    assert word_pinyin("补贴") == "butie"
    assert fuzzy_pinyin("能效") == fuzzy_pinyin("能笑")
    assert fuzzy_pinyin("商户") == fuzzy_pinyin("桑户")
