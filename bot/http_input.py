"""Reading what HTTP clients send: bounded, strict JSON and clean text, or a client error.

Every JSON endpoint reads its body through `read_json` (or `read_body` + `parse_json` when
the raw bytes are signed). Whatever is wrong with a body raises `BadRequest`, which the web
server's middleware answers with a 4xx `{"error": "…"}`: bad input is the client's fault,
never a 500, an ERROR log or a Sentry event.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

# As user_texts: `texts` names the InputTexts a caller passes.
from handlers import texts as user_texts

MAX_DEPTH = 64  # objects and arrays inside each other; our bodies need three
MAX_NUMBER = 100  # characters of one number literal; our bodies need a handful
UTF8 = frozenset({"utf-8", "utf8"})
_CHUNK = 64 * 1024

# NUL and the other C0 controls except tab, newline and carriage return: PostgreSQL
# refuses NUL in text, and none of them is something a person typed. A surrogate code
# point can only be a lone \ud800-style escape (json.loads joins valid pairs into one
# character); it cannot be encoded as UTF-8, so it would fail in the database or a log.
_UNCLEAN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# A JSON string literal, escapes included: removed before brackets are counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadRequest(Exception):
    """A request the client must fix; the message (the reader's language) says how."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        # The body could not be read to its end: the connection is of no further use.
        self.close = close


@dataclass(frozen=True, slots=True)
class InputTexts:
    """What a client is told about a body it must fix."""

    too_large: str  # {limit}: kilobytes
    charset: str
    not_utf8: str
    not_json: str
    too_deep: str  # {depth}
    number: str  # {digits}
    unclean: str
    unreadable: str


CHINESE = InputTexts(
    too_large=user_texts.INPUT_TOO_LARGE,
    charset=user_texts.INPUT_CHARSET,
    not_utf8=user_texts.INPUT_NOT_UTF8,
    not_json=user_texts.INPUT_NOT_JSON,
    too_deep=user_texts.INPUT_TOO_DEEP,
    number=user_texts.INPUT_NUMBER,
    unclean=user_texts.INPUT_UNCLEAN,
    unreadable=user_texts.INPUT_UNREADABLE,
)
ENGLISH = InputTexts(
    too_large="body too large: at most {limit} KB",
    charset="the body must be UTF-8: send Content-Type: application/json; charset=utf-8",
    not_utf8="the body is not valid UTF-8",
    not_json="the body must be JSON",
    too_deep="JSON nested more than {depth} levels deep",
    number="a number longer than {digits} characters, or NaN/Infinity, in the JSON",
    unclean=(
        "a string holds a control character (other than tab, newline, carriage return) "
        "or a lone surrogate (\\ud800-\\udfff)"
    ),
    unreadable="the body was cut short or could not be decompressed",
)


class _Refused(ValueError):
    """Raised from inside json.loads by the number hooks."""


def is_clean_text(text: str) -> bool:
    """Return whether text holds no lone surrogate and no control character but \\t \\n \\r."""
    return _UNCLEAN.search(text) is None


def check_charset(request: web.BaseRequest, texts: InputTexts = CHINESE) -> None:
    """Refuse a body declared in any charset but UTF-8 (none declared means UTF-8)."""
    charset = request.charset
    if charset is not None and charset.strip().strip('"').lower() not in UTF8:
        raise BadRequest(415, texts.charset)


async def read_body(
    request: web.BaseRequest, *, max_bytes: int, texts: InputTexts = CHINESE
) -> bytes:
    """Return the raw body, refusing one longer than max_bytes (after decompression)."""
    too_large = BadRequest(413, texts.too_large.format(limit=max(1, max_bytes // 1024)))
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            chunks.append(chunk)
    except (web.RequestPayloadError, HttpProcessingError, ConnectionError):
        # Bad gzip, broken chunked framing, or the client went away mid-body.
        raise BadRequest(400, texts.unreadable, close=True) from None
    return b"".join(chunks)


def parse_json(raw: bytes, texts: InputTexts = CHINESE) -> Any:
    """Decode a UTF-8 JSON body, refusing deep nesting, huge numbers and unclean text."""
    try:
        text = raw.decode("utf-8")  # strict: encoded surrogates (ED A0 80) are refused too
    except UnicodeDecodeError:
        raise BadRequest(400, texts.not_utf8) from None
    if _nesting(text) > MAX_DEPTH:
        raise BadRequest(400, texts.too_deep.format(depth=MAX_DEPTH))
    try:
        value = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constant
        )
    except _Refused:
        raise BadRequest(400, texts.number.format(digits=MAX_NUMBER)) from None
    except RecursionError:  # the scan above should have caught it
        raise BadRequest(400, texts.too_deep.format(depth=MAX_DEPTH)) from None
    except ValueError:  # JSONDecodeError, and int() refusing more than 4300 digits
        raise BadRequest(400, texts.not_json) from None
    if not _all_clean(value):
        raise BadRequest(400, texts.unclean)
    return value


async def read_json(
    request: web.BaseRequest, *, max_bytes: int, texts: InputTexts = CHINESE
) -> Any:
    """Return the request's JSON body, or raise BadRequest saying what to fix."""
    check_charset(request, texts)
    return parse_json(await read_body(request, max_bytes=max_bytes, texts=texts), texts)


def _nesting(text: str) -> int:
    """Return how deep arrays and objects nest (an upper bound when the JSON is invalid)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # too few brackets to nest too deep: skip the scan
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER:
        raise _Refused(literal[:20])
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal) if len(literal) <= MAX_NUMBER else math.inf
    if not math.isfinite(value):  # 1e999 is inf
        raise _Refused(literal[:20])
    return value


def _no_constant(name: str) -> float:
    raise _Refused(name)  # NaN, Infinity, -Infinity: not JSON


def _all_clean(value: Any) -> bool:
    """Return whether every string in a decoded JSON value, keys included, is clean."""
    stack = [value]  # a loop, not recursion: the value may be wide
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_clean_text(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
