"""Sending one outbox item to Telegram: long texts split below Telegram's limit, buttons as
an inline keyboard, a digest's chart or file, or a customer's file, as an attachment."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.telegram_wire import callback_data
from storage.outbox import Button, OutboxItem, SendFailed

# Telegram rejects messages over 4096 characters; cut at paragraph breaks below that, so
# an answer never stops mid-sentence.
MAX_CHUNK = 4000


def split_text(text: str, limit: int = MAX_CHUNK) -> list[str]:
    """Split a long reply at paragraph, then line, then hard breaks, each part <= limit."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("。", 0, limit) + 1
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        parts.append(rest)
    return parts


def buttons_markup(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button a row, each with its callback data (bot/telegram_wire.py)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label[:60], callback_data=callback_data(b, i))]
            for i, b in enumerate(buttons)
        ]
    )


class TelegramSender:
    """The outbox's Sender for Telegram: an item as one or more messages of the bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, item: OutboxItem) -> int | None:
        try:
            first = await send_item(self.bot, item)
        except (Forbidden, BadRequest) as exc:  # blocked, or a message Telegram refuses
            raise SendFailed(str(exc), permanent=True) from exc
        except (RetryAfter, TimedOut, NetworkError) as exc:
            raise SendFailed(str(exc), permanent=False) from exc
        return first.message_id if first else None


async def send_item(bot: Bot, item: OutboxItem) -> Message | None:
    """Send one outbox item, split into chunks; return the first message Telegram accepted."""
    chunks = split_text(item.text)
    first: Message | None = None
    if item.has_attachment:
        first = await _send_attachment(bot, item)
        chunks = []
    for i, chunk in enumerate(chunks):
        sent = await bot.send_message(
            item.chat_id,
            chunk,
            reply_markup=buttons_markup(item.buttons) if i == len(chunks) - 1 else None,
            reply_parameters=_reply_to(item) if i == 0 else None,
        )
        first = first or sent
    return first


def _reply_to(item: OutboxItem) -> ReplyParameters | None:
    if not item.reply_to:
        return None
    return ReplyParameters(item.reply_to, allow_sending_without_reply=True)


async def _send_attachment(bot: Bot, item: OutboxItem) -> Message:
    """Send a digest's chart or file, or a customer's photo, file or voice note, its text
    as the caption: by the file's id where Telegram holds it, else as an upload."""
    # Telegram caps captions at 1024 characters; the digest's own text goes separately.
    caption = item.text[:1000] or None
    media: str | InputFile
    if item.attachment_ref is not None:
        media = item.attachment_ref
    else:
        assert item.attachment is not None
        media = InputFile(item.attachment, filename=item.attachment_name)
    reply = _reply_to(item)
    sent: Message
    if item.attachment_kind == "photo":
        sent = await bot.send_photo(item.chat_id, media, caption=caption, reply_parameters=reply)
    elif item.attachment_kind == "voice":
        sent = await bot.send_voice(item.chat_id, media, caption=caption, reply_parameters=reply)
    else:
        sent = await bot.send_document(
            item.chat_id, media, caption=caption, reply_parameters=reply
        )
    return sent
