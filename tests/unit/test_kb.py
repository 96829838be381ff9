from pathlib import Path

import pytest

from knowledge.kb import Audience, KbError, load_kb, parse_kb
from tests.support.data import MINI_KB

GOOD_ENTRY = {"id": "e-1", "audience": "consumer", "questions": ["怎么领"], "answer": "这样领"}


def _kb(**overrides: object) -> dict[str, object]:
    entry = {**GOOD_ENTRY, **overrides}
    return {"name": "测试", "entries": [{k: v for k, v in entry.items() if v is not None}]}


def test_load_kb_reads_every_field_of_the_fixture() -> None:
    kb = load_kb(MINI_KB)
    assert kb.name == "测试区2025年专项促消费活动"
    assert len(kb.entries) == 5
    assert kb.entry("merchant-redeem").audience is Audience.MERCHANT
    assert kb.entry("consumer-claim-how").keywords == ("领取", "入口")
    assert kb.synonyms[0] == ("补贴", "消费券", "券")
    assert kb.summary()["audience"] == {"consumer": 3, "merchant": 1, "all": 1}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id": "Bad_ID"}, "entry 'Bad_ID' (#1): id 'Bad_ID' is not well formed"),
        ({"audience": "consumers"}, "audience 'consumers' is not one of consumer, merchant, all"),
        ({"questions": []}, "entry 'e-1' (#1): questions must hold at least one"),
        ({"questions": ["  "]}, "questions must hold at least one non-empty question"),
        ({"answer": ""}, "entry 'e-1' (#1): answer must be a non-empty text"),
        ({"answer": None}, "answer must be a non-empty text"),
        ({"extra": 1}, "entry 'e-1' (#1): unknown field(s) extra"),
    ],
)
def test_parse_kb_names_source_entry_and_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(KbError) as err:
        parse_kb(_kb(**overrides), source="kb/x.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("kb/x.yaml")


def test_parse_kb_rejects_duplicate_ids_naming_both_positions() -> None:
    data = {"name": "测试", "entries": [GOOD_ENTRY, GOOD_ENTRY]}
    with pytest.raises(KbError, match=r"entry 'e-1' \(#2\): id is already used by entry #1"):
        parse_kb(data, source="kb.yaml")


def test_parse_kb_rejects_a_one_word_synonym_group() -> None:
    data = {**_kb(), "synonyms": [["补贴", "券"], ["退款"]]}
    with pytest.raises(KbError, match="synonyms group #2 needs two or more words"):
        parse_kb(data, source="kb.yaml")


def test_parse_kb_rejects_unknown_top_level_fields() -> None:
    with pytest.raises(KbError, match="unknown top-level field"):
        parse_kb({**_kb(), "entires": []}, source="kb.yaml")


def test_load_kb_reports_yaml_errors_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nentries:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_kb(bad)


def test_load_kb_reports_an_impossible_date(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nupdated: 2025-13-01\nentries: []\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"bad.yaml: a value is not valid"):
        load_kb(bad)


def test_load_kb_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KbError, match="file not found"):
        load_kb(tmp_path / "nope.yaml")


def test_load_kb_reports_non_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.yaml"
    bad.write_bytes("name: 测试".encode("gbk"))
    with pytest.raises(KbError, match="not UTF-8"):
        load_kb(bad)


def test_audience_sees_its_own_and_all_entries_only() -> None:
    assert Audience.CONSUMER.sees(Audience.ALL)
    assert Audience.CONSUMER.sees(Audience.CONSUMER)
    assert not Audience.CONSUMER.sees(Audience.MERCHANT)
    assert not Audience.MERCHANT.sees(Audience.CONSUMER)
