"""Ticket references (T20250602-0042): made and read by one module."""

from datetime import date

from escalation.tickets.rules import day_prefix, find_reference, parse_reference, reference_for


def test_a_reference_starts_with_its_day() -> None:
    assert reference_for(date(2025, 6, 2), 42).startswith(day_prefix(date(2025, 6, 2)))


def test_a_word_is_a_reference_only_in_the_exact_format() -> None:
    assert parse_reference("t20250602-0042") == "T20250602-0042"
    assert parse_reference("T20250602-042") is None
    assert parse_reference("T2025060x-0042") is None
    assert parse_reference("I20250602-01") is None


def test_a_reference_is_found_inside_a_message() -> None:
    assert find_reference("查询工单 t20250602-0042 13800000000") == "T20250602-0042"
    assert find_reference("查询工单 XT20250602-0042") is None
    assert find_reference("查询工单") is None
