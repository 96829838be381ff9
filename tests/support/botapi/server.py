"""An in-process emulator of the Telegram Bot API, for end-to-end tests.

The emulator is an aiohttp server bound to 127.0.0.1 on a random free port. The REAL
python-telegram-bot ``Application`` (or a bare ``telegram.Bot``) talks to it over HTTP by
pointing ``base_url`` at :attr:`BotApiEmulator.base_url`; tests play the users' side through
chat handles::

    async with running_emulator(token="123456:TEST") as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        ...
        chat = emu.private_chat(user_id=5512, first_name="小明")
        await chat.send("/start")
        reply = await chat.next_reply(timeout=5.0)
        assert reply.buttons == ["有帮助", "没帮助"]
        await chat.press("有帮助")

The emulator is deliberately strict, like the real server, so that tests catch bugs that a
lenient fake would hide: parameters arrive as strings (form encoding) and are coerced the way
the Bot API does; texts are trimmed, parsed (HTML / MarkdownV2 / Markdown) and length-checked;
keyboards are validated; errors use the real descriptions and HTTP status codes; editing a
message without ``reply_markup`` removes its inline keyboard; in groups, privacy mode hides
ordinary messages from the bot unless it is an administrator.

Everything stays on the loopback interface: webhooks are only delivered to loopback hosts and
URLs given to ``sendPhoto``/``sendDocument`` are never fetched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import re
import socket
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

JSONDict: TypeAlias = dict[str, Any]

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotMessage",
    "CallbackQueryHandle",
    "ChatHandle",
    "FailedCall",
    "GroupHandle",
    "TelegramUser",
    "UploadedFile",
    "UserMessage",
    "WebhookFailure",
    "make_png",
    "running_emulator",
]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_INLINE_BUTTONS: Final = 100
MAX_COMMANDS: Final = 100
# How long a callback query can be answered; the real server uses roughly this window.
CALLBACK_ANSWER_WINDOW: Final = 15.0

_TOKEN_RE: Final = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})

_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update types delivered when a bot never specified allowed_updates (or passed an empty list).
_DEFAULT_UPDATE_TYPES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_ALL_UPDATE_TYPES: Final = _DEFAULT_UPDATE_TYPES | {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_COMMAND_SCOPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_INLINE_BUTTON_ACTIONS: Final = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)

# Parameters whose form-encoded values the Bot API decodes as JSON, integers or booleans.
_JSON_PARAMS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_INT_PARAMS: Final = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
    }
)
_BOOL_PARAMS: Final = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_INT_STRING_RE: Final = re.compile(r"-?\d{1,19}")


# --------------------------------------------------------------------------------------------
# Errors and small helpers
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def _cant_parse_entities(message: str) -> ApiError:
    return _bad_request(f"can't parse entities: {message}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _now() -> int:
    """The current time in Unix seconds, as every Bot API date is."""
    return int(time.time())


def _clone(value: JSONDict) -> JSONDict:
    """A deep copy of a JSON object, so that callers never share mutable state."""
    result: JSONDict = json.loads(json.dumps(value))
    return result


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS


def make_png(width: int = 1, height: int = 1) -> bytes:
    """A valid grey PNG image of the given size (handy as a photo to upload)."""
    raw = (b"\x00" + b"\x80" * width) * height

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG, WebP or BMP image; None if it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
            index += 2 + int(segment_length)
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if data[12:16] == b"VP8X" and len(data) >= 30:
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return width, height
        return 512, 512
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    return None


# --------------------------------------------------------------------------------------------
# Text entities: automatic detection and the three parse modes
# --------------------------------------------------------------------------------------------

_AUTO_ENTITY_RE: Final = re.compile(
    r"(?P<bot_command>(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?"
    r"(?![A-Za-z0-9_/@]))"
    r"|(?P<mention>(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_]))"
    r"|(?P<url>(?<![A-Za-z0-9_@.])(?:https?://|www\.)[^\s<>\"，。！？、；：（）【】「」]+)"
)


def _detect_entities(text: str) -> list[JSONDict]:
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
        start = _utf16_len(text[: match.start()])
        found.append({"type": kind, "offset": start, "length": _utf16_len(value)})
    return found


def _overlaps(entity: JSONDict, others: Iterable[JSONDict]) -> bool:
    start, end = entity["offset"], entity["offset"] + entity["length"]
    return any(o["offset"] < end and start < o["offset"] + o["length"] for o in others)


def _merge_entities(parsed: list[JSONDict], detected: list[JSONDict]) -> list[JSONDict]:
    blocking = [e for e in parsed if e["type"] in ("code", "pre", "text_link", "bot_command")]
    merged = parsed + [e for e in detected if not _overlaps(e, blocking)]
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading and trailing whitespace like the server does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    result: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_ENTITY_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_CHAR_REF_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_CHAR_REFS: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_char_ref(match: re.Match[str]) -> str | None:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _NAMED_CHAR_REFS[name]
    code_point = int(decimal) if decimal else int(hexadecimal, 16)
    if 0 < code_point < 0x110000 and not 0xD800 <= code_point <= 0xDFFF:
        return chr(code_point)
    return None


def _decode_char_refs(text: str) -> str:
    return _HTML_CHAR_REF_RE.sub(lambda m: _decode_char_ref(m) or m.group(), text)


def _parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Bot API HTML (the subset the server accepts) into plain text and entities."""
    out: list[str] = []
    entities: list[JSONDict] = []
    # Open tags: (name, argument, start offset in UTF-16 units of the output).
    stack: list[tuple[str, str | None, int]] = []
    pre_languages: dict[int, str] = {}
    position = 0
    length = len(source)
    cursor = 0  # output length in UTF-16 units

    def unclosed(start: int) -> ApiError:
        return _cant_parse_entities(
            f"Unclosed start tag at byte offset {_byte_offset(source, start)}"
        )

    while position < length:
        char = source[position]
        if char == "&":
            match = _HTML_CHAR_REF_RE.match(source, position)
            decoded = _decode_char_ref(match) if match else None
            if match and decoded is not None:
                out.append(decoded)
                cursor += _utf16_len(decoded)
                position = match.end()
                continue
        if char != "<":
            out.append(char)
            cursor += _utf16_len(char)
            position += 1
            continue

        tag_start = position
        position += 1
        if position < length and source[position] == "/":
            end = position + 1
            while end < length and not source[end].isspace() and source[end] != ">":
                end += 1
            name = source[position + 1 : end].lower()
            while end < length and source[end].isspace():
                end += 1
            offset = _byte_offset(source, tag_start)
            if end >= length or source[end] != ">":
                raise _cant_parse_entities(f"Unclosed end tag at byte offset {offset}")
            if not stack:
                raise _cant_parse_entities(f"Unexpected end tag at byte offset {offset}")
            open_name, argument, start = stack.pop()
            if name and name != open_name:
                raise _cant_parse_entities(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            position = end + 1
            if cursor <= start:
                continue
            entity: JSONDict = {"offset": start, "length": cursor - start}
            if open_name == "code" and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
                if argument:
                    pre_languages[start] = argument
                continue
            if open_name == "a":
                if not argument:
                    continue
                entity.update(type="text_link", url=argument)
            elif open_name == "tg-emoji":
                if not argument or not argument.isdigit():
                    raise _cant_parse_entities("Invalid custom emoji identifier specified")
                entity.update(type="custom_emoji", custom_emoji_id=argument)
            elif open_name == "blockquote" and argument:
                entity["type"] = "expandable_blockquote"
            else:
                entity["type"] = _HTML_ENTITY_TYPES[open_name]
            if open_name == "pre" and start in pre_languages:
                entity["language"] = pre_languages.pop(start)
            entities.append(entity)
            continue

        end = position
        while end < length and not source[end].isspace() and source[end] != ">":
            end += 1
        if end >= length:
            raise unclosed(tag_start)
        name = source[position:end].lower()
        if name not in _HTML_TAGS:
            raise _cant_parse_entities(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, tag_start)}'
            )
        attributes: dict[str, str] = {}
        while True:
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] == ">":
                end += 1
                break
            attribute_start = end
            while end < length and not source[end].isspace() and source[end] not in "=>/\"'":
                end += 1
            attribute = source[attribute_start:end].lower()
            if not attribute:
                raise _cant_parse_entities(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(source, tag_start)}"
                )
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] != "=":
                attributes[attribute] = ""
                continue
            end += 1
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] in "\"'":
                closing = source.find(source[end], end + 1)
                if closing < 0:
                    raise unclosed(tag_start)
                attributes[attribute] = _decode_char_refs(source[end + 1 : closing])
                end = closing + 1
            else:
                value_start = end
                while end < length and (
                    (source[end].isascii() and source[end].isalnum()) or source[end] in ".-"
                ):
                    end += 1
                if end < length and not source[end].isspace() and source[end] != ">":
                    raise _cant_parse_entities(
                        f"Unexpected end of name token at byte offset {_byte_offset(source, end)}"
                    )
                attributes[attribute] = source[value_start:end]
        argument_value: str | None = None
        if name == "a":
            argument_value = attributes.get("href")
        elif name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise _cant_parse_entities(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(source, tag_start)}"
                )
        elif name == "code":
            css_class = attributes.get("class", "")
            if css_class.startswith("language-"):
                argument_value = css_class.removeprefix("language-")
        elif name == "tg-emoji":
            argument_value = attributes.get("emoji-id")
        elif name == "blockquote" and "expandable" in attributes:
            argument_value = "expandable"
        stack.append((name, argument_value, cursor))
        position = end

    if stack:
        raise _cant_parse_entities(
            f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    return "".join(out), entities


_MARKDOWN_V2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_NAMES: Final = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _read_link_target(source: str, position: int) -> tuple[str | None, int]:
    """Read ``(url)`` right after a closing ``]``; returns the URL and the next position."""
    if position >= len(source) or source[position] != "(":
        return None, position
    url: list[str] = []
    index = position + 1
    while index < len(source) and source[index] != ")":
        if source[index] == "\\" and index + 1 < len(source):
            index += 1
        url.append(source[index])
        index += 1
    if index >= len(source):
        return None, position
    return "".join(url), index + 1


def _parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Parse MarkdownV2; unescaped reserved characters are rejected like the server does."""
    out: list[str] = []
    entities: list[JSONDict] = []
    # Open entities: (type, output start in UTF-16 units, byte offset in the source, language).
    stack: list[tuple[str, int, int, str | None]] = []
    cursor = 0
    position = 0
    length = len(source)
    quote_start: int | None = None

    def emit(text: str) -> None:
        nonlocal cursor
        out.append(text)
        cursor += _utf16_len(text)

    while position < length:
        char = source[position]
        at_line_start = position == 0 or source[position - 1] == "\n"
        if char == "\\" and position + 1 < length and 0 < ord(source[position + 1]) <= 126:
            emit(source[position + 1])
            position += 2
            continue
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if char == "\n" and quote_start is not None and not source.startswith(">", position + 1):
            if cursor > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": cursor - quote_start}
                )
            quote_start = None
        if (in_code and char != "`") or (not in_code and char not in _MARKDOWN_V2_RESERVED):
            emit(char)
            position += 1
            continue

        top = stack[-1][0] if stack else None
        closes = (
            (top == "bold" and char == "*")
            or (top == "italic" and char == "_" and not source.startswith("__", position))
            or (top == "underline" and source.startswith("__", position))
            or (top == "strikethrough" and char == "~")
            or (top == "spoiler" and source.startswith("||", position))
            or (top == "code" and char == "`")
            or (top == "pre" and source.startswith("```", position))
            or (top in ("text_link", "custom_emoji") and char == "]")
        )
        if closes and top is not None:
            kind, start, _, closed_language = stack.pop()
            position += {"underline": 2, "spoiler": 2, "pre": 3}.get(kind, 1)
            entity: JSONDict = {"type": kind, "offset": start, "length": cursor - start}
            if kind in ("text_link", "custom_emoji"):
                target, position = _read_link_target(source, position)
                if target is None:
                    continue
                if kind == "text_link":
                    entity["url"] = target
                else:
                    entity["custom_emoji_id"] = target.rpartition("id=")[2]
            if kind == "pre" and closed_language:
                entity["language"] = closed_language
            if entity["length"] > 0:
                entities.append(entity)
            continue

        offset = _byte_offset(source, position)
        if char == ">" and at_line_start:
            if quote_start is None:
                quote_start = cursor
            position += 1
            continue
        kind_and_width: tuple[str, int] | None = None
        if char == "_":
            kind_and_width = (
                ("underline", 2) if source.startswith("__", position) else ("italic", 1)
            )
        elif char == "*":
            kind_and_width = ("bold", 1)
        elif char == "~":
            kind_and_width = ("strikethrough", 1)
        elif char == "|" and source.startswith("||", position):
            kind_and_width = ("spoiler", 2)
        elif char == "[":
            kind_and_width = ("text_link", 1)
        elif char == "!" and source.startswith("![", position):
            kind_and_width = ("custom_emoji", 2)
        elif char == "`":
            kind_and_width = ("pre", 3) if source.startswith("```", position) else ("code", 1)
        if kind_and_width is None:
            raise _cant_parse_entities(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        kind, width = kind_and_width
        position += width
        language = None
        if kind == "pre":
            newline = source.find("\n", position)
            header = source[position:newline] if newline >= 0 else ""
            if newline >= 0 and header and not any(c.isspace() or c == "`" for c in header):
                language = header
                position = newline + 1
            elif newline == position:
                position += 1
        stack.append((kind, cursor, offset, language))

    if quote_start is not None and cursor > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": cursor - quote_start}
        )
    if stack:
        kind, _, offset, language = stack[-1]
        name = "PreCode" if kind == "pre" and language else _MARKDOWN_V2_NAMES[kind]
        raise _cant_parse_entities(f"Can't find end of {name} entity at byte offset {offset}")
    return "".join(out), entities


def _parse_markdown(source: str) -> tuple[str, list[JSONDict]]:
    """Parse the legacy Markdown mode (``*bold*``, ``_italic_``, code, pre and links)."""
    out: list[str] = []
    entities: list[JSONDict] = []
    cursor = 0
    position = 0
    length = len(source)
    while position < length:
        char = source[position]
        if char == "\\" and position + 1 < length and source[position + 1] in "_*`[":
            out.append(source[position + 1])
            cursor += 1
            position += 2
            continue
        if char not in "_*`[":
            out.append(char)
            cursor += _utf16_len(char)
            position += 1
            continue
        offset = _byte_offset(source, position)
        is_pre = source.startswith("```", position)
        closing = "```" if is_pre else ("]" if char == "[" else char)
        content_start = position + len(closing if is_pre else char)
        language: str | None = None
        if is_pre:
            newline = source.find("\n", content_start)
            header = source[content_start:newline] if newline >= 0 else ""
            if newline >= 0 and header and not any(c.isspace() for c in header):
                language = header
                content_start = newline + 1
        content_end = source.find(closing, content_start)
        if content_end < 0:
            raise _cant_parse_entities(
                f"Can't find end of the entity starting at byte offset {offset}"
            )
        content = source[content_start:content_end]
        position = content_end + len(closing)
        start = cursor
        out.append(content)
        cursor += _utf16_len(content)
        entity: JSONDict = {"offset": start, "length": cursor - start}
        if char == "[":
            target, position = _read_link_target(source, position)
            if target is None:
                continue
            entity.update(type="text_link", url=target)
        elif is_pre:
            entity["type"] = "pre"
            if language:
                entity["language"] = language
        else:
            entity["type"] = {"*": "bold", "_": "italic", "`": "code"}[char]
        if entity["length"] > 0:
            entities.append(entity)
    return "".join(out), entities


_PARSERS: Final[dict[str, Callable[[str], tuple[str, list[JSONDict]]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}


def _validate_entities(value: Any, text: str) -> list[JSONDict]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise _bad_request("can't parse entities JSON object")
    total = _utf16_len(text)
    for entity in value:
        offset, size = entity.get("offset"), entity.get("length")
        if (
            not isinstance(entity.get("type"), str)
            or not isinstance(offset, int)
            or not (isinstance(size, int))
        ):
            raise _bad_request('can\'t parse MessageEntity: Field "type" must be of type String')
        if offset < 0 or size <= 0 or offset + size > total:
            raise _bad_request("entity beginning is out of bounds")
    return [dict(e) for e in value]


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    content: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


def _normalize(raw: Mapping[str, Any]) -> JSONDict:
    """Decode form values the way the Bot API does: JSON fields, integers and booleans."""
    values: JSONDict = {}
    for name, value in raw.items():
        if isinstance(value, str):
            if name in _JSON_PARAMS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif name in _INT_PARAMS and _INT_STRING_RE.fullmatch(value):
                value = int(value)
            elif name in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
        values[name] = value
    return values


class _Params:
    """Typed access to the (normalized) parameters of one request."""

    def __init__(self, values: JSONDict) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool | dict | list | UploadedFile):
            raise _bad_request(f'field "{name}" must be of type String')
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_STRING_RE.fullmatch(value.strip()):
            return int(value)
        raise _bad_request(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad_request(error) from None
        return value


# --------------------------------------------------------------------------------------------
# Test-facing records
# --------------------------------------------------------------------------------------------


@dataclass
class TelegramUser:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(eq=False)
class BotMessage:
    """A message the bot sent. ``raw`` is the current Bot API ``Message`` (edits update it)."""

    chat_id: int
    message_id: int
    method: str
    params: JSONDict
    raw: JSONDict
    original_text: str | None
    edits: list[str] = field(default_factory=list)
    deleted: bool = False
    upload: UploadedFile | None = None
    #: A reply keyboard / remove_keyboard / force_reply sent along (never part of ``raw``).
    keyboard_markup: JSONDict | None = None

    @property
    def text(self) -> str | None:
        value = self.raw.get("text")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        value = self.raw.get("caption")
        return value if isinstance(value, str) else None

    @property
    def entities(self) -> list[JSONDict]:
        value = self.raw.get("entities") or self.raw.get("caption_entities") or []
        return list(value)

    @property
    def date(self) -> int:
        return int(self.raw["date"])

    @property
    def reply_markup(self) -> JSONDict | None:
        value = self.raw.get("reply_markup")
        return value if isinstance(value, dict) else None

    @property
    def button_rows(self) -> list[list[str]]:
        markup = self.reply_markup or {}
        return [[str(b["text"]) for b in row] for row in markup.get("inline_keyboard", [])]

    @property
    def buttons(self) -> list[str]:
        return [text for row in self.button_rows for text in row]

    def button(self, text: str) -> JSONDict:
        """The inline button with that text (``AssertionError`` if there is none)."""
        markup = self.reply_markup or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if button.get("text") == text:
                    return dict(button)
        raise AssertionError(f"no button {text!r} on {self!r}; buttons: {self.buttons}")

    def describe(self) -> str:
        body = self.text if self.text is not None else f"<{self.kind}> {self.caption or ''}"
        extras = f" buttons={self.buttons}" if self.buttons else ""
        extras += " (deleted)" if self.deleted else ""
        extras += f" edits={self.edits}" if self.edits else ""
        return f"#{self.message_id} via {self.method}: {body!r}{extras}"

    @property
    def kind(self) -> str:
        for key in ("text", "photo", "document", "sticker", "voice"):
            if key in self.raw:
                return key
        return "message"

    def __repr__(self) -> str:
        return f"BotMessage(chat={self.chat_id}, {self.describe()})"


@dataclass(eq=False)
class UserMessage:
    """A message a test user sent. ``update_id`` is None if the bot could not see it."""

    message_id: int
    raw: JSONDict
    update_id: int | None

    @property
    def text(self) -> str | None:
        value = self.raw.get("text")
        return value if isinstance(value, str) else None


@dataclass(eq=False)
class CallbackQueryHandle:
    """A button press. ``answer`` holds the parameters of the bot's answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    data: str
    update_id: int
    created: float
    answer: JSONDict | None = None
    expired: bool = False
    _emulator: BotApiEmulator | None = field(default=None, repr=False)

    @property
    def answered(self) -> bool:
        return self.answer is not None

    async def wait_answer(self, timeout: float = 5.0) -> JSONDict:  # noqa: ASYNC109
        """Wait until the bot answers this query; returns the answer's parameters."""
        assert self._emulator is not None
        if not await self._emulator._wait_for(lambda: self.answer is not None, timeout):
            raise AssertionError(
                f"callback query {self.id} (data={self.data!r}) was not answered within "
                f"{timeout}s\n{self._emulator.describe_state(self.chat_id)}"
            )
        assert self.answer is not None
        return self.answer


@dataclass(frozen=True)
class FailedCall:
    """A request the emulator rejected."""

    method: str
    params: JSONDict
    error_code: int
    description: str


@dataclass(frozen=True)
class WebhookFailure:
    """An update that could not be delivered to the webhook after all attempts."""

    update: JSONDict
    error: str


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str


@dataclass
class _ChatState:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    bot_is_admin: bool = False
    blocked: bool = False
    messages: dict[int, JSONDict] = field(default_factory=dict)
    bot_messages: list[BotMessage] = field(default_factory=list)
    consumed: int = 0
    actions: list[str] = field(default_factory=list)
    keyboard: JSONDict | None = None
    last_message_id: int = 0

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        return data

    def allocate_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Described:
    """A successful result that carries a ``description`` too (like setWebhook's)."""

    result: Any
    description: str


# --------------------------------------------------------------------------------------------
# Chat handles
# --------------------------------------------------------------------------------------------


class _ChatView:
    """What a test can observe in one chat: the bot's messages, chat actions, keyboards."""

    def __init__(self, emulator: BotApiEmulator, state: _ChatState) -> None:
        self._emu = emulator
        self._state = state

    @property
    def id(self) -> int:
        return self._state.id

    @property
    def type(self) -> str:
        return self._state.type

    @property
    def bot_messages(self) -> list[BotMessage]:
        """Every message the bot sent to this chat, oldest first (deleted ones included)."""
        return list(self._state.bot_messages)

    @property
    def last_bot_message(self) -> BotMessage | None:
        return self._state.bot_messages[-1] if self._state.bot_messages else None

    @property
    def chat_actions(self) -> list[str]:
        """Actions from sendChatAction, oldest first."""
        return list(self._state.actions)

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard currently shown in this chat (texts by row), if any."""
        keyboard = self._state.keyboard
        if not keyboard:
            return None
        return [
            [b if isinstance(b, str) else str(b.get("text")) for b in row]
            for row in keyboard.get("keyboard", [])
        ]

    async def next_reply(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """The next message the bot sent to this chat that no test consumed yet (FIFO)."""
        state = self._state
        if not await self._emu._wait_for(
            lambda: len(state.bot_messages) > state.consumed, timeout
        ):
            raise AssertionError(
                f"the bot sent no new message to chat {state.id} within {timeout}s\n"
                + self._emu.describe_state(state.id)
            )
        message = state.bot_messages[state.consumed]
        state.consumed += 1
        return message

    async def assert_no_reply(self, within: float = 0.3) -> None:
        """Fail if the bot sends anything new to this chat within ``within`` seconds."""
        state = self._state
        if await self._emu._wait_for(lambda: len(state.bot_messages) > state.consumed, within):
            unexpected = state.bot_messages[state.consumed :]
            raise AssertionError(
                "expected no reply, got: " + "; ".join(m.describe() for m in unexpected)
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id}, type={self.type!r})"


class ChatHandle(_ChatView):
    """A user in a chat (a private chat, or a group member): sends messages, presses buttons."""

    def __init__(self, emulator: BotApiEmulator, state: _ChatState, user: TelegramUser) -> None:
        super().__init__(emulator, state)
        self.user = user
        #: Messages this handle sent, oldest first.
        self.messages: list[UserMessage] = []
        #: Button presses this handle made, oldest first.
        self.presses: list[CallbackQueryHandle] = []

    @property
    def user_id(self) -> int:
        return self.user.id

    async def send(
        self, text: str, *, reply_to: BotMessage | UserMessage | int | None = None
    ) -> UserMessage:
        """Send a text message; bot commands, mentions and URLs get their entities."""
        if not text.strip():
            raise ValueError("Telegram clients cannot send an empty message")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError("Telegram clients split texts longer than 4096 characters")
        fields: JSONDict = {"text": text}
        entities = _detect_entities(text)
        if entities:
            fields["entities"] = entities
        return await self.send_raw(fields, reply_to=reply_to)

    async def send_sticker(
        self, emoji: str = "👍", *, set_name: str = "HelpdeskStickers"
    ) -> UserMessage:
        stored = self._emu._store_file("sticker", b"RIFF\x00\x00\x00\x00WEBPVP8 fake-sticker")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": set_name,
            "file_size": len(stored.content),
        }
        return await self.send_raw({"sticker": sticker})

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        width: int = 1280,
        height: int = 960,
        reply_to: BotMessage | UserMessage | int | None = None,
    ) -> UserMessage:
        fields: JSONDict = {
            "photo": self._emu._photo_sizes(make_png(width, height), width, height)
        }
        if caption:
            fields["caption"] = caption
            entities = _detect_entities(caption)
            if entities:
                fields["caption_entities"] = entities
        return await self.send_raw(fields, reply_to=reply_to)

    async def send_voice(self, duration: int = 3, *, content: bytes | None = None) -> UserMessage:
        stored = self._emu._store_file("voice", content or b"OggS\x00\x02" + bytes(64))
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.content),
        }
        return await self.send_raw({"voice": voice})

    async def send_document(
        self,
        file_name: str = "申请材料.pdf",
        *,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        content: bytes | None = None,
    ) -> UserMessage:
        data = content if content is not None else b"%PDF-1.4\n% emulator\n%%EOF\n"
        stored = self._emu._store_file("document", data)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        fields: JSONDict = {"document": document}
        if caption:
            fields["caption"] = caption
        return await self.send_raw(fields)

    async def send_raw(
        self, fields: JSONDict, *, reply_to: BotMessage | UserMessage | int | None = None
    ) -> UserMessage:
        """Send a message with arbitrary content fields (e.g. ``{"contact": {...}}``)."""
        message = self._emu._user_message(self._state, self.user, fields, reply_to)
        self.messages.append(message)
        return message

    async def edit(self, message: UserMessage, text: str) -> int:
        """Edit an earlier text message of this user; returns the update_id."""
        return self._emu._edit_user_message(self._state, message, text)

    async def press(self, text: str, *, message_id: int | None = None) -> CallbackQueryHandle:
        """Press the inline button with that text on the newest bot message that has it."""
        candidates = [m for m in reversed(self._state.bot_messages) if not m.deleted]
        if message_id is not None:
            candidates = [m for m in candidates if m.message_id == message_id]
        for message in candidates:
            for row in (message.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") != text:
                        continue
                    if "callback_data" not in button:
                        raise AssertionError(
                            f"button {text!r} on #{message.message_id} is not a callback "
                            f"button: {button}"
                        )
                    return self._press(message.message_id, str(button["callback_data"]))
        raise AssertionError(
            f"no inline button {text!r} in chat {self.id}\n" + self._emu.describe_state(self.id)
        )

    async def press_data(self, data: str, *, message_id: int | None = None) -> CallbackQueryHandle:
        """A callback query with arbitrary data (by default on the newest bot message)."""
        if message_id is None:
            last = self.last_bot_message
            if last is None:
                raise AssertionError(f"the bot has sent nothing to chat {self.id}")
            message_id = last.message_id
        return self._press(message_id, data)

    def _press(self, message_id: int, data: str) -> CallbackQueryHandle:
        query = self._emu._callback_query(self._state, self.user, message_id, data)
        self.presses.append(query)
        return query

    def block_bot(self, blocked: bool = True) -> None:
        """Make the user block (or unblock) the bot: sends then fail with 403."""
        self._state.blocked = blocked


class GroupHandle(_ChatView):
    """A group or supergroup the bot is a member of."""

    @property
    def title(self) -> str:
        return self._state.title or ""

    @property
    def bot_is_admin(self) -> bool:
        return self._state.bot_is_admin

    @bot_is_admin.setter
    def bot_is_admin(self, value: bool) -> None:
        self._state.bot_is_admin = value

    def member(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> ChatHandle:
        """A handle that sends into this group as that user."""
        user = self._emu._user(user_id, first_name, last_name, username, language_code)
        return self._emu._handle(self._state, user)


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------

_Handler = Callable[[_Params], Awaitable[Any]]
_FILE_ID_PREFIXES: Final = {
    "photo": "AgACAgUAAxkBAAI",
    "document": "BQACAgUAAxkBAAI",
    "sticker": "CAACAgUAAxkBAAI",
    "voice": "AwACAgUAAxkBAAI",
}
_FILE_EXTENSIONS: Final = {"photo": "jpg", "document": "pdf", "sticker": "webp", "voice": "oga"}


class BotApiEmulator:
    """A strict Telegram Bot API emulator for one bot.

    Args:
        token: the bot's token; requests with another token get 401 Unauthorized.
        username: the bot's username (``getMe``, ``/command@username``).
        first_name: the bot's display name.
        privacy_mode: like BotFather's setting; in groups where the bot is no administrator,
            only commands and replies to the bot reach it.
        webhook_attempts: how often a webhook delivery is tried before it is given up.
        webhook_retry_delay: seconds before the first retry (doubling afterwards).
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        username: str = "helpdesk_test_bot",
        first_name: str = "补贴客服",
        privacy_mode: bool = True,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.privacy_mode = privacy_mode
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.bot_user = TelegramUser(
            id=int(token.split(":", 1)[0]),
            first_name=first_name,
            username=username,
            language_code=None,
            is_bot=True,
        )
        #: Every request to a known method as (method, params), failed ones included.
        self.calls: list[tuple[str, JSONDict]] = []
        #: Requests the emulator rejected, with the error it returned.
        self.failed_calls: list[FailedCall] = []
        #: Method names the bot called that the emulator does not know (answered 404).
        self.unknown_methods: list[str] = []
        #: Methods whose requests wait in `hold` until `release` (to freeze a bot mid-send).
        self._held_methods: set[str] = set()
        self._released = asyncio.Event()
        #: How many requests are waiting in a hold right now.
        self.holding = 0
        #: Updates that could not be delivered to the webhook.
        self.webhook_failures: list[WebhookFailure] = []
        #: Webhook deliveries as (update, HTTP status or None on connection errors).
        self.webhook_deliveries: list[tuple[JSONDict, int | None]] = []

        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._inflight = 0
        self._last_activity = 0.0
        self._update_ids = itertools.count(10001)
        self._updates: list[JSONDict] = []
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_busy = False
        self._users: dict[int, TelegramUser] = {}
        self._chats: dict[int, _ChatState] = {}
        self._handles: dict[tuple[int, int], ChatHandle] = {}
        self._groups: dict[int, GroupHandle] = {}
        self._queries: dict[str, CallbackQueryHandle] = {}
        self._query_ids = itertools.count(1)
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._log_out,
                "close": self._log_out,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "forwardMessage": self._forward_message,
                "copyMessage": self._copy_message,
                "getFile": self._get_file,
                "getChat": self._get_chat,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://127.0.0.1:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` / ``Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self._require_port()}/file/bot"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("the emulator is not running; await start() first")
        return self.port

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = int(sock.getsockname()[1])
        self._runner = runner
        self._client = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        """Stop serving: pending long polls return, webhook delivery ends, sockets close."""
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.port = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-facing API

    def private_chat(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> ChatHandle:
        """The private chat between the bot and that user (created on first use)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._user(user_id, first_name, last_name, username, language_code)
        state = self._chats.get(user_id)
        if state is None:
            state = _ChatState(
                id=user_id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self._chats[user_id] = state
        return self._handle(state, user)

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> GroupHandle:
        """A group the bot is a member of (a supergroup if the id starts with -100)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id in self._groups:
            return self._groups[chat_id]
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100")
        state = _ChatState(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            bot_is_admin=bot_is_admin,
        )
        self._chats[chat_id] = state
        handle = GroupHandle(self, state)
        self._groups[chat_id] = handle
        return handle

    def sent_messages(self, chat_id: int) -> list[BotMessage]:
        """All messages the bot sent to that chat, oldest first."""
        state = self._chats.get(chat_id)
        return list(state.bot_messages) if state else []

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by getUpdates (or delivered to the webhook)."""
        return [_clone(u) for u in self._updates]

    def calls_to(self, method: str) -> list[JSONDict]:
        """The parameters of every call of that method, oldest first."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def my_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The commands set with setMyCommands for that scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [dict(c) for c in self._commands.get(key, [])]

    @property
    def webhook_url(self) -> str:
        return self._webhook.url if self._webhook else ""

    def hold(self, *methods: str) -> None:
        """Park requests to these methods, unanswered and unrecorded, until `release`."""
        self._held_methods.update(methods)
        self._released = asyncio.Event()

    def release(self) -> None:
        """Let parked requests go on; those whose client went away are dropped unrecorded,
        as a request the real server never received."""
        self._held_methods.clear()
        self._released.set()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Wait until `predicate()` holds after some request, or fail after `timeout` s."""
        if not await self._wait_for(predicate, timeout):
            raise AssertionError(f"{what} not reached within {timeout}s\n" + self.describe_state())

    async def wait_holding(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least `count` requests are parked."""
        if not await self._wait_for(lambda: self.holding >= count, timeout):
            raise AssertionError(f"only {self.holding} request(s) parked after {timeout}s")

    def expire_callback_queries(self) -> None:
        """Make every callback query too old to answer (as after the real server's timeout)."""
        for query in self._queries.values():
            query.expired = True

    async def wait_idle(self, timeout: float = 5.0, settle: float = 0.2) -> None:  # noqa: ASYNC109
        """Wait until every update was confirmed (or delivered to the webhook), no request is
        in flight, and nothing happened for ``settle`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle = await self._wait_for(
                lambda: not self._updates and self._inflight == 0 and not self._webhook_busy,
                deadline - loop.time(),
            )
            if idle:
                quiet_for = loop.time() - self._last_activity
                if quiet_for >= settle:
                    return
                if loop.time() + (settle - quiet_for) <= deadline:
                    await asyncio.sleep(settle - quiet_for)
                    continue
            raise AssertionError(
                f"the bot did not become idle within {timeout}s: "
                f"{len(self._updates)} unconfirmed update(s) (is it polling?), "
                f"{self._inflight} request(s) in flight\n" + self.describe_state()
            )

    def describe_state(self, chat_id: int | None = None) -> str:
        """A readable summary for assertion messages."""
        lines: list[str] = []
        chats = [self._chats[chat_id]] if chat_id in self._chats else list(self._chats.values())
        for state in chats:
            lines.append(f"chat {state.id} ({state.type}), bot messages:")
            for index, message in enumerate(state.bot_messages):
                marker = "consumed" if index < state.consumed else "new"
                lines.append(f"  [{marker}] {message.describe()}")
            if not state.bot_messages:
                lines.append("  (none)")
        if self._updates:
            lines.append(f"unconfirmed updates: {[u['update_id'] for u in self._updates]}")
        for failure in self.failed_calls[-5:]:
            lines.append(f"rejected {failure.method}: {failure.description}")
        if self.unknown_methods:
            lines.append(f"unknown methods called: {sorted(set(self.unknown_methods))}")
        recent = [name for name, _ in self.calls if name != "getUpdates"][-10:]
        lines.append(f"recent calls (without getUpdates): {recent}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- state plumbing

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _touch(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._last_activity = asyncio.get_running_loop().time()

    async def _wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds; False if ``timeout`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()

    def _user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> TelegramUser:
        user = self._users.get(user_id)
        if user is None:
            user = TelegramUser(user_id, first_name, last_name, username, language_code)
            self._users[user_id] = user
        return user

    def _handle(self, state: _ChatState, user: TelegramUser) -> ChatHandle:
        key = (state.id, user.id)
        if key not in self._handles:
            self._handles[key] = ChatHandle(self, state, user)
        return self._handles[key]

    def _enqueue(self, kind: str, payload: JSONDict) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._touch()
        self._notify()
        return update_id

    def _reply_snapshot(
        self, state: _ChatState, reply_to: BotMessage | UserMessage | int | None
    ) -> JSONDict | None:
        if reply_to is None:
            return None
        message_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
        target = state.messages.get(message_id)
        if target is None:
            raise AssertionError(f"message {message_id} does not exist in chat {state.id}")
        snapshot = _clone(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _user_message(
        self,
        state: _ChatState,
        user: TelegramUser,
        fields: JSONDict,
        reply_to: BotMessage | UserMessage | int | None,
    ) -> UserMessage:
        message_id = state.allocate_message_id()
        raw: JSONDict = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": state.to_dict(),
            "date": _now(),
        }
        replied = self._reply_snapshot(state, reply_to)
        if replied is not None:
            raw["reply_to_message"] = replied
        raw.update(_clone(fields))
        state.messages[message_id] = raw
        update_id = self._enqueue("message", _clone(raw)) if self._visible(state, raw) else None
        return UserMessage(message_id=message_id, raw=raw, update_id=update_id)

    def _visible(self, state: _ChatState, raw: JSONDict) -> bool:
        """Whether privacy mode lets the bot see a group message."""
        if state.type == "private" or not self.privacy_mode or state.bot_is_admin:
            return True
        replied = raw.get("reply_to_message") or {}
        if replied.get("from", {}).get("id") == self.bot_user.id:
            return True
        text = raw.get("text") or ""
        for entity in raw.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                _, _, addressee = _utf16_slice(text, 0, entity["length"]).partition("@")
                username = (self.bot_user.username or "").lower()
                return not addressee or addressee.lower() == username
        return False

    def _edit_user_message(self, state: _ChatState, message: UserMessage, text: str) -> int:
        raw = state.messages.get(message.message_id)
        if raw is None or "text" not in raw:
            raise AssertionError(f"message {message.message_id} has no text to edit")
        raw["text"] = text
        raw["edit_date"] = _now()
        entities = _detect_entities(text)
        if entities:
            raw["entities"] = entities
        else:
            raw.pop("entities", None)
        return self._enqueue("edited_message", _clone(raw))

    def _callback_query(
        self, state: _ChatState, user: TelegramUser, message_id: int, data: str
    ) -> CallbackQueryHandle:
        message = state.messages.get(message_id)
        if message is None:
            raise AssertionError(f"message {message_id} does not exist in chat {state.id}")
        query_id = str(4_000_000_000_000_000 + user.id * 1000 + next(self._query_ids))
        digest = hashlib.sha256(f"{self.bot_user.id}:{state.id}".encode()).hexdigest()
        chat_instance = str(-int(digest[:15], 16))
        payload: JSONDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": _clone(message),
            "chat_instance": chat_instance,
            "data": data,
        }
        update_id = self._enqueue("callback_query", payload)
        loop = asyncio.get_running_loop()
        query = CallbackQueryHandle(
            id=query_id,
            chat_id=state.id,
            message_id=message_id,
            data=data,
            update_id=update_id,
            created=loop.time(),
            _emulator=self,
        )
        self._queries[query_id] = query
        return query

    def _store_file(self, kind: str, content: bytes) -> _StoredFile:
        number = next(self._file_counter)
        digest = hashlib.sha256(f"{self.token}:{kind}:{number}".encode()).digest()
        file_id = _FILE_ID_PREFIXES[kind] + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        unique_id = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        path = f"{kind}s/file_{number}.{_FILE_EXTENSIONS[kind]}"
        stored = _StoredFile(file_id, unique_id, kind, content, path)
        self._files[file_id] = stored
        return stored

    def _photo_sizes(self, content: bytes, width: int, height: int) -> list[JSONDict]:
        """PhotoSize objects of the thumbnails Telegram makes, smallest first."""
        sizes: list[JSONDict] = []
        longest = max(width, height)
        for limit in (90, 320, 800, 1280, 2560):
            scale = min(1.0, limit / longest)
            size_w, size_h = max(1, round(width * scale)), max(1, round(height * scale))
            data = content if scale == 1.0 else make_png(size_w, size_h)
            stored = self._store_file("photo", data)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": size_w,
                    "height": size_h,
                }
            )
            if scale == 1.0:
                break
        return sizes

    # ---------------------------------------------------------------- HTTP layer

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return self._serve_file(path.removeprefix("/file/bot"))
        token, _, method = path.removeprefix("/bot").partition("/")
        if not path.startswith("/bot") or not method or "/" in method:
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        if not _TOKEN_RE.fullmatch(token):
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        if token != self.token:
            return self._respond(ApiError(401, "Unauthorized").envelope(), 401)
        entry = self._methods.get(method.lower())
        if entry is None:
            self.unknown_methods.append(method)
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        name, handler = entry
        polling = name == "getUpdates"
        if not polling:
            self._inflight += 1
            self._touch()
        try:
            values: JSONDict = {}
            if name in self._held_methods:
                await self._park(request)
            try:
                values = await self._read_params(request)
            finally:
                self.calls.append((name, values))
            result = await handler(_Params(values))
        except ApiError as error:
            self.failed_calls.append(FailedCall(name, values, error.code, error.description))
            return self._respond(error.envelope(), error.code)
        except Exception as exc:  # a bug in the emulator: make it loud, not a silent 500
            description = f"Internal Server Error: emulator failed: {exc!r}"
            self.failed_calls.append(FailedCall(name, values, 500, description))
            return self._respond(ApiError(500, description).envelope(), 500)
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()
            self._notify()
        if isinstance(result, _Described):
            body = {"ok": True, "result": result.result, "description": result.description}
        else:
            body = {"ok": True, "result": result}
        return self._respond(body, 200)

    async def _park(self, request: web.Request) -> None:
        self.holding += 1
        self._notify()
        try:
            await self._released.wait()
        finally:
            self.holding -= 1
        if request.transport is None or request.transport.is_closing():
            raise ApiError(499, "client closed the connection before the request was served")

    @staticmethod
    def _respond(body: JSONDict, status: int) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
        )

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query)
        content_type = request.content_type
        if request.can_read_body:
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad_request("can't parse JSON object")
                raw.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[name] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    elif isinstance(value, bytes):
                        raw[name] = value.decode()
                    else:
                        raw[name] = value
        return _normalize(raw)

    def _serve_file(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._respond(ApiError(401, "Unauthorized").envelope(), 401)
        for stored in self._files.values():
            if stored.file_path == file_path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return self._respond(ApiError(404, "Not Found").envelope(), 404)

    # ---------------------------------------------------------------- shared validation

    def _chat(self, params: _Params, name: str = "chat_id") -> _ChatState:
        value = params.get(name)
        if value in (None, ""):
            raise _bad_request(f"{name} is empty")
        state: _ChatState | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            state = self._chats.get(value)
        elif isinstance(value, str) and value.startswith("@"):
            wanted = value[1:].lower()
            state = next(
                (c for c in self._chats.values() if (c.username or "").lower() == wanted), None
            )
        if state is None:
            raise _bad_request("chat not found")
        return state

    @staticmethod
    def _writable(state: _ChatState) -> None:
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _formatted(
        self,
        params: _Params,
        *,
        text_field: str,
        entities_field: str,
        limit: int,
        required: bool,
    ) -> tuple[str | None, list[JSONDict]]:
        """A text or caption after parsing, trimming and length checks."""
        source = params.text(text_field)
        too_long = "message is too long" if text_field == "text" else "message caption is too long"
        if source is None or not source.strip():
            if required:
                raise _bad_request("message text is empty")
            return None, []
        parse_mode = (params.text("parse_mode") or "").strip()
        if params.has(entities_field):
            text = source
            entities = _validate_entities(
                params.json(entities_field, "can't parse entities JSON object"), text
            )
        elif parse_mode:
            parser = _PARSERS.get(parse_mode.lower())
            if parser is None:
                raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
            text, entities = parser(source)
        else:
            text, entities = source, []
        text, entities = _trim(text, entities)
        if not text:
            if required:
                raise _bad_request("message text is empty")
            return None, []
        if len(text) > limit:
            raise _bad_request(too_long)
        return text, _merge_entities(entities, _detect_entities(text))

    def _reply_markup(
        self, params: _Params, *, inline_only: bool = False
    ) -> tuple[JSONDict | None, JSONDict | None]:
        """(inline keyboard markup, other markup) from the reply_markup parameter."""
        if not params.has("reply_markup"):
            return None, None
        markup = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return self._inline_keyboard(markup), None
        if inline_only:
            raise _bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    text = (
                        button
                        if isinstance(button, str)
                        else (button.get("text") if isinstance(button, dict) else None)
                    )
                    if not isinstance(text, str) or not text:
                        raise _bad_request("can't parse keyboard button: Text must be non-empty")
            return None, _clone(markup)
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return None, _clone(markup)
        raise _bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _inline_keyboard(markup: JSONDict) -> JSONDict | None:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not isinstance(button, dict):
                    raise _bad_request("can't parse inline keyboard button: Object expected")
                text = button.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise _bad_request(
                        "can't parse inline keyboard button: Text must be non-empty"
                    )
                actions = [a for a in _INLINE_BUTTON_ACTIONS if a in button]
                if not actions:
                    raise _bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if len(actions) > 1:
                    raise _bad_request(
                        "can't parse inline keyboard button: Only one of the optional fields "
                        f"may be used, got {actions}"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if (
                        not isinstance(url, str)
                        or urlsplit(url).scheme
                        not in (
                            "http",
                            "https",
                            "tg",
                        )
                        or not (urlsplit(url).netloc or url.startswith("tg:"))
                    ):
                        raise _bad_request(f"inline keyboard button URL {url!r} is invalid")
        if count > MAX_INLINE_BUTTONS:
            raise _bad_request("reply markup is too long")
        if count == 0:
            return None
        return _clone(markup)

    def _reply_target(self, params: _Params, state: _ChatState) -> JSONDict | None:
        reply_to = params.integer("reply_to_message_id")
        allow_missing = params.flag("allow_sending_without_reply")
        if params.has("reply_parameters"):
            options = params.json("reply_parameters", "can't parse reply parameters JSON object")
            if not isinstance(options, dict) or not isinstance(options.get("message_id"), int):
                raise _bad_request("can't parse reply parameters JSON object")
            if options.get("chat_id") not in (None, state.id):
                raise _bad_request("cross-chat replies are not supported by the emulator")
            reply_to = options["message_id"]
            allow_missing = bool(options.get("allow_sending_without_reply"))
        if reply_to is None:
            return None
        target = state.messages.get(reply_to)
        if target is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        snapshot = _clone(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _post_message(
        self,
        state: _ChatState,
        method: str,
        params: _Params,
        content: JSONDict,
        *,
        inline_markup: JSONDict | None,
        keyboard_markup: JSONDict | None,
        upload: UploadedFile | None = None,
    ) -> BotMessage:
        """Store a new bot message, make it visible to the chat handles and return it."""
        reply_to = self._reply_target(params, state)
        message_id = state.allocate_message_id()
        raw: JSONDict = {
            "message_id": message_id,
            "from": self.bot_user.to_dict(),
            "chat": state.to_dict(),
            "date": _now(),
        }
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        raw.update(content)
        if inline_markup is not None:
            raw["reply_markup"] = inline_markup
        if keyboard_markup is not None:
            state.keyboard = None if keyboard_markup.get("remove_keyboard") else keyboard_markup
        state.messages[message_id] = raw
        message = BotMessage(
            chat_id=state.id,
            message_id=message_id,
            method=method,
            params=dict(params.values),
            raw=raw,
            original_text=raw.get("text"),
            upload=upload,
            keyboard_markup=keyboard_markup,
        )
        state.bot_messages.append(message)
        return message

    def _bot_message(self, state: _ChatState, message_id: int, *, action: str) -> BotMessage:
        for message in state.bot_messages:
            if message.message_id == message_id and not message.deleted:
                return message
        if action == "edit" and message_id in state.messages:
            raise _bad_request("message can't be edited")
        raise _bad_request(f"message to {action} not found")

    def _media(
        self, params: _Params, kind: str
    ) -> tuple[JSONDict | list[JSONDict], UploadedFile | None]:
        """The photo or document of a send request: an upload, a known file_id or a URL."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if value in (None, ""):
            raise _bad_request(f"there is no {kind} in the request")
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad_request("file must be non-empty")
            if kind == "photo":
                size = _image_size(value.content)
                if size is None:
                    raise _bad_request("IMAGE_PROCESS_FAILED")
                width, height = size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise _bad_request("PHOTO_INVALID_DIMENSIONS")
                return self._photo_sizes(value.content, width, height), value
            stored = self._store_file("document", value.content)
            document: JSONDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": value.filename or "document",
                "mime_type": value.content_type or "application/octet-stream",
                "file_size": len(value.content),
            }
            return document, value
        if not isinstance(value, str):
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if urlsplit(value).scheme in ("http", "https"):
            # The real server would download it; the emulator never leaves the machine.
            if kind == "photo":
                return self._photo_sizes(make_png(800, 600), 800, 600), None
            stored = self._store_file("document", b"%PDF-1.4\n%%EOF\n")
            name = urlsplit(value).path.rpartition("/")[2] or "file"
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": name,
                "mime_type": "application/pdf",
                "file_size": len(stored.content),
            }, None
        known = self._files.get(value)
        if known is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if known.kind != kind:
            raise _bad_request(
                f"can't use file of type {known.kind.capitalize()} as {kind.capitalize()}"
            )
        if kind == "photo":
            size = _image_size(known.content) or (800, 600)
            return self._photo_sizes(known.content, *size), None
        return {
            "file_id": known.file_id,
            "file_unique_id": known.file_unique_id,
            "file_name": known.file_path.rpartition("/")[2],
            "mime_type": "application/octet-stream",
            "file_size": len(known.content),
        }, None

    # ---------------------------------------------------------------- methods: bot and updates

    async def _get_me(self, params: _Params) -> JSONDict:
        me = self.bot_user.to_dict()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=not self.privacy_mode,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    async def _log_out(self, params: _Params) -> bool:
        return True

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _drop_unwanted(self, allowed: frozenset[str]) -> None:
        kept = [u for u in self._updates if next(k for k in u if k != "update_id") in allowed]
        self._updates = kept

    def _allowed(self, params: _Params) -> frozenset[str] | None:
        if not params.has("allowed_updates"):
            return None
        value = params.json("allowed_updates", "can't parse allowed updates JSON object")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad_request("can't parse allowed updates JSON object")
        return frozenset(v for v in value if v in _ALL_UPDATE_TYPES) or _DEFAULT_UPDATE_TYPES

    async def _get_updates(self, params: _Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = min(max(params.integer("timeout") or 0, 0), 50)
        allowed = self._allowed(params)
        if allowed is not None:
            self._allowed_updates = allowed
        before = len(self._updates)
        self._confirm(offset)
        if len(self._updates) != before:
            self._touch()
        # A newer getUpdates request terminates any older one that is still waiting.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        terminated = False

        def ready() -> bool:
            nonlocal terminated
            terminated = self._poll_generation != generation
            self._drop_unwanted(self._allowed_updates)
            return bool(self._updates) or terminated or self._closing

        await self._wait_for(ready, timeout)
        if terminated:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if self._updates:
            self._touch()
        return [_clone(u) for u in self._updates[:limit]]

    async def _set_webhook(self, params: _Params) -> _Described:
        url = (params.text("url") or "").strip()
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if parts.scheme == "http" and not _is_loopback(url):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = params.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = self._allowed(params)
        if allowed is not None:
            self._allowed_updates = allowed
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        unchanged = self._webhook is not None and self._webhook.url == url
        await self._stop_webhook_task()
        self._webhook = _Webhook(url, secret, max_connections, params.text("ip_address"))
        if _is_loopback(url):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(self._webhook))
        else:
            # Never leave the machine: remember the URL but do not deliver.
            self._webhook.last_error_date = _now()
            self._webhook.last_error_message = "emulator delivers only to loopback addresses"
        return _Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def _delete_webhook(self, params: _Params) -> _Described:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        existed = self._webhook is not None
        await self._stop_webhook_task()
        self._webhook = None
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _get_webhook_info(self, params: _Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        webhook = self._webhook
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.ip_address:
                info["ip_address"] = webhook.ip_address
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
            if self._allowed_updates != _DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._webhook_busy = False

    async def _deliver_webhooks(self, webhook: _Webhook) -> None:
        """POST pending updates one by one to the webhook, retrying on failures."""
        while not self._closing:
            await self._wait_for(lambda: bool(self._updates) or self._closing, 3600.0)
            if self._closing:
                return
            self._drop_unwanted(self._allowed_updates)
            if not self._updates:
                continue
            update = self._updates[0]
            self._webhook_busy = True
            try:
                error = await self._post_update(webhook, update)
            finally:
                self._webhook_busy = False
            if error is not None:
                self.webhook_failures.append(WebhookFailure(_clone(update), error))
            with contextlib.suppress(ValueError):
                self._updates.remove(update)
            self._touch()
            self._notify()

    async def _post_update(self, webhook: _Webhook, update: JSONDict) -> str | None:
        """Deliver one update; returns None on success or the last error."""
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        error = "not attempted"
        for attempt in range(self.webhook_attempts):
            status: int | None = None
            try:
                async with self._client.post(webhook.url, data=body, headers=headers) as reply:
                    status = reply.status
                    await reply.read()
                if 200 <= status < 300:
                    self.webhook_deliveries.append((_clone(update), status))
                    return None
                error = f"Wrong response from the webhook: {status} {reply.reason}"
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}: {exc}"
            self.webhook_deliveries.append((_clone(update), status))
            webhook.last_error_date = _now()
            webhook.last_error_message = error
            if attempt + 1 < self.webhook_attempts:
                await asyncio.sleep(self.webhook_retry_delay * 2**attempt)
        return error

    # ---------------------------------------------------------------- methods: commands

    def _command_key(self, params: _Params) -> tuple[str, str]:
        scope: Any = {"type": "default"}
        if params.has("scope"):
            scope = params.json("scope", "can't parse BotCommandScope JSON object")
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise _bad_request("unsupported bot command scope type")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._chat(_Params(_normalize({"chat_id": scope.get("chat_id")})))
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: _Params) -> bool:
        if not params.has("commands"):
            raise _bad_request('parameter "commands" is required')
        commands = params.json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_key(params)
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        if not commands:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: _Params) -> list[JSONDict]:
        return [dict(c) for c in self._commands.get(self._command_key(params), [])]

    async def _delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    # ---------------------------------------------------------------- methods: messages

    async def _send_message(self, params: _Params) -> JSONDict:
        text, entities = self._formatted(
            params,
            text_field="text",
            entities_field="entities",
            limit=MAX_TEXT_LENGTH,
            required=True,
        )
        inline, keyboard = self._reply_markup(params)
        state = self._chat(params)
        self._writable(state)
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        if params.has("link_preview_options"):
            options = params.json("link_preview_options", "can't parse link preview options")
            if isinstance(options, dict):
                content["link_preview_options"] = options
        message = self._post_message(
            state, "sendMessage", params, content, inline_markup=inline, keyboard_markup=keyboard
        )
        return _clone(message.raw)

    def _edit_target(self, params: _Params) -> tuple[_ChatState, BotMessage]:
        if params.has("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        state = self._chat(params)
        return state, self._bot_message(state, message_id, action="edit")

    def _apply_edit(
        self, message: BotMessage, changes: JSONDict, inline: JSONDict | None
    ) -> JSONDict:
        raw = message.raw
        unchanged = (
            all(raw.get(k) == v for k, v in changes.items()) and raw.get("reply_markup") == inline
        )
        if unchanged:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value is None:
                raw.pop(key, None)
            else:
                raw[key] = value
        if inline is None:
            raw.pop("reply_markup", None)
        else:
            raw["reply_markup"] = inline
        raw["edit_date"] = _now()
        return _clone(raw)

    async def _edit_message_text(self, params: _Params) -> JSONDict:
        text, entities = self._formatted(
            params,
            text_field="text",
            entities_field="entities",
            limit=MAX_TEXT_LENGTH,
            required=True,
        )
        inline, _ = self._reply_markup(params, inline_only=True)
        _, message = self._edit_target(params)
        if "text" not in message.raw:
            raise _bad_request("there is no text in the message to edit")
        result = self._apply_edit(message, {"text": text, "entities": entities or None}, inline)
        assert text is not None
        message.edits.append(text)
        return result

    async def _edit_message_caption(self, params: _Params) -> JSONDict:
        caption, entities = self._formatted(
            params,
            text_field="caption",
            entities_field="caption_entities",
            limit=MAX_CAPTION_LENGTH,
            required=False,
        )
        inline, _ = self._reply_markup(params, inline_only=True)
        _, message = self._edit_target(params)
        if "text" in message.raw:
            raise _bad_request("there is no caption in the message to edit")
        changes = {"caption": caption, "caption_entities": entities or None}
        result = self._apply_edit(message, changes, inline)
        message.edits.append(caption or "")
        return result

    async def _edit_message_reply_markup(self, params: _Params) -> JSONDict:
        inline, _ = self._reply_markup(params, inline_only=True)
        _, message = self._edit_target(params)
        return self._apply_edit(message, {}, inline)

    async def _delete_message(self, params: _Params) -> bool:
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        state = self._chat(params)
        if message_id not in state.messages:
            raise _bad_request("message to delete not found")
        del state.messages[message_id]
        for message in state.bot_messages:
            if message.message_id == message_id:
                message.deleted = True
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query = self._queries.get(params.text("callback_query_id") or "")
        loop = asyncio.get_running_loop()
        if (
            query is None
            or query.answered
            or query.expired
            or loop.time() - query.created > CALLBACK_ANSWER_WINDOW
        ):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        answer: JSONDict = {"text": text, "show_alert": params.flag("show_alert")}
        if params.has("url"):
            answer["url"] = params.text("url")
        if params.has("cache_time"):
            answer["cache_time"] = params.integer("cache_time")
        query.answer = answer
        return True

    async def _send_chat_action(self, params: _Params) -> bool:
        action = params.text("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        state = self._chat(params)
        self._writable(state)
        state.actions.append(action)
        return True

    async def _send_media(self, params: _Params, kind: str, method: str) -> JSONDict:
        caption, entities = self._formatted(
            params,
            text_field="caption",
            entities_field="caption_entities",
            limit=MAX_CAPTION_LENGTH,
            required=False,
        )
        inline, keyboard = self._reply_markup(params)
        state = self._chat(params)
        self._writable(state)
        media, upload = self._media(params, kind)
        content: JSONDict = {kind: media}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._post_message(
            state,
            method,
            params,
            content,
            inline_markup=inline,
            keyboard_markup=keyboard,
            upload=upload,
        )
        return _clone(message.raw)

    async def _send_photo(self, params: _Params) -> JSONDict:
        return await self._send_media(params, "photo", "sendPhoto")

    async def _send_document(self, params: _Params) -> JSONDict:
        return await self._send_media(params, "document", "sendDocument")

    def _source_message(self, params: _Params, action: str) -> JSONDict:
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        source = self._chat(params, "from_chat_id").messages.get(message_id)
        if source is None:
            raise _bad_request(f"message to {action} not found")
        return source

    _CONTENT_KEYS: Final[tuple[str, ...]] = (
        "text",
        "entities",
        "photo",
        "document",
        "sticker",
        "voice",
        "caption",
        "caption_entities",
        "contact",
        "location",
    )

    async def _forward_message(self, params: _Params) -> JSONDict:
        source = self._source_message(params, "forward")
        state = self._chat(params)
        self._writable(state)
        content: JSONDict = _clone({k: source[k] for k in self._CONTENT_KEYS if k in source})
        sender = source.get("from") or {}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": dict(sender),
            "date": source["date"],
        }
        message = self._post_message(
            state, "forwardMessage", params, content, inline_markup=None, keyboard_markup=None
        )
        return _clone(message.raw)

    async def _copy_message(self, params: _Params) -> JSONDict:
        source = self._source_message(params, "copy")
        inline, keyboard = self._reply_markup(params)
        state = self._chat(params)
        self._writable(state)
        content: JSONDict = _clone({k: source[k] for k in self._CONTENT_KEYS if k in source})
        if params.has("caption") and "text" not in content:
            caption, entities = self._formatted(
                params,
                text_field="caption",
                entities_field="caption_entities",
                limit=MAX_CAPTION_LENGTH,
                required=False,
            )
            content.pop("caption_entities", None)
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._post_message(
            state, "copyMessage", params, content, inline_markup=inline, keyboard_markup=keyboard
        )
        return {"message_id": message.message_id}

    async def _get_file(self, params: _Params) -> JSONDict:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: _Params) -> JSONDict:
        state = self._chat(params)
        info = state.to_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info


@contextlib.asynccontextmanager
async def running_emulator(
    token: str = "123456:TEST", **options: Any
) -> AsyncIterator[BotApiEmulator]:
    """``async with running_emulator() as emu:`` — a started emulator, stopped afterwards."""
    emulator = BotApiEmulator(token, **options)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
