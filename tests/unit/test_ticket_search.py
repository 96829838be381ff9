"""What a console search looks for, decided from the query alone."""

from __future__ import annotations

import pytest

from escalation.tickets.changes import BadInput
from escalation.tickets.search import normalised_query, search_condition, search_kind


def test_any_search_reads_the_query_s_shape() -> None:
    assert search_kind("any", "t20250602-0042") == "reference"
    assert search_kind("any", "5678") == "phone"
    assert search_kind("any", "冰箱") == "any"
    assert search_kind("any", "56789") == "any"
    assert search_kind("merchant", "5678") == "merchant"


def test_a_query_is_compared_in_half_width_with_its_spaces_collapsed() -> None:
    assert normalised_query("  ５６７８ ") == "5678"
    assert normalised_query("某某\u3000 电器\n") == "某某 电器"


def test_a_phone_search_needs_exactly_four_digits() -> None:
    with pytest.raises(BadInput, match="后四位"):
        search_condition("phone", "138")
    with pytest.raises(BadInput, match="T20250602-0042"):
        search_condition("reference", "T2025")


def test_a_text_search_escapes_like_wildcards() -> None:
    sql = str(search_condition("merchant", "100%_店").compile())
    assert "ESCAPE" in sql
