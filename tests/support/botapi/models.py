"""The emulator's records: users, chats, the messages both sides sent, button presses,
rejected calls and webhook state."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.botapi.errors import JSONDict

if TYPE_CHECKING:
    from tests.support.botapi.params import UploadedFile
    from tests.support.botapi.state import EmulatorState


def unix_now() -> int:
    """The current time in Unix seconds, as every Bot API date is."""
    return int(time.time())


def clone(value: JSONDict) -> JSONDict:
    """A deep copy of a JSON object, so that callers never share mutable state."""
    result: JSONDict = json.loads(json.dumps(value))
    return result


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
    _emulator: EmulatorState | None = field(default=None, repr=False)

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
class ChatState:
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
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Described:
    """A successful result that carries a ``description`` too (like setWebhook's)."""

    result: Any
    description: str
