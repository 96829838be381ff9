"""The users' side: chat handles for tests, and the updates users' actions make."""

from __future__ import annotations

import asyncio
import hashlib

from tests.support.botapi.entities import detect_entities, utf16_slice
from tests.support.botapi.errors import JSONDict
from tests.support.botapi.files import make_png, voice_object
from tests.support.botapi.models import (
    BotMessage,
    CallbackQueryHandle,
    ChatState,
    TelegramUser,
    UserMessage,
    clone,
    unix_now,
)
from tests.support.botapi.params import MAX_TEXT_LENGTH
from tests.support.botapi.state import EmulatorState


class _ChatView:
    """What a test can observe in one chat: the bot's messages, chat actions, keyboards."""

    def __init__(self, emulator: UserActions, state: ChatState) -> None:
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

    def __init__(self, emulator: UserActions, state: ChatState, user: TelegramUser) -> None:
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
        entities = detect_entities(text)
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
            entities = detect_entities(caption)
            if entities:
                fields["caption_entities"] = entities
        return await self.send_raw(fields, reply_to=reply_to)

    async def send_voice(self, duration: int = 3, *, content: bytes | None = None) -> UserMessage:
        data = content or b"OggS\x00\x02" + bytes(64)
        stored = self._emu._store_file("voice", data, mime="audio/ogg")
        return await self.send_raw({"voice": voice_object(stored, duration)})

    async def send_document(
        self,
        file_name: str = "申请材料.pdf",
        *,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        content: bytes | None = None,
    ) -> UserMessage:
        data = content if content is not None else b"%PDF-1.4\n% emulator\n%%EOF\n"
        stored = self._emu._store_file("document", data, name=file_name, mime=mime_type)
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


class UserActions(EmulatorState):
    """What users do, as updates for the bot; mixed into BotApiEmulator (whose state it
    uses)."""

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

    def _handle(self, state: ChatState, user: TelegramUser) -> ChatHandle:
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
        self, state: ChatState, reply_to: BotMessage | UserMessage | int | None
    ) -> JSONDict | None:
        if reply_to is None:
            return None
        message_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
        target = state.messages.get(message_id)
        if target is None:
            raise AssertionError(f"message {message_id} does not exist in chat {state.id}")
        snapshot = clone(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _user_message(
        self,
        state: ChatState,
        user: TelegramUser,
        fields: JSONDict,
        reply_to: BotMessage | UserMessage | int | None,
    ) -> UserMessage:
        message_id = state.allocate_message_id()
        raw: JSONDict = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": state.to_dict(),
            "date": unix_now(),
        }
        replied = self._reply_snapshot(state, reply_to)
        if replied is not None:
            raw["reply_to_message"] = replied
        raw.update(clone(fields))
        state.messages[message_id] = raw
        update_id = self._enqueue("message", clone(raw)) if self._visible(state, raw) else None
        return UserMessage(message_id=message_id, raw=raw, update_id=update_id)

    def _visible(self, state: ChatState, raw: JSONDict) -> bool:
        """Whether privacy mode lets the bot see a group message."""
        if state.type == "private" or not self.privacy_mode or state.bot_is_admin:
            return True
        replied = raw.get("reply_to_message") or {}
        if replied.get("from", {}).get("id") == self.bot_user.id:
            return True
        text = raw.get("text") or ""
        for entity in raw.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                _, _, addressee = utf16_slice(text, 0, entity["length"]).partition("@")
                username = (self.bot_user.username or "").lower()
                return not addressee or addressee.lower() == username
        return False

    def _edit_user_message(self, state: ChatState, message: UserMessage, text: str) -> int:
        raw = state.messages.get(message.message_id)
        if raw is None or "text" not in raw:
            raise AssertionError(f"message {message.message_id} has no text to edit")
        raw["text"] = text
        raw["edit_date"] = unix_now()
        entities = detect_entities(text)
        if entities:
            raw["entities"] = entities
        else:
            raw.pop("entities", None)
        return self._enqueue("edited_message", clone(raw))

    def _callback_query(
        self, state: ChatState, user: TelegramUser, message_id: int, data: str
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
            "message": clone(message),
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
