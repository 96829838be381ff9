"""The console's copy of a ticket's files: served to a signed-in agent only.

Images of a known type whose bytes are what the type says are shown in the page; every
other file is a download (Content-Disposition: attachment), never rendered from our origin,
and the response forbids guessing its type (X-Content-Type-Options, set on every response).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from bot.console import _json, _reference, _signed_in
from escalation.routing import Actor
from escalation.tickets.files import TicketFiles, inline_ok
from handlers import texts

FILES: web.AppKey[TicketFiles] = web.AppKey("console_files", TicketFiles)
DOWNLOAD_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "audio/ogg",
        "audio/mpeg",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
    }
)
_FILE_ID = re.compile(r"[0-9]{1,12}")
# What an old client needs in a quoted filename: printable ASCII but quote and backslash.
_ASCII_NAME = re.compile(r'[^\x20-\x7e]|["\\]')


def content_disposition(disposition: str, name: str) -> str:
    """Return the header naming the file, for old clients (ASCII) and new (RFC 6266)."""
    fallback = _ASCII_NAME.sub("_", name) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@_signed_in
async def _file(request: web.Request, _actor: Actor) -> web.StreamResponse:
    ref = _reference(request, texts.CONSOLE_WHAT_TICKET, "T20250602-0042")
    raw_id = request.match_info["file_id"]
    if not _FILE_ID.fullmatch(raw_id):
        return _json({"error": texts.CONSOLE_NO_SUCH_FILE}, 404)
    found = await request.app[FILES].read(ref, int(raw_id))
    if found is None:
        return _json({"error": texts.CONSOLE_NO_SUCH_FILE}, 404)
    view, data = found
    inline = inline_ok(view.mime, data)
    response = web.Response(
        body=data,
        content_type=view.mime if inline else _download_type(view.mime),
    )
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", view.name
    )
    return response


def _download_type(mime: str) -> str:
    # The customer's client named the type: only types no browser runs keep their name
    # (never HTML, SVG, XML or script, whatever the disposition).
    return mime if mime in DOWNLOAD_TYPES else "application/octet-stream"


def add_file_routes(app: web.Application, files: TicketFiles) -> None:
    app[FILES] = files
    app.router.add_get("/api/console/tickets/{ref}/files/{file_id}", _file)
