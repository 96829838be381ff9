"""Finding tickets for the console: by reference, by the call-back phone's last four
digits, by merchant or by text, and the list of finished tickets with its filters.

Reading only. Every text column searched here (summary, merchant, thread) is stored
masked, and so is the query before it is compared: results show what the desk shows
anyway (masked text, 139****5678), never a number in full.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import QueryableAttribute

from escalation.tickets import notices
from escalation.tickets.changes import BadInput
from escalation.tickets.rules import DEFAULT_CATEGORIES, parse_reference
from escalation.tickets.views import DONE_STATUSES, TicketRow, rows_of
from knowledge.masking import mask_pii
from storage.models import Ticket, TicketEntry, TicketPriority, TicketStatus
from storage.retry import retrying

SEARCH_KINDS = ("any", "reference", "phone", "merchant", "text")
DONE_CHOICES: dict[str, tuple[TicketStatus, ...]] = {
    "done": DONE_STATUSES,
    "closed": (TicketStatus.CLOSED,),
    "resolved": (TicketStatus.RESOLVED,),
}
PRIORITIES = tuple(p.value for p in TicketPriority)
PAGE_SIZE = 20
MAX_PAGE = 500  # 10,000 rows deep: past that, narrow the search instead
MAX_QUERY = 100
_LAST_FOUR = re.compile(r"\d{4}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Listed:
    row: TicketRow
    done_at: datetime | None  # when it was closed (or resolved); None while open


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Listed]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class DoneFilter:
    status: str = "done"  # a key of DONE_CHOICES
    since: date | None = None  # local days, both inclusive
    until: date | None = None
    category: str | None = None
    assignee: str | None = None
    priority: str | None = None


def normalised_query(query: str) -> str:
    """Return the query as it is compared: width-normalised, spaces collapsed, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", query)).strip()


def search_kind(kind: str, query: str) -> str:
    """Return what a search looks for: `any` becomes reference or phone by the query's shape
    (T20250602-0042; four digits), and stays `any` (merchant or text) for anything else."""
    if kind != "any":
        return kind
    if parse_reference(query.replace(" ", "")) is not None:
        return "reference"
    if _LAST_FOUR.fullmatch(query):
        return "phone"
    return "any"


def _contains(column: QueryableAttribute[Any], text: str) -> ColumnElement[bool]:
    # autoescape: a % or _ the agent typed is a character, not a wildcard.
    return column.icontains(text, autoescape=True)


def search_condition(kind: str, query: str) -> ColumnElement[bool]:
    """Return the WHERE condition of a search (kind already resolved by search_kind);
    raise BadInput saying what to type when the query cannot be one of that kind."""
    if kind == "reference":
        ref = parse_reference(query.replace(" ", ""))
        if ref is None:
            raise BadInput(notices.SEARCH_BAD_REFERENCE)
        return Ticket.reference == ref
    if kind == "phone":
        if not _LAST_FOUR.fullmatch(query):
            raise BadInput(notices.SEARCH_BAD_LAST_FOUR)
        return Ticket.contact_phone.endswith(query)
    masked = mask_pii(query)
    merchant = _contains(Ticket.merchant_name, masked)
    if kind == "merchant":
        return merchant
    in_thread = exists().where(
        TicketEntry.ticket_id == Ticket.id, _contains(TicketEntry.text, masked)
    )
    text = or_(_contains(Ticket.summary, masked), in_thread)
    return text if kind == "text" else or_(merchant, text)


def _done_at() -> ColumnElement[datetime | None]:
    # A reopened ticket keeps its old closed_at: the status says which stamp is current.
    return case(
        (Ticket.status == TicketStatus.CLOSED, Ticket.closed_at),
        (Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at),
        else_=None,
    )


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz)


