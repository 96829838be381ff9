"""POST /api/alerts: external monitoring opens or updates an incident.

The body is JSON {"title", "level" (optional), "category" (optional), "detail" (optional)};
`X-Helpdesk-Timestamp` (Unix seconds) and `X-Helpdesk-Signature: sha256=<hex>` — the
HMAC-SHA256 of "<timestamp>.<raw body>" with HELPDESK_ALERT_SECRET. A timestamp more than
five minutes off, or a signature seen before, is refused as a replay.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web

from bot.clock import utc_now
from escalation.incidents import ALERT_WINDOW, Incidents, sign
from escalation.plan import PlanError

log = logging.getLogger(__name__)
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
INCIDENTS: web.AppKey[Incidents] = web.AppKey("incidents", Incidents)
SECRET: web.AppKey[str] = web.AppKey("alert_secret", str)
MAX_BODY = 64 * 1024


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_DUMPS)


async def _alert(request: web.Request) -> web.Response:
    secret = request.app.get(SECRET)
    if not secret:
        return _json({"error": "alerts are off: set HELPDESK_ALERT_SECRET"}, 503)
    raw = await request.read()
    if len(raw) > MAX_BODY:
        return _json({"error": "body too large"}, 413)
    stamp = request.headers.get("X-Helpdesk-Timestamp", "")
    given = request.headers.get("X-Helpdesk-Signature", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > ALERT_WINDOW:
        log.warning("alerts: refused a stale or missing timestamp from %s", request.remote)
        return _json({"error": "timestamp missing or more than 5 minutes off"}, 401)
    if not hmac.compare_digest(given, sign(secret, stamp, raw)):
        log.warning("alerts: refused a bad signature from %s", request.remote)
        return _json({"error": "bad signature"}, 401)
    try:
        body: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _json({"error": 'body must be JSON: {"title": str, "level": str, ...}'}, 400)
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return _json({"error": '"title" (a string) is required'}, 400)
    fields = {k: body.get(k) for k in ("level", "category", "detail")}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            return _json({"error": f'"{name}" must be a string'}, 400)
    incidents = request.app[INCIDENTS]
    level = fields["level"]
    if level:
        try:
            incidents.plan.level(level)
        except PlanError as exc:
            return _json({"error": str(exc)}, 400)
    now = utc_now()
    if not await incidents.accept_signature(given.removeprefix("sha256=")[:64], now):
        log.warning("alerts: refused a replayed signature from %s", request.remote)
        return _json({"error": "replayed: this signature was used before"}, 401)
    view, opened = await incidents.alert(
        body["title"].strip()[:200] or "外部告警",
        level,
        fields["category"],
        fields["detail"] or "",
        now,
    )
    return _json(
        {"incident": view.reference, "level": view.level, "opened": opened},
        201 if opened else 200,
    )


def add_alert_routes(app: web.Application, incidents: Incidents, secret: str | None) -> None:
    app[INCIDENTS] = incidents
    if secret:
        app[SECRET] = secret
    app.router.add_post("/api/alerts", _alert)
