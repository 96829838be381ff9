"""The platform's T+1 subsidy export: parsing, the errors that name row and column, and the
two ratios the bureau reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from escalation.digests.stats import IndustryStat as Stat
from escalation.digests.stats import (
    StatsError,
    leverage_ratio,
    parse_stats,
    read_stats_file,
    total_of,
    use_rate,
)
from tests.support.stats import HEADER, ROW, SAMPLE


def test_a_row_parses_with_thousands_separators_into_fen() -> None:
    (row,) = parse_stats(HEADER + "\n" + ROW + "\n")
    assert row.day == date(2025, 6, 2)
    assert row.industry == "家电"
    assert row.quotas_issued == 12000
    assert row.users_using == 4200
    assert row.amount_issued == 180_000_000
    assert row.amount_used == 72_000_050


def test_english_headers_and_a_bom_are_accepted() -> None:
    english = (
        "date,industry,quotas_issued,amount_issued,users_claiming,users_using,uses,"
        "amount_used,matching_discount,refund_amount,merchants,driven_sales"
    )
    (row,) = parse_stats("\ufeff" + english + "\n" + ROW + "\n")
    assert row.merchants == 320


def test_errors_name_the_row_and_the_column_and_load_nothing() -> None:
    bad = ROW.replace("2025-06-02", "2025-13-40").replace("4200", "很多")
    with pytest.raises(StatsError) as caught:
        parse_stats(HEADER + "\n" + ROW + "\n" + bad + "\n")
    message = str(caught.value)
    assert "第 3 行" in message
    assert "日期" in message
    assert "用券人数" in message
    assert "helpdesk stats import" in message


def test_a_missing_column_is_named() -> None:
    with pytest.raises(StatsError) as caught:
        parse_stats("日期,行业\n2025-06-02,家电\n")
    assert "发放金额" in str(caught.value)
    assert "带动销售额" in str(caught.value)


def test_an_unreadable_or_empty_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StatsError, match="无法读取"):
        read_stats_file(tmp_path / "missing.csv")
    latin = tmp_path / "gbk.csv"
    latin.write_bytes(HEADER.encode("gbk"))
    with pytest.raises(StatsError, match="UTF-8"):
        read_stats_file(latin)
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(StatsError, match="没有数据行"):
        read_stats_file(header_only)


def test_the_shipped_sample_loads() -> None:
    rows = read_stats_file(SAMPLE)
    assert len({r.day for r in rows}) >= 2
    assert len({r.industry for r in rows}) >= 3


def test_use_rate_and_leverage_ratio() -> None:
    assert use_rate(720_000, 1_800_000) == pytest.approx(0.4)
    assert leverage_ratio(5_600_000, 720_000) == pytest.approx(7.777, rel=1e-3)
    assert use_rate(0, 0) is None
    assert leverage_ratio(100, 0) is None


def test_the_total_row_recomputes_its_ratios_from_the_sums() -> None:
    rows = parse_stats(HEADER + "\n" + ROW + "\n" + ROW.replace("家电", "数码") + "\n")
    stats = [
        Stat(
            r.industry,
            1,
            *(
                getattr(r, k)
                for k in (
                    "quotas_issued",
                    "amount_issued",
                    "users_claiming",
                    "users_using",
                    "uses",
                    "amount_used",
                    "matching_discount",
                    "refund_amount",
                    "merchants",
                    "driven_sales",
                )
            ),
        )
        for r in rows
    ]
    total = total_of(stats)
    assert total.amount_used == 2 * 72_000_050
    assert total.use_rate == pytest.approx(use_rate(total.amount_used, total.amount_issued))
