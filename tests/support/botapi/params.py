"""Request parameters: form values decoded the way the Bot API does, typed access to them,
and the checks several methods share (texts and captions, keyboards)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from tests.support.botapi.entities import detect_entities, merge_entities, trim, validate_entities
from tests.support.botapi.errors import JSONDict, bad_request
from tests.support.botapi.models import clone
from tests.support.botapi.parse_modes import PARSERS

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100

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


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    content: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


def normalize(raw: Mapping[str, Any]) -> JSONDict:
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


class Params:
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
            raise bad_request(f'field "{name}" must be of type String')
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_STRING_RE.fullmatch(value.strip()):
            return int(value)
        raise bad_request(f"invalid {name} specified")

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
                raise bad_request(error) from None
        return value


def formatted_text(
    params: Params,
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
            raise bad_request("message text is empty")
        return None, []
    parse_mode = (params.text("parse_mode") or "").strip()
    if params.has(entities_field):
        text = source
        entities = validate_entities(
            params.json(entities_field, "can't parse entities JSON object"), text
        )
    elif parse_mode:
        parser = PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        text, entities = parser(source)
    else:
        text, entities = source, []
    text, entities = trim(text, entities)
    if not text:
        if required:
            raise bad_request("message text is empty")
        return None, []
    if len(text) > limit:
        raise bad_request(too_long)
    return text, merge_entities(entities, detect_entities(text))


def reply_markups(
    params: Params, *, inline_only: bool = False
) -> tuple[JSONDict | None, JSONDict | None]:
    """(inline keyboard markup, other markup) from the reply_markup parameter."""
    if not params.has("reply_markup"):
        return None, None
    markup = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return inline_keyboard(markup), None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
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
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        return None, clone(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None, clone(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_keyboard(markup: JSONDict) -> JSONDict | None:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: Object expected")
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = [a for a in _INLINE_BUTTON_ACTIONS if a in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: Only one of the optional fields "
                    f"may be used, got {actions}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not (
                    1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
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
                    raise bad_request(f"inline keyboard button URL {url!r} is invalid")
    if count > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    if count == 0:
        return None
    return clone(markup)
