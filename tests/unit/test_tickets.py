from datetime import date

from escalation.tickets.rules import can_move, priority_for, reference_for
from storage.models import TicketStatus


def test_priority_comes_from_risk_then_type_and_category() -> None:
    assert priority_for("咨询", "其他", "high") == "P1"
    assert priority_for("咨询", "其他", "medium") == "P2"
    assert priority_for("投诉", "补贴未到账") == "P2"
    assert priority_for("投诉", "商户拒用补贴") == "P3"
    assert priority_for("求助", "其他") == "P3"
    assert priority_for("建议", "其他") == "P4"


def test_reference_format() -> None:
    assert reference_for(date(2025, 6, 2), 42) == "T20250602-0042"


def test_closed_tickets_can_only_be_reopened() -> None:
    assert can_move(TicketStatus.CLOSED, TicketStatus.REOPENED)
    assert not can_move(TicketStatus.CLOSED, TicketStatus.ASSIGNED)
    assert can_move(TicketStatus.NEW, TicketStatus.ASSIGNED)
