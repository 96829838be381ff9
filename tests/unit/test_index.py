from collections import Counter

from knowledge.index import Bm25, char_grams, pinyin_grams


def test_char_grams_are_bigrams_and_trigrams() -> None:
    assert char_grams("补贴券") == ["补贴", "贴券", "补贴券"]
    assert char_grams("券") == ["券"]
    assert char_grams("") == []


def test_pinyin_grams_match_homophones() -> None:
    assert pinyin_grams("补帖") == pinyin_grams("补贴") == ["bu_tie"]


def test_bm25_prefers_the_document_holding_the_rarer_term() -> None:
    docs = [Counter({"补贴": 1, "领取": 1}), Counter({"补贴": 1, "退款": 1}), Counter({"补贴": 1})]
    index = Bm25(docs)
    terms = index.prepare(["补贴", "退款"])
    scores = [index.score(terms, i) for i in range(3)]
    assert scores[1] == max(scores)
    assert index.attainable(["补贴", "退款"]) >= scores[1] * 0.5


def test_unknown_query_terms_are_dropped_before_scoring() -> None:
    index = Bm25([Counter({"补贴": 1})])
    assert index.prepare(["天气", "补贴"]) == [("补贴", index.idf["补贴"])]


def test_postings_are_capped_and_ordered_by_impact() -> None:
    docs = [Counter({"补贴": 1 + i % 3, f"x{i}": 1}) for i in range(500)]
    index = Bm25(docs, keep_postings=10)
    top = index.top("补贴", 100)
    assert len(top) == 10  # a query reads a bounded prefix, whatever the KB size
    assert [s for s, _ in top] == sorted((s for s, _ in top), reverse=True)
