"""The aiohttp server: the web chat page, its JSON API, health, and the Telegram webhook."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.alerts import add_alert_routes
from bot.app import Runtime
from bot.console import add_console_routes
from bot.console_files import add_file_routes
from bot.http_input import BadRequest, read_json
from bot.monitoring import report
from bot.web_files import CLIENT_ID, SESSION, add_upload_routes, replies_json
from handlers import texts
from handlers.types import Incoming, Press
from storage.retry import DatabaseUnavailable

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "web" / "static"
MAX_TEXT = 10_000  # longer bodies are refused; the core itself asks for under 2000
MAX_CHOICES = 100  # far more buttons than any reply has
# Room for MAX_TEXT characters even as \uXXXX escapes (6 bytes each), and the rest.
MAX_BODY = 256 * 1024
# The pages load their scripts, styles and data from this origin only; `data:` images
# are the empty favicon (`<link rel="icon" href="data:,">`) that spares a /favicon.ico 404.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_NO_STORE = ("/api/", "/healthz", "/telegram/")  # answers about one person or this moment
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WebhookHandler = Handler


def _json(body: object, status: int = 200) -> web.Response:
    # Readable Chinese on the wire, not \uXXXX escapes.
    return web.json_response(body, status=status, dumps=_DUMPS)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect: every error became a response below
        _secure(request, exc)
        raise
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a streamed response sent its headers already
        return
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith(_NO_STORE):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def _client_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer what the client must fix with a JSON 4xx; nothing is reported."""
    try:
        return await handler(request)
    except BadRequest as exc:
        log.warning(
            "refused %s %s from %s: %s %s",
            request.method,
            request.path[:200],
            request.remote,
            exc.status,
            exc.message,
        )
        response = _error(exc.status, exc.message)
        if exc.close:
            response.force_close()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            log.warning(
                "refused %s %s from %s: 413", request.method, request.path[:200], request.remote
            )
        response = _error(exc.status, _http_error_text(request, exc))
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response


def _http_error_text(request: web.Request, exc: web.HTTPException) -> str:
    """Say in the caller's language what aiohttp refused (a machine calls /api/alerts)."""
    limit = MAX_BODY // 1024
    if request.path.startswith("/api/alerts"):
        if exc.status == 413:
            return f"body too large: at most {limit} KB"
        return f"{exc.status} {exc.reason}"
    if exc.status == 404:
        return texts.WEB_NOT_FOUND
    if exc.status == 405:
        return texts.WEB_METHOD_NOT_ALLOWED.format(method=request.method[:10])
    if exc.status == 413:
        return texts.INPUT_TOO_LARGE.format(limit=limit)
    return texts.WEB_HTTP_ERROR.format(status=exc.status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Report the server's own faults; the client's are answered by _client_errors."""
    try:
        return await handler(request)
    except (web.HTTPException, BadRequest):
        raise
    except DatabaseUnavailable:
        # Away past every retry (a restart, a failover): nothing of the request was kept,
        # and sending it again (with the same id) is safe.
        log.warning("refused %s %s: database unavailable", request.method, request.path[:200])
        response = _error(503, texts.DATABASE_AWAY)
        response.headers["Retry-After"] = "5"
        return response
    except Exception as exc:  # the user gets a code, the log and Sentry the details
        code = report(exc)
        return _error(500, texts.ERROR.format(code=code))


class _ParserLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, with requests its HTTP parser refused logged as warnings.

    A malformed request line, header or body (bad Content-Length, broken chunking or gzip)
    never reaches a handler: aiohttp answers 400 itself and logs it with logger.exception.
    """

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, web.RequestPayloadError) or (
            isinstance(exc_info, HttpProcessingError) and 400 <= exc_info.code < 500
        ):
            detail = str(exc_info).replace("\n", " ")[:300]
            self.warning(f"{msg}: %s", *args, detail)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _info(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return _json({"campaign": runtime.core.engine.kb.name})


async def _messages(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body: Any = await read_json(request, max_bytes=MAX_BODY)
    if not isinstance(body, dict):
        return _error(400, texts.WEB_BODY_NOT_OBJECT)
    session, text = body.get("session"), body.get("text")
    if not isinstance(session, str) or not SESSION.fullmatch(session):
        return _error(400, texts.WEB_BAD_SESSION)
    if not isinstance(text, str):
        return _error(400, texts.WEB_TEXT_NOT_STRING)
    if len(text) > MAX_TEXT:
        return _error(413, texts.WEB_TEXT_TOO_LONG.format(limit=MAX_TEXT))
    client_id = body.get("id")
    if client_id is not None and (
        not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id)
    ):
        return _error(400, texts.WEB_BAD_CLIENT_ID)
    press = _press(body.get("press"))
    external = f"{session}:{client_id}" if client_id else None
    incoming = Incoming(
        "web", f"web:{session}", text, runtime.clock.now(), external_id=external, press=press
    )
    return _json(replies_json(await runtime.core.handle(incoming)))


def _press(raw: object) -> Press | None:
    """The `press` of a message body ({"reply": id, "choice": n}), None when absent."""
    if raw is None:
        return None
    reply = raw.get("reply") if isinstance(raw, dict) else None
    choice = raw.get("choice") if isinstance(raw, dict) else None
    # type(), not isinstance(): true and false are ints to Python, not to us.
    if type(reply) is not int or type(choice) is not int:
        raise BadRequest(400, texts.WEB_BAD_PRESS)
    if not (0 < reply < 2**63 and 0 <= choice < MAX_CHOICES):
        raise BadRequest(400, texts.WEB_BAD_PRESS)
    return Press(reply, choice)


async def _pushed(request: web.Request) -> web.Response:
    """What agents sent this web session since it last asked (the page polls this)."""
    session = request.query.get("session", "")
    if not SESSION.fullmatch(session):
        return _error(400, texts.WEB_BAD_SESSION)
    runtime = request.app[RUNTIME]
    pushed = await runtime.desk.customers.pushed(f"web:{session}")
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
    app = web.Application(
        middlewares=[_security_headers, _client_errors, _errors],
        client_max_size=MAX_BODY,
        handler_args={"logger": _ParserLog(logging.getLogger("aiohttp.server"))},
    )
    app[RUNTIME] = runtime
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/info", _info)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/api/messages", _pushed)
    add_upload_routes(app, runtime)
    add_console_routes(app, runtime.desk, runtime.incidents, runtime.clock)
    add_file_routes(app, runtime.files)
    secret = runtime.settings.alert_secret
    add_alert_routes(
        app, runtime.incidents, secret.get_secret_value() if secret else None, runtime.clock
    )
    app.router.add_get("/healthz", _health)
    if telegram_webhook is not None:
        app.router.add_post("/telegram/webhook", telegram_webhook)
    return app
