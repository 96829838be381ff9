"""POST /api/alerts: external monitoring opens or updates an incident.

The body is JSON {"title", "level" (optional), "category" (optional), "detail" (optional)};
`X-Helpdesk-Timestamp` (Unix seconds) and `X-Helpdesk-Signature: sha256=<hex>` — the
HMAC-SHA256 of "<timestamp>.<raw body>" with HELPDESK_ALERT_SECRET. A timestamp more than
five minutes off, or a signature seen before, is refused as a replay. A signature is used
up only by an alert that was recorded: one refused for its content, or one that failed on
our side, may be sent again as it was.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.http_input import ENGLISH, check_charset, parse_json, read_body
from escalation.incidents.plan import PlanError
from escalation.incidents.service import Incidents
from escalation.incidents.sources import ALERT_WINDOW, sign
from handlers import texts

log = logging.getLogger(__name__)
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
INCIDENTS: web.AppKey[Incidents] = web.AppKey("incidents", Incidents)
SECRET: web.AppKey[str] = web.AppKey("alert_secret", str)
CLOCK: web.AppKey[Clock] = web.AppKey("alert_clock")  # the replay window is on it
MAX_BODY = 64 * 1024
MAX_CATEGORY = 32  # the incident's category column
# ASCII digits only (str.isdigit() also takes "²" and "١٢٣", which int() refuses), and
# few of them: twelve reach the year 33658. fullmatch, as "$" would take a trailing "\n".
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")  # what sign() makes; ASCII for compare_digest


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_DUMPS)


async def _alert(request: web.Request) -> web.Response:
    secret = request.app.get(SECRET)
    if not secret:
        return _json({"error": "alerts are off: set HELPDESK_ALERT_SECRET"}, 503)
    check_charset(request, ENGLISH)
    raw = await read_body(request, max_bytes=MAX_BODY, texts=ENGLISH)
    stamp = request.headers.get("X-Helpdesk-Timestamp", "")
    given = request.headers.get("X-Helpdesk-Signature", "")
    now = request.app[CLOCK].now()
    if not _TIMESTAMP.fullmatch(stamp) or abs(now.timestamp() - int(stamp)) > ALERT_WINDOW:
        log.warning(
            "alerts: refused a stale, missing or malformed timestamp from %s", request.remote
        )
        return _json(
            {"error": "timestamp missing, not Unix seconds or more than 5 minutes off"}, 401
        )
    if not _SIGNATURE.fullmatch(given) or not hmac.compare_digest(given, sign(secret, stamp, raw)):
        log.warning("alerts: refused a bad signature from %s", request.remote)
        return _json({"error": "bad signature"}, 401)
    body: Any = parse_json(raw, ENGLISH)
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return _json({"error": '"title" (a string) is required'}, 400)
    fields = {k: body.get(k) for k in ("level", "category", "detail")}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            return _json({"error": f'"{name}" must be a string'}, 400)
    category = fields["category"]
    if category is not None and len(category) > MAX_CATEGORY:
        return _json({"error": f'"category" must be at most {MAX_CATEGORY} characters'}, 400)
    incidents = request.app[INCIDENTS]
    level = fields["level"]
    if level:
        try:
            incidents.plan.level(level)
        except PlanError as exc:
            return _json({"error": str(exc)}, 400)
    # The signature is recorded with the alert, so only an alert that was recorded uses it.
    done = await incidents.alert(
        body["title"].strip()[:200] or texts.ALERT_DEFAULT_TITLE,
        level,
        category,
        fields["detail"] or "",
        now,
        signature=given.removeprefix("sha256="),
    )
    if done is None:
        log.warning("alerts: refused a replayed signature from %s", request.remote)
        return _json({"error": "replayed: this signature was used before"}, 401)
    view, opened = done
    return _json(
        {"incident": view.reference, "level": view.level, "opened": opened},
        201 if opened else 200,
    )


def add_alert_routes(
    app: web.Application, incidents: Incidents, secret: str | None, clock: Clock
) -> None:
    app[INCIDENTS] = incidents
    app[CLOCK] = clock
    if secret:
        app[SECRET] = secret
    app.router.add_post("/api/alerts", _alert)
