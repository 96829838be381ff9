"""The console's look-ups: its search and list of finished tickets (GET
/api/console/search, /api/console/done and /api/console/done/options), and the desk's
actions as data (GET /api/console/actions: what each takes, the usual texts it offers).

The queries are the desk's (escalation.tickets.search); this module only reads the query
string and writes JSON. It is registered by `bot.console.add_console_routes`, which hands
it the session check and the ticket's JSON form, so that the two modules import one way.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from bot.clock import Clock
from escalation.routing import Actor
from escalation.tickets import notices
from escalation.tickets.actions import ACTIONS
from escalation.tickets.changes import DeskError
from escalation.tickets.desk import Desk
from escalation.tickets.search import (
    DONE_CHOICES,
    MAX_PAGE,
    PRIORITIES,
    DoneFilter,
    Listed,
    Page,
)
from escalation.tickets.views import TicketRow
from handlers import texts

Handler = Callable[[web.Request, Actor], Awaitable[web.StreamResponse]]
SignedIn = Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]
RowJson = Callable[[TicketRow], dict[str, Any]]

MAX_PARAM = 200  # no filter or query is longer; the finder refuses queries over 100
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PAGE = re.compile(r"[0-9]{1,6}")


class BadQuery(ValueError):
    """A query-string parameter the console cannot use; the message (Chinese) says why."""


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_DUMPS)


def _param(request: web.Request, name: str) -> str | None:
    """Return a query-string parameter, None when absent or empty."""
    value = request.query.get(name, "").strip()
    if len(value) > MAX_PARAM or any(unicodedata.category(c) == "Cc" for c in value):
        raise BadQuery(texts.CONSOLE_BAD_PARAM.format(name=name))
    return value or None


def _page(request: web.Request) -> int:
    value = _param(request, "page") or "1"
    if not _PAGE.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE:
        raise BadQuery(texts.CONSOLE_BAD_PAGE.format(max=MAX_PAGE))
    return int(value)


def _day(request: web.Request, name: str) -> date | None:
    value = _param(request, name)
    if value is None:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuery(texts.CONSOLE_BAD_DATE.format(name=name)) from None


def done_filter(request: web.Request) -> DoneFilter:
    """Read the finished list's filters from the query string."""
    return DoneFilter(
        status=_param(request, "status") or "done",
        since=_day(request, "from"),
        until=_day(request, "to"),
        category=_param(request, "category"),
        assignee=_param(request, "assignee"),
        priority=_param(request, "priority"),
    )


class SearchRoutes:
    """The handlers, with what they need from the console passed in."""

    def __init__(self, desk: Desk, clock: Clock, row_json: RowJson) -> None:
        self._desk = desk
        self._clock = clock
        self._row_json = row_json

    def _listed_json(self, item: Listed) -> dict[str, Any]:
        return self._row_json(item.row) | {
            "merchant_name": item.row.merchant_name,
            "contact_phone": item.row.contact_phone,  # masked, as in every list
            "done_at": item.done_at.isoformat() if item.done_at is not None else None,
        }

    def _page_json(self, page: Page) -> dict[str, Any]:
        return {
            "tickets": [self._listed_json(i) for i in page.items],
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
            "per_page": page.per_page,
        }

    async def search(self, request: web.Request, _actor: Actor) -> web.Response:
        """GET /api/console/search?q=…&kind=any|reference|phone|merchant|text&page=N"""
        try:
            query, kind, page = _param(request, "q") or "", _param(request, "kind"), _page(request)
            searched, found = await self._desk.finder.search(
                query, kind or "any", self._clock.now(), page=page
            )
        except (BadQuery, DeskError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"kind": searched} | self._page_json(found))

    async def done(self, request: web.Request, _actor: Actor) -> web.Response:
        """GET /api/console/done?status=&from=&to=&category=&assignee=&priority=&page="""
        try:
            wanted, page = done_filter(request), _page(request)
            found = await self._desk.finder.done(wanted, self._clock.now(), page=page)
        except (BadQuery, DeskError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(self._page_json(found))

    async def done_options(self, _request: web.Request, _actor: Actor) -> web.Response:
        """GET /api/console/done/options: what the finished list's filters offer."""
        categories, assignees = await self._desk.finder.done_options()
        return _json(
            {
                "statuses": [
                    {"key": key, "name": notices.DONE_CHOICE_NAMES[key]} for key in DONE_CHOICES
                ],
                "categories": categories,
                "assignees": assignees,
                "priorities": list(PRIORITIES),
            }
        )


async def _actions(_request: web.Request, _actor: Actor) -> web.Response:
    """GET /api/console/actions: each desk action's text need and usual texts (关闭's
    results), the same rows the Telegram card offers."""
    return _json(
        {
            "actions": [
                {
                    "name": a.name,
                    "text": a.text.value,
                    "choices": [
                        {"key": c.key, "label": c.label, "text": c.text} for c in a.choices
                    ],
                }
                for a in ACTIONS.values()
            ]
        }
    )


def add_search_routes(
    app: web.Application, desk: Desk, clock: Clock, signed_in: SignedIn, row_json: RowJson
) -> None:
    routes = SearchRoutes(desk, clock, row_json)
    app.router.add_get("/api/console/search", signed_in(routes.search))
    app.router.add_get("/api/console/done", signed_in(routes.done))
    app.router.add_get("/api/console/done/options", signed_in(routes.done_options))
    app.router.add_get("/api/console/actions", signed_in(_actions))
