"""Message entities: UTF-16 offsets, the entities the server detects by itself (commands,
mentions, URLs), trimming and validating explicit entities."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from tests.support.botapi.errors import JSONDict, bad_request


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


_AUTO_ENTITY_RE: Final = re.compile(
    r"(?P<bot_command>(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?"
    r"(?![A-Za-z0-9_/@]))"
    r"|(?P<mention>(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_]))"
    r"|(?P<url>(?<![A-Za-z0-9_@.])(?:https?://|www\.)[^\s<>\"，。！？、；：（）【】「」]+)"
)


def detect_entities(text: str) -> list[JSONDict]:
    """Entities the server adds by itself: bot commands, @mentions and URLs."""
    found: list[JSONDict] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        value = match.group()
        if kind == "url":
            value = value.rstrip(".,!?;:)'\"")
            if not value or value.endswith("://"):
                continue
        start = utf16_len(text[: match.start()])
        found.append({"type": kind, "offset": start, "length": utf16_len(value)})
    return found


def _overlaps(entity: JSONDict, others: Iterable[JSONDict]) -> bool:
    start, end = entity["offset"], entity["offset"] + entity["length"]
    return any(o["offset"] < end and start < o["offset"] + o["length"] for o in others)


def merge_entities(parsed: list[JSONDict], detected: list[JSONDict]) -> list[JSONDict]:
    blocking = [e for e in parsed if e["type"] in ("code", "pre", "text_link", "bot_command")]
    merged = parsed + [e for e in detected if not _overlaps(e, blocking)]
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading and trailing whitespace like the server does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def validate_entities(value: Any, text: str) -> list[JSONDict]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    for entity in value:
        offset, size = entity.get("offset"), entity.get("length")
        if (
            not isinstance(entity.get("type"), str)
            or not isinstance(offset, int)
            or not (isinstance(size, int))
        ):
            raise bad_request('can\'t parse MessageEntity: Field "type" must be of type String')
        if offset < 0 or size <= 0 or offset + size > total:
            raise bad_request("entity beginning is out of bounds")
    return [dict(e) for e in value]