def done_conditions(f: DoneFilter, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions of the finished list; raise BadInput for a bad filter."""
    statuses = DONE_CHOICES.get(f.status)
    if statuses is None:
        raise BadInput(notices.DONE_BAD_STATUS)
    if f.priority is not None and f.priority not in PRIORITIES:
        raise BadInput(notices.DONE_BAD_PRIORITY)
    if f.since is not None and f.until is not None and f.since > f.until:
        raise BadInput(notices.DONE_BAD_RANGE)
    where: list[ColumnElement[bool]] = [Ticket.status.in_(statuses)]
    done_at = _done_at()
    if f.since is not None:
        where.append(done_at >= _local_midnight(f.since, tz))
    if f.until is not None:
        where.append(done_at < _local_midnight(f.until + timedelta(days=1), tz))
    if f.category:
        where.append(Ticket.category == f.category)
    if f.assignee:
        where.append(Ticket.assignee == f.assignee)
    if f.priority:
        where.append(Ticket.priority == TicketPriority(f.priority))
    return where


def _page_number(page: int) -> int:
    if not 1 <= page <= MAX_PAGE:
        raise BadInput(notices.SEARCH_BAD_PAGE.format(max=MAX_PAGE))
    return page


class TicketFinder:
    """The console's searches and the finished list, each one unit of work."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tz: ZoneInfo) -> None:
        self._sessions = sessions
        self._tz = tz

    @retrying
    async def search(
        self, query: str, kind: str, now: datetime, *, page: int = 1, per_page: int = PAGE_SIZE
    ) -> tuple[str, Page]:
        """Return (the kind searched, a page of matching tickets, newest first)."""
        query = normalised_query(query)
        if not query:
            raise BadInput(notices.SEARCH_EMPTY)
        if len(query) > MAX_QUERY:
            raise BadInput(notices.SEARCH_TOO_LONG.format(limit=MAX_QUERY))
        if kind not in SEARCH_KINDS:
            raise BadInput(notices.SEARCH_BAD_KIND)
        kind = search_kind(kind, query)
        where = search_condition(kind, query)
        order = (Ticket.opened_at.desc(), Ticket.id.desc())
        return kind, await self._page([where], order, now, _page_number(page), per_page)

    @retrying
    async def done(
        self, f: DoneFilter, now: datetime, *, page: int = 1, per_page: int = PAGE_SIZE
    ) -> Page:
        """Return a page of closed or resolved tickets, the most recently finished first."""
        where = done_conditions(f, self._tz)
        order = (_done_at().desc(), Ticket.id.desc())
        return await self._page(where, order, now, _page_number(page), per_page)

    @retrying
    async def done_options(self) -> tuple[list[str], list[str]]:
        """Return (categories, assignees) to offer as the finished list's filters."""
        async with self._sessions() as s:
            used = (
                await s.execute(select(Ticket.category).distinct().order_by(Ticket.category))
            ).scalars()
            names = (
                await s.execute(
                    select(Ticket.assignee)
                    .where(Ticket.assignee.is_not(None), Ticket.status.in_(DONE_STATUSES))
                    .distinct()
                    .order_by(Ticket.assignee)
                )
            ).scalars()
            categories = list(DEFAULT_CATEGORIES)
            categories += [c for c in used if c not in categories]
            return categories, [n for n in names if n]

    async def _page(
        self,
        where: list[ColumnElement[bool]],
        order: tuple[ColumnElement[Any], ...],
        now: datetime,
        page: int,
        per_page: int,
    ) -> Page:
        async with self._sessions() as s:
            total = (
                await s.execute(select(func.count()).select_from(Ticket).where(*where))
            ).scalar_one()
            found = await s.execute(
                select(Ticket, _done_at())
                .where(*where)
                .order_by(*order)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            pairs = [(t, done_at) for t, done_at in found.all()]
            rows = await rows_of(s, [t for t, _ in pairs], now)
            items = [Listed(row, done_at) for row, (_, done_at) in zip(rows, pairs, strict=True)]
            return Page(items, int(total), page, per_page)
