"""Ticket rules that need no database: types, categories, priority, references, transitions."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from storage.models import Ticket, TicketStatus

# The 12345 hotline's kinds of request.
TICKET_TYPES = ("咨询", "求助", "建议", "投诉", "举报")
DEFAULT_CATEGORIES = (
    "商户拒用补贴",
    "补贴未到账",
    "退款问题",
    "资格核验失败",
    "系统故障",
    "商品与能效不符",
    "个人信息",
    "其他",
)
# Categories where money, data or the whole platform is at stake.
_URGENT_CATEGORIES = frozenset({"补贴未到账", "系统故障", "个人信息"})

_ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.ASSIGNED: frozenset(
        {TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.ASSIGNED}
    ),
    TicketStatus.WAITING: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.REOPENED: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
}


def priority_for(ticket_type: str, category: str, risk: str | None = None) -> str:
    """Return P1 (most urgent) to P4 from the kind of request and the message's risk."""
    if risk == "high":
        return "P1"
    if risk == "medium":
        return "P2"
    if ticket_type in ("投诉", "举报"):
        return "P2" if category in _URGENT_CATEGORIES else "P3"
    if ticket_type == "求助":
        return "P3"
    return "P4"


# How long after closing the customer's 问题没解决 reopens a ticket (later, a new one);
# personal data is kept at least this long (escalation.privacy).
REOPEN_WINDOW = timedelta(days=7)

# The reference users quote: T, the local day it was opened, its number that day.
_REFERENCE = re.compile(r"T\d{8}-\d{4}", re.IGNORECASE)
_IN_TEXT = re.compile(rf"\b({_REFERENCE.pattern})\b", re.IGNORECASE)


def reference_for(day: date, number: int) -> str:
    """Return the reference users quote, e.g. T20250602-0042."""
    return f"{day_prefix(day)}{number:04d}"


def day_prefix(day: date) -> str:
    """Return what every reference of a day starts with, e.g. T20250602-."""
    return f"T{day:%Y%m%d}-"


def parse_reference(word: str) -> str | None:
    """Return the reference a word is (t20250602-0042 -> T20250602-0042), else None."""
    return word.upper() if _REFERENCE.fullmatch(word) else None


def find_reference(text: str) -> str | None:
    """Return the first reference quoted in a text, else None."""
    found = _IN_TEXT.search(text)
    return found.group(1).upper() if found else None


def can_move(current: TicketStatus, target: TicketStatus) -> bool:
    """Return whether a ticket may go from one status to another."""
    return target in _ALLOWED[current]


def apply_status(ticket: Ticket, target: TicketStatus, at: datetime) -> TicketStatus:
    """Move a ticket (already checked with `can_move`) and stamp when it was resolved or
    closed; return the status it had."""
    before = ticket.status
    ticket.status = target
    if target is TicketStatus.RESOLVED:
        ticket.resolved_at = at
    if target is TicketStatus.CLOSED:
        ticket.closed_at = at
    return before


# What a ticket's free text becomes once its personal data is gone (escalation.privacy):
# past the retention period, or erased at the person's request. Such a ticket stays for
# the statistics and can no longer be reopened.
RETENTION_MARKER = "[已按保存期限删除]"
ERASURE_MARKER = "[已应本人要求删除]"
ANONYMISED_MARKERS = (RETENTION_MARKER, ERASURE_MARKER)
