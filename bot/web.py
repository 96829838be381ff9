"""The aiohttp server: the web chat page, its JSON API, health, and the Telegram webhook."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.alerts import add_alert_routes
from bot.app import Runtime
from bot.clock import utc_now
from bot.console import add_console_routes
from bot.monitoring import report
from handlers import texts
from handlers.types import Incoming

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "web" / "static"
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 10_000  # longer bodies are refused; the core itself asks for under 2000
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
WebhookHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: object, status: int = 200) -> web.Response:
    # Readable Chinese on the wire, not \uXXXX escapes.
    return web.json_response(body, status=status, dumps=_DUMPS)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # the user gets a code, the log and Sentry the details
        code = report(exc)
        return _error(500, texts.ERROR.format(code=code))


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _info(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return _json({"campaign": runtime.core.engine.kb.name})


async def _messages(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        body: Any = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(
            400, '请求格式不正确：请发送 JSON，例如 {"session": "abc", "text": "补贴怎么领"}。'
        )
    if not isinstance(body, dict):
        return _error(400, '请求格式不正确：需要一个 JSON 对象，含 "session" 和 "text"。')
    session, text = body.get("session"), body.get("text")
    if not isinstance(session, str) or not _SESSION.match(session):
        return _error(400, '"session" 需要是 1–64 位字母、数字、- 或 _ 组成的字符串。')
    if not isinstance(text, str):
        return _error(400, '"text" 需要是字符串，即用户输入的内容。')
    if len(text) > MAX_TEXT:
        return _error(413, f"消息太长了（超过 {MAX_TEXT} 字），请精简后再发。")
    client_id = body.get("id")
    if client_id is not None and (not isinstance(client_id, str) or not _SESSION.match(client_id)):
        return _error(400, '"id"（可选）需要是 1–64 位字母、数字、- 或 _ 组成的字符串。')
    external = f"{session}:{client_id}" if client_id else None
    incoming = Incoming("web", f"web:{session}", text, utc_now(), external_id=external)
    replies = await runtime.core.dispatch(incoming)
    return _json({"replies": [{"text": r.text, "choices": list(r.choices)} for r in replies]})


async def _pushed(request: web.Request) -> web.Response:
    """What agents sent this web session since it last asked (the page polls this)."""
    session = request.query.get("session", "")
    if not _SESSION.match(session):
        return _error(400, '"session" 需要是 1–64 位字母、数字、- 或 _ 组成的字符串。')
    runtime = request.app[RUNTIME]
    pushed = await runtime.desk.pushed(f"web:{session}")
    return _json({"replies": [{"text": t, "choices": list(c)} for t, c in pushed]})


async def _health(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    kb = runtime.core.engine.kb
    body: dict[str, Any] = {"kb": {"name": kb.name, "entries": len(kb.entries)}}
    try:
        await runtime.store.ping()
        body |= {"status": "ok", "db": "ok"}
        return _json(body)
    except Exception as exc:
        log.warning("health check: database unavailable: %s", type(exc).__name__)
        body |= {"status": "degraded", "db": "unavailable"}
        return _json(body, status=503)


def build_web_app(
    runtime: Runtime, telegram_webhook: WebhookHandler | None = None
) -> web.Application:
    """Return the aiohttp application for the web chat (and the Telegram webhook)."""
    app = web.Application(middlewares=[_errors], client_max_size=256 * 1024)
    app[RUNTIME] = runtime
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/info", _info)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/api/messages", _pushed)
    add_console_routes(app, runtime.desk, runtime.incidents)
    secret = runtime.settings.alert_secret
    add_alert_routes(app, runtime.incidents, secret.get_secret_value() if secret else None)
    app.router.add_get("/healthz", _health)
    if telegram_webhook is not None:
        app.router.add_post("/telegram/webhook", telegram_webhook)
    return app
