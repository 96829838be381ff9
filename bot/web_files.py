"""The web chat's uploads: a customer's photo, file or voice note, read from a
multipart/form-data body and handed to the core like a message, as Telegram's are.

The body is read as a stream: a file over the attachment limit is refused (413) as soon as
it is known to be, by its Content-Length or after that many bytes, never read whole.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from bot.app import Runtime
from bot.http_input import BadRequest, is_clean_text
from escalation.tickets import notices
from escalation.tickets.files import NewFile
from handlers import texts
from handlers.core import Delivery
from handlers.types import Incoming

# Always with fullmatch: "$" would also accept a trailing newline.
SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,63}")  # "<session>:<id>" fits its 128-character column
MAX_CAPTION = 10_000  # characters, as a message's text
FIELD_BYTES = {"session": 64, "id": 63, "caption": 4 * MAX_CAPTION}
FORM_ROOM = 64 * 1024  # the fields and the multipart framing around the file
_CHUNK = 64 * 1024
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
UPLOADS: web.AppKey[Runtime] = web.AppKey("uploads", Runtime)


def replies_json(delivery: Delivery) -> dict[str, Any]:
    """The body the web chat gets back for one message: each reply, its id and buttons.

    Each reply's id goes back with a press of one of its buttons: the press is then read
    by what that button was for, however long ago the reply was given."""
    return {
        "replies": [
            {"reply": r.message_id, "text": r.text, "choices": list(r.choices)}
            for r in delivery.replies
        ]
    }


def kind_of(mime: str) -> str:
    """Return what a file is to the ticket, from the type the browser gave it."""
    if mime.startswith("image/"):
        return "photo"
    if mime.startswith("audio/"):
        return "voice"
    return "document"


async def _read_part(part: BodyPartReader, limit: int, too_big: BadRequest) -> bytes:
    """Return one part's bytes, raising `too_big` as soon as there are more than limit."""
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
    except (web.RequestPayloadError, HttpProcessingError, ConnectionError, ValueError):
        raise BadRequest(400, texts.INPUT_UNREADABLE, close=True) from None
    return b"".join(chunks)


def _field_text(name: str, raw: bytes) -> str:
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, texts.WEB_UPLOAD_BAD_FIELD.format(field=name)) from None
    if not is_clean_text(value):
        raise BadRequest(400, texts.WEB_UPLOAD_BAD_FIELD.format(field=name))
    return value


def _name(raw: str | None) -> str | None:
    """The file's name as the customer sees it: browsers send UTF-8 as is, some clients
    (aiohttp's FormData among them) percent-encode it. For display only."""
    if raw is None or "%" not in raw:
        return raw
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return raw


async def _read_form(
    request: web.Request, max_bytes: int
) -> tuple[dict[str, str], NewFile | None]:
    """Return the form's text fields and its file, refusing a file over max_bytes."""
    too_big = BadRequest(
        413,
        texts.WEB_UPLOAD_TOO_BIG.format(limit=notices.file_size_text(max_bytes)),
        close=True,  # the rest of the body is never read
    )
    declared = request.content_length
    if declared is not None and declared > max_bytes + FORM_ROOM:
        raise too_big
    try:
        reader = await request.multipart()
    except (ValueError, KeyError, AssertionError):
        raise BadRequest(400, texts.WEB_UPLOAD_NOT_FORM) from None
    fields: dict[str, str] = {}
    found: NewFile | None = None
    while True:
        try:
            part = await reader.next()
        except (web.RequestPayloadError, HttpProcessingError, ValueError):
            raise BadRequest(400, texts.WEB_UPLOAD_NOT_FORM, close=True) from None
        if part is None:
            return fields, found
        if not isinstance(part, BodyPartReader):  # a form nested in the form
            raise BadRequest(400, texts.WEB_UPLOAD_NOT_FORM, close=True)
        if part.name == "file" and found is None:
            mime = (part.headers.get(hdrs.CONTENT_TYPE) or "").split(";")[0].strip().lower()
            data = await _read_part(part, max_bytes, too_big)
            if not data:
                raise BadRequest(400, texts.WEB_UPLOAD_EMPTY)
            found = NewFile.of_bytes(kind_of(mime), _name(part.filename), mime or None, data)
        elif part.name in FIELD_BYTES and part.name not in fields:
            bad = BadRequest(400, texts.WEB_UPLOAD_BAD_FIELD.format(field=part.name))
            fields[part.name] = _field_text(
                part.name, await _read_part(part, FIELD_BYTES[part.name], bad)
            )
        else:
            await part.release()  # a field we do not know: read past it


async def _upload(request: web.Request) -> web.Response:
    """A photo, file or voice note from the web chat, with its optional caption."""
    runtime = request.app[UPLOADS]
    fields, new = await _read_form(request, runtime.settings.attachment_max_bytes)
    session, client_id = fields.get("session", ""), fields.get("id")
    if not SESSION.fullmatch(session):
        raise BadRequest(400, texts.WEB_BAD_SESSION)
    if client_id is not None and not CLIENT_ID.fullmatch(client_id):
        raise BadRequest(400, texts.WEB_BAD_CLIENT_ID)
    caption = fields.get("caption", "").strip()
    if len(caption) > MAX_CAPTION:
        raise BadRequest(413, texts.WEB_TEXT_TOO_LONG.format(limit=MAX_CAPTION))
    if new is None:
        raise BadRequest(400, texts.WEB_UPLOAD_NO_FILE)
    incoming = Incoming(
        "web",
        f"web:{session}",
        caption,
        runtime.clock.now(),
        kind=new.kind,
        external_id=f"{session}:{client_id}" if client_id else None,
        attachment=new,
    )
    delivery = await runtime.core.handle(incoming)
    return web.json_response(replies_json(delivery), dumps=_DUMPS)


def add_upload_routes(app: web.Application, runtime: Runtime) -> None:
    app[UPLOADS] = runtime
    app.router.add_post("/api/messages/file", _upload)
