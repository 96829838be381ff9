"""A customer's photo, file or voice note on Telegram: what the message says of it, and how
to fetch its bytes (getFile, then the file's download URL) when a ticket keeps it."""

from __future__ import annotations

from telegram import Bot, Message
from telegram.error import BadRequest, TelegramError

from escalation.tickets.files import Fetch, FetchFailed, FileTooBig, NewFile

PHOTO_MIME = "image/jpeg"  # Telegram re-encodes every photo it is sent as JPEG


def attachment_of(msg: Message, bot: Bot) -> NewFile | None:
    """Return the photo, document or voice note of a message, not yet downloaded."""
    if msg.photo:
        best = msg.photo[-1]  # the sizes come smallest first
        return NewFile(
            "photo", None, PHOTO_MIME, best.file_size, _fetcher(bot, best.file_id), best.file_id
        )
    if msg.document is not None:
        d = msg.document
        return NewFile(
            "document", d.file_name, d.mime_type, d.file_size, _fetcher(bot, d.file_id), d.file_id
        )
    if msg.voice is not None:
        v = msg.voice
        return NewFile(
            "voice", None, v.mime_type, v.file_size, _fetcher(bot, v.file_id), v.file_id
        )
    return None


def _fetcher(bot: Bot, file_id: str) -> Fetch:
    async def fetch(max_bytes: int) -> bytes:
        try:
            found = await bot.get_file(file_id)
        except BadRequest as exc:
            # Bots may download files of up to 20 MB; getFile refuses larger ones.
            if "too big" in str(exc).lower():
                raise FileTooBig(None) from exc
            raise FetchFailed(str(exc)) from exc
        except TelegramError as exc:
            raise FetchFailed(str(exc)) from exc
        if found.file_size is not None and found.file_size > max_bytes:
            raise FileTooBig(found.file_size)
        try:
            return bytes(await found.download_as_bytearray())
        except TelegramError as exc:
            raise FetchFailed(str(exc)) from exc

    return fetch
