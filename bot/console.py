"""The agents' web console: a page at /console and its JSON API under /api/console.

Agents sign in with the token `helpdesk agents token ID` printed for them; the session is
an HttpOnly cookie whose hash is stored, and it expires. Every ticket action is a row of
the same table as the Telegram commands and buttons (escalation.tickets.actions), so it
is done and audited the same way. Repeated failed
sign-ins from one address are refused for a while (`SignInThrottle`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.console_incidents import report_json, unsent_json
from bot.console_search import add_search_routes
from bot.http_input import BadRequest, read_json
from escalation.incidents.actions import ACTIONS as INCIDENT_ACTIONS
from escalation.incidents.plan import LEVEL_KEYS
from escalation.incidents.records import (
    IncidentError,
    IncidentForbidden,
    IncidentNotFound,
    IncidentView,
)
from escalation.incidents.service import Incidents
from escalation.routing import Actor
from escalation.tickets import notices
from escalation.tickets.actions import UnknownAction, perform
from escalation.tickets.changes import BadInput, DeskError, Forbidden, NotFound
from escalation.tickets.desk import Desk
from escalation.tickets.files import FileView
from escalation.tickets.views import TicketRow
from handlers import texts

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "web" / "static"
COOKIE = "helpdesk_console"
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
INCIDENTS: web.AppKey[Incidents] = web.AppKey("console_incidents", Incidents)
CLOCK: web.AppKey[Clock] = web.AppKey("console_clock")  # sessions expire on it
MAX_BODY = 128 * 1024  # room for MAX_TEXT characters even as \uXXXX escapes
MAX_TEXT = 10_000  # a reply, note or incident update; the web chat takes as much
MAX_TOKEN = 200  # tokens are 32 characters; anything much longer is not one
MAX_CATEGORY = 32  # the incident's category column
# Always with fullmatch: "$" would also accept a trailing newline. References are
# T20250602-0042 and I20250602-01; the cookie is what secrets.token_urlsafe makes.
_REFERENCE = re.compile(r"[A-Za-z0-9-]{1,32}")
_COOKIE = re.compile(r"[A-Za-z0-9_-]{16,128}")
Handler = Callable[[web.Request, Actor], Awaitable[web.StreamResponse]]


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_DUMPS)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def ticket_json(row: TicketRow) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "status": row.status,
        "status_name": row.status_name,
        "type": row.type,
        "category": row.category,
        "priority": row.priority,
        "assignee": row.assignee,
        "summary": row.summary,
        "opened_at": _iso(row.opened_at),
        "next_due": _iso(row.next_due),
        "next_clock": row.next_clock,
        "clock_name": notices.CLOCK_NAMES.get(row.next_clock) if row.next_clock else None,
        "state": row.state,
    }


def file_json(reference: str, f: FileView) -> dict[str, Any]:
    """A customer's file as the console lists it, with where to fetch it (console_files)."""
    return {
        "id": f.id,
        "kind": f.kind,
        "name": f.name,
        "mime": f.mime,
        "size": f.size,
        "inline": f.inline,  # an image the page may show
        "at": _iso(f.at),
        "url": f"/api/console/tickets/{reference}/files/{f.id}",
    }


