"""The bot's messages: send, edit, delete, forward and copy them, chat actions, and
answers to button presses."""

from __future__ import annotations

import asyncio
from typing import Final

from tests.support.botapi.errors import ApiError, JSONDict, bad_request
from tests.support.botapi.models import BotMessage, ChatState, clone, unix_now
from tests.support.botapi.params import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    Params,
    UploadedFile,
    formatted_text,
    reply_markups,
)
from tests.support.botapi.state import EmulatorState

MAX_CALLBACK_ANSWER_LENGTH: Final = 200
# How long a callback query can be answered; the real server uses roughly this window.
CALLBACK_ANSWER_WINDOW: Final = 15.0

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


class MessageMethods(EmulatorState):
    """The message methods, mixed into BotApiEmulator (whose state it uses)."""

    def _chat(self, params: Params, name: str = "chat_id") -> ChatState:
        value = params.get(name)
        if value in (None, ""):
            raise bad_request(f"{name} is empty")
        state: ChatState | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            state = self._chats.get(value)
        elif isinstance(value, str) and value.startswith("@"):
            wanted = value[1:].lower()
            state = next(
                (c for c in self._chats.values() if (c.username or "").lower() == wanted), None
            )
        if state is None:
            raise bad_request("chat not found")
        return state

    @staticmethod
    def _writable(state: ChatState) -> None:
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _reply_target(self, params: Params, state: ChatState) -> JSONDict | None:
        reply_to = params.integer("reply_to_message_id")
        allow_missing = params.flag("allow_sending_without_reply")
        if params.has("reply_parameters"):
            options = params.json("reply_parameters", "can't parse reply parameters JSON object")
            if not isinstance(options, dict) or not isinstance(options.get("message_id"), int):
                raise bad_request("can't parse reply parameters JSON object")
            if options.get("chat_id") not in (None, state.id):
                raise bad_request("cross-chat replies are not supported by the emulator")
            reply_to = options["message_id"]
            allow_missing = bool(options.get("allow_sending_without_reply"))
        if reply_to is None:
            return None
        target = state.messages.get(reply_to)
        if target is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        snapshot = clone(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _post_message(
        self,
        state: ChatState,
        method: str,
        params: Params,
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
            "date": unix_now(),
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

    def _bot_message(self, state: ChatState, message_id: int, *, action: str) -> BotMessage:
        for message in state.bot_messages:
            if message.message_id == message_id and not message.deleted:
                return message
        if action == "edit" and message_id in state.messages:
            raise bad_request("message can't be edited")
        raise bad_request(f"message to {action} not found")

    async def _send_message(self, params: Params) -> JSONDict:
        text, entities = formatted_text(
            params,
            text_field="text",
            entities_field="entities",
            limit=MAX_TEXT_LENGTH,
            required=True,
        )
        inline, keyboard = reply_markups(params)
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
        return clone(message.raw)

    def _edit_target(self, params: Params) -> tuple[ChatState, BotMessage]:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
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
            raise bad_request(
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
        raw["edit_date"] = unix_now()
        return clone(raw)

    async def _edit_message_text(self, params: Params) -> JSONDict:
        text, entities = formatted_text(
            params,
            text_field="text",
            entities_field="entities",
            limit=MAX_TEXT_LENGTH,
            required=True,
        )
        inline, _ = reply_markups(params, inline_only=True)
        _, message = self._edit_target(params)
        if "text" not in message.raw:
            raise bad_request("there is no text in the message to edit")
        result = self._apply_edit(message, {"text": text, "entities": entities or None}, inline)
        assert text is not None
        message.edits.append(text)
        return result

    async def _edit_message_caption(self, params: Params) -> JSONDict:
        caption, entities = formatted_text(
            params,
            text_field="caption",
            entities_field="caption_entities",
            limit=MAX_CAPTION_LENGTH,
            required=False,
        )
        inline, _ = reply_markups(params, inline_only=True)
        _, message = self._edit_target(params)
        if "text" in message.raw:
            raise bad_request("there is no caption in the message to edit")
        changes = {"caption": caption, "caption_entities": entities or None}
        result = self._apply_edit(message, changes, inline)
        message.edits.append(caption or "")
        return result

    async def _edit_message_reply_markup(self, params: Params) -> JSONDict:
        inline, _ = reply_markups(params, inline_only=True)
        _, message = self._edit_target(params)
        return self._apply_edit(message, {}, inline)

    async def _delete_message(self, params: Params) -> bool:
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        state = self._chat(params)
        if message_id not in state.messages:
            raise bad_request("message to delete not found")
        del state.messages[message_id]
        for message in state.bot_messages:
            if message.message_id == message_id:
                message.deleted = True
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        query = self._queries.get(params.text("callback_query_id") or "")
        loop = asyncio.get_running_loop()
        if (
            query is None
            or query.answered
            or query.expired
            or loop.time() - query.created > CALLBACK_ANSWER_WINDOW
        ):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        answer: JSONDict = {"text": text, "show_alert": params.flag("show_alert")}
        if params.has("url"):
            answer["url"] = params.text("url")
        if params.has("cache_time"):
            answer["cache_time"] = params.integer("cache_time")
        query.answer = answer
        return True

    async def _send_chat_action(self, params: Params) -> bool:
        action = params.text("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        state = self._chat(params)
        self._writable(state)
        state.actions.append(action)
        return True

    async def _send_media(self, params: Params, kind: str, method: str) -> JSONDict:
        caption, entities = formatted_text(
            params,
            text_field="caption",
            entities_field="caption_entities",
            limit=MAX_CAPTION_LENGTH,
            required=False,
        )
        inline, keyboard = reply_markups(params)
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
        return clone(message.raw)

    async def _send_photo(self, params: Params) -> JSONDict:
        return await self._send_media(params, "photo", "sendPhoto")

    async def _send_document(self, params: Params) -> JSONDict:
        return await self._send_media(params, "document", "sendDocument")

    async def _send_voice(self, params: Params) -> JSONDict:
        return await self._send_media(params, "voice", "sendVoice")

    def _source_message(self, params: Params, action: str) -> JSONDict:
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        source = self._chat(params, "from_chat_id").messages.get(message_id)
        if source is None:
            raise bad_request(f"message to {action} not found")
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

    async def _forward_message(self, params: Params) -> JSONDict:
        source = self._source_message(params, "forward")
        state = self._chat(params)
        self._writable(state)
        content: JSONDict = clone({k: source[k] for k in self._CONTENT_KEYS if k in source})
        sender = source.get("from") or {}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": dict(sender),
            "date": source["date"],
        }
        message = self._post_message(
            state, "forwardMessage", params, content, inline_markup=None, keyboard_markup=None
        )
        return clone(message.raw)

    async def _copy_message(self, params: Params) -> JSONDict:
        source = self._source_message(params, "copy")
        inline, keyboard = reply_markups(params)
        state = self._chat(params)
        self._writable(state)
        content: JSONDict = clone({k: source[k] for k in self._CONTENT_KEYS if k in source})
        if params.has("caption") and "text" not in content:
            caption, entities = formatted_text(
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