class SignInThrottle:
    """Failed console sign-ins per client address, counted in this process's memory.

    Each process counts on its own and a restart forgets: several instances each allow
    the limit. That is plenty against guessing a 32-character token, and a flood of bad
    guesses never reaches the database. The address is the TCP peer (request.remote),
    never a header a client could choose.
    """

    MAX_ADDRESSES = 10_000  # beyond this, forget the longest-quiet addresses

    def __init__(
        self,
        limit: int = 5,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def attempt(self, address: str) -> int:
        """Count a sign-in from address as failed until `succeeded`; return 0.

        When address failed `limit` times within `window`, count nothing and return the
        seconds it must wait instead."""
        now = self._clock()
        stamps = self._failures.pop(address, None) or deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        self._failures[address] = stamps  # re-inserted: the dict is oldest-used first
        if len(stamps) >= self.limit:
            return max(1, math.ceil(stamps[0] + self.window - now))
        # Counted before the token is checked, so that guesses sent all at once are
        # counted too, not only after the first of them has been answered.
        stamps.append(now)
        if len(self._failures) > self.MAX_ADDRESSES:
            del self._failures[next(iter(self._failures))]
        return 0

    def succeeded(self, address: str) -> None:
        """Uncount the attempt of address that signed in (or failed on our side)."""
        stamps = self._failures.get(address)
        if stamps:
            stamps.pop()
            if not stamps:
                del self._failures[address]


THROTTLE: web.AppKey[SignInThrottle] = web.AppKey("console_throttle", SignInThrottle)


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return texts.CONSOLE_WAIT_SECONDS.format(n=seconds)
    return texts.CONSOLE_WAIT_MINUTES.format(n=math.ceil(seconds / 60))


async def _session(request: web.Request) -> tuple[Actor, datetime] | None:
    cookie = request.cookies.get(COOKIE)
    if cookie is None or not _COOKIE.fullmatch(cookie):  # not one we made: no session
        return None
    return await request.app[DESK].agents.session(cookie, request.app[CLOCK].now())


def _signed_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        found = await _session(request)
        if found is None:
            return _json({"error": texts.CONSOLE_SESSION_EXPIRED}, 401)
        return await handler(request, found[0])

    return wrapper


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    body = await read_json(request, max_bytes=MAX_BODY)
    if not isinstance(body, dict):
        raise BadRequest(400, texts.CONSOLE_BODY_NOT_OBJECT)
    return body


def _reference(request: web.Request, what: str, example: str) -> str:
    ref = request.match_info["ref"]
    if not _REFERENCE.fullmatch(ref):
        raise BadRequest(404, texts.CONSOLE_BAD_REFERENCE.format(what=what, example=example))
    return ref


def _text(body: dict[str, Any], default: str | None) -> str | None:
    text = body.get("text", default)
    if text is not None and not isinstance(text, str):
        raise BadRequest(400, texts.CONSOLE_TEXT_NOT_STRING)
    if text is not None and len(text) > MAX_TEXT:
        raise BadRequest(413, texts.CONSOLE_TEXT_TOO_LONG.format(limit=MAX_TEXT))
    return text


async def _page(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.html")


async def _login(request: web.Request) -> web.Response:
    body = await _body(request)
    token = body.get("token")
    if not isinstance(token, str) or not token.strip():
        return _json({"error": texts.CONSOLE_ASK_TOKEN}, 400)
    token = token.strip()
    if len(token) > MAX_TOKEN:
        return _json({"error": texts.CONSOLE_NOT_A_TOKEN}, 400)
    throttle, address = request.app[THROTTLE], request.remote or "unknown"
    wait = throttle.attempt(address)
    if wait:
        log.warning(
            "console: refused a sign-in from %s: %d failed within %d minutes",
            address,
            throttle.limit,
            throttle.window // 60,
        )
        response = _json(
            {"error": texts.CONSOLE_TOO_MANY_TRIES.format(wait=_wait_text(wait))},
            429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        found = await request.app[DESK].agents.login(token, request.app[CLOCK].now())
    except BaseException:  # our fault, not a wrong guess
        throttle.succeeded(address)
        raise
    if found is None:
        log.warning("console: a sign-in with an unknown token from %s", address)
        return _json({"error": texts.CONSOLE_BAD_TOKEN}, 401)
    throttle.succeeded(address)
    cookie, actor, expires = found
    response = _json({"name": actor.name, "role": actor.role, "expires_at": _iso(expires)})
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="Strict",
        max_age=int((expires - request.app[CLOCK].now()).total_seconds()),
        path="/",
    )
    return response


async def _logout(request: web.Request) -> web.Response:
    cookie = request.cookies.get(COOKIE)
    if cookie and _COOKIE.fullmatch(cookie):
        await request.app[DESK].agents.logout(cookie)
    response = _json({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def _me(request: web.Request) -> web.Response:
    found = await _session(request)
    if found is None:
        return _json({"error": texts.CONSOLE_NOT_SIGNED_IN}, 401)
    actor, expires = found
    return _json({"name": actor.name, "role": actor.role, "expires_at": _iso(expires)})


@_signed_in
async def _queue(request: web.Request, actor: Actor) -> web.Response:
    now = request.app[CLOCK].now()
    scope = request.query.get("scope", "all")
    if scope not in ("all", "mine"):
        return _json({"error": texts.CONSOLE_BAD_SCOPE}, 400)
    rows = await request.app[DESK].views.queue(
        now, assignee=actor.name if scope == "mine" else None, limit=200
    )
    return _json({"now": now.isoformat(), "tickets": [ticket_json(r) for r in rows]})


@_signed_in
async def _detail(request: web.Request, _actor: Actor) -> web.Response:
    try:
        d = await request.app[DESK].views.detail(
            _reference(request, texts.CONSOLE_WHAT_TICKET, "T20250602-0042"),
            request.app[CLOCK].now(),
        )
    except DeskError as exc:
        return _json({"error": str(exc)}, 404)
    ticket = ticket_json(d.row) | {
        "order_no": d.row.order_no,
        "merchant_name": d.row.merchant_name,
        "contact_phone": d.row.contact_phone,
        "csat": d.row.csat,
        "channel": d.row.channel,
    }
    return _json(
        {
            "ticket": ticket,
            "thread": [
                {"kind": k, "author": a, "text": t, "at": _iso(at)} for k, a, t, at in d.thread
            ],
            "files": [file_json(d.row.reference, f) for f in d.files],
            "clocks": [
                {
                    "clock": c.clock,
                    "clock_name": notices.CLOCK_NAMES.get(c.clock, c.clock),
                    "cycle": c.cycle,
                    "due_at": _iso(c.due_at),
                    "state": c.state,
                    "result": c.result,
                    "used_minutes": c.used_minutes,
                }
                for c in d.clocks
            ],
        }
    )


def _status_of(exc: DeskError) -> int:
    if isinstance(exc, NotFound | UnknownAction):
        return 404
    if isinstance(exc, BadInput):
        return 400
    if isinstance(exc, Forbidden):
        return 403
    return 409  # the ticket is not in a state for it


@_signed_in
async def _action(request: web.Request, actor: Actor) -> web.Response:
    """POST /api/console/tickets/REF/ACTION: any desk action, by its name."""
    ref = _reference(request, texts.CONSOLE_WHAT_TICKET, "T20250602-0042")
    name = request.match_info["action"]
    text = _text(await _body(request), None)
    now = request.app[CLOCK].now()
    try:
        outcome = await perform(request.app[DESK], name, ref, actor, now, text)
    except DeskError as exc:
        return _json({"error": str(exc)}, _status_of(exc))
    if outcome.row is None:  # a look: what it found, under the action's name {"phone": ...}
        return _json({name: outcome.value})
    return _json({"ok": True, "ticket": ticket_json(outcome.row)})


@_signed_in
async def _supervisor(request: web.Request, actor: Actor) -> web.Response:
    if not actor.is_supervisor:
        return _json({"error": texts.CONSOLE_SUPERVISORS_ONLY}, 403)
    soon, breached = await request.app[DESK].views.supervisor_view(request.app[CLOCK].now())
    return _json(
        {
            "due_within_hour": [ticket_json(r) for r in soon],
            "breached_today": [ticket_json(r) for r in breached],
        }
    )


def incident_json(view: IncidentView) -> dict[str, Any]:
    return {
        "reference": view.reference,
        "level": view.level,
        "label": view.label,
        "title": view.title,
        "category": view.category,
        "status": view.status,
        "status_name": view.status_name,
        "source": view.source,
        "opened_at": _iso(view.opened_at),
        "acknowledged_at": _iso(view.acknowledged_at),
        "resolved_at": _iso(view.resolved_at),
        "eta": _iso(view.eta),
        "unsent_reports": unsent_json(view),
    }


@_signed_in
async def _incidents(request: web.Request, _actor: Actor) -> web.Response:
    incidents = request.app[INCIDENTS]
    levels = [
        {
            "key": k,
            "label": incidents.plan.levels[k].label,
            "criteria": incidents.plan.levels[k].criteria,
        }
        for k in LEVEL_KEYS
    ]
    active = await incidents.active(request.app[CLOCK].now())
    return _json({"incidents": [incident_json(v) for v in active], "levels": levels})


@_signed_in
async def _declare(request: web.Request, actor: Actor) -> web.Response:
    body = await _body(request)
    level, title = body.get("level"), body.get("title")
    category, detail = body.get("category"), body.get("detail")
    if not isinstance(level, str) or not isinstance(title, str):
        return _json({"error": texts.CONSOLE_INCIDENT_ASK_LEVEL}, 400)
    if category is not None and (not isinstance(category, str) or len(category) > MAX_CATEGORY):
        return _json({"error": texts.CONSOLE_BAD_CATEGORY.format(limit=MAX_CATEGORY)}, 400)
    if detail is not None and (not isinstance(detail, str) or len(detail) > MAX_TEXT):
        return _json({"error": texts.CONSOLE_BAD_DETAIL.format(limit=MAX_TEXT)}, 400)
    if len(title) > MAX_TEXT:
        return _json({"error": texts.CONSOLE_TITLE_TOO_LONG}, 400)
    try:
        view = await request.app[INCIDENTS].declare(
            level,
            title,
            actor,
            request.app[CLOCK].now(),
            category=category or None,
            detail=detail or "",
        )
    except IncidentError as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"ok": True, "incident": incident_json(view)}, 201)


@_signed_in
async def _incident_detail(request: web.Request, _actor: Actor) -> web.Response:
    now = request.app[CLOCK].now()
    try:
        d = await request.app[INCIDENTS].detail(
            _reference(request, texts.CONSOLE_WHAT_INCIDENT, "I20250602-01"), now
        )
    except IncidentError as exc:
        return _json({"error": str(exc)}, 404)
    return _json(
        {
            "incident": incident_json(d.view),
            "timeline": [
                {"kind": k, "actor": a, "detail": t, "at": _iso(at)} for k, a, t, at in d.events
            ],
            "reports": [report_json(r, now) for r in d.reports],
            "tickets": d.tickets,
            "users": d.users,
            "messages": d.messages,
        }
    )


@_signed_in
async def _incident_action(request: web.Request, actor: Actor) -> web.Response:
    incidents = request.app[INCIDENTS]
    ref = _reference(request, texts.CONSOLE_WHAT_INCIDENT, "I20250602-01")
    action = request.match_info["action"]
    if action not in INCIDENT_ACTIONS:
        return _json({"error": texts.CONSOLE_UNKNOWN_ACTION.format(action=action[:40])}, 404)
    text = _text(await _body(request), "") or ""
    now = request.app[CLOCK].now()
    try:
        view = await incidents.act(ref, action, actor, now, text)
    except IncidentError as exc:
        status = (
            404
            if isinstance(exc, IncidentNotFound)
            else 403
            if isinstance(exc, IncidentForbidden)
            else 409
        )
        return _json({"error": str(exc)}, status)
    return _json({"ok": True, "incident": incident_json(view)})


def add_console_routes(
    app: web.Application, desk: Desk, incidents: Incidents, clock: Clock
) -> None:
    app[DESK] = desk
    app[INCIDENTS] = incidents
    app[CLOCK] = clock
    app[THROTTLE] = SignInThrottle()
    app.router.add_get("/console", _page)
    app.router.add_post("/api/console/login", _login)
    app.router.add_post("/api/console/logout", _logout)
    app.router.add_get("/api/console/me", _me)
    app.router.add_get("/api/console/queue", _queue)
    app.router.add_get("/api/console/supervisor", _supervisor)
    app.router.add_get("/api/console/tickets/{ref}", _detail)
    app.router.add_post("/api/console/tickets/{ref}/{action}", _action)
    app.router.add_get("/api/console/incidents", _incidents)
    app.router.add_post("/api/console/incidents", _declare)
    app.router.add_get("/api/console/incidents/{ref}", _incident_detail)
    app.router.add_post("/api/console/incidents/{ref}/{action}", _incident_action)
    add_search_routes(app, desk, clock, _signed_in, ticket_json)
