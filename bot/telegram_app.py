"""The Telegram channel: python-telegram-bot's Application, turned into our Incoming/Reply.

Updates are confirmed to Telegram (the getUpdates offset) only after they have been
stored and answered, and every update id is stored with its message: a crash or a
restart redelivers, and a redelivered update gets its unsent replies, never a second answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence

from aiohttp import web
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.clock import utc_now
from bot.config import Settings
from bot.monitoring import report
from handlers import texts
from handlers.core import Core, Delivery
from handlers.types import TEXT, Incoming

log = logging.getLogger(__name__)

# Telegram rejects messages over 4096 characters; cut at paragraph breaks below that, so
# an answer never stops mid-sentence.
MAX_CHUNK = 4000
POLL_TIMEOUT = 10
COMMANDS = (
    BotCommand("start", "开始 / 选择身份"),
    BotCommand("role", "切换身份（消费者 / 商户）"),
    BotCommand("help", "帮助"),
    BotCommand("human", "转人工客服"),
)


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


def keyboard_for(choices: Sequence[str]) -> InlineKeyboardMarkup | None:
    """One button a row (choices are often whole questions); data is the choice's index."""
    if not choices:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c[:60], callback_data=f"c{i}")] for i, c in enumerate(choices)]
    )


def _kind_of(msg: Message) -> str:
    if msg.text is not None:
        return TEXT
    for kind in ("sticker", "photo", "voice", "video", "document", "location"):
        if getattr(msg, kind, None):
            return kind
    return "other"


def _pressed_text(query: CallbackQuery) -> str | None:
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    if markup is None or not query.data:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None


class TelegramChannel:
    def __init__(self, settings: Settings, core: Core) -> None:
        assert settings.telegram_token is not None
        self.settings = settings
        self.core = core
        builder = ApplicationBuilder().token(settings.telegram_token.get_secret_value())
        if settings.telegram_base_url:
            builder = builder.base_url(settings.telegram_base_url)
        self.app: Application = builder.updater(None).build()  # type: ignore[type-arg]
        self.app.add_handler(CallbackQueryHandler(self._on_callback))
        self.app.add_handler(MessageHandler(filters.ALL, self._on_message))
        self.app.add_error_handler(self._on_error)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.webhook_secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(24)
        )

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        await self.app.initialize()
        await self.app.bot.set_my_commands(COMMANDS)
        if self.settings.webhook_url:
            await self.app.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=["message", "callback_query"],
            )
            log.info("telegram: webhook mode at %s", self.settings.webhook_url)
        else:
            await self.app.bot.delete_webhook()
            self._task = asyncio.create_task(self._poll(), name="telegram-poll")
            log.info("telegram: polling")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.app.shutdown()

    async def _poll(self) -> None:
        offset: int | None = None
        while not self._stop.is_set():
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    allowed_updates=["message", "callback_query"],
                )
            except RetryAfter as exc:
                await asyncio.sleep(float(str(exc.retry_after)) if exc.retry_after else 1.0)
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("telegram: polling failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            if not updates:
                continue
            # Different users in parallel; one user's messages keep their order (the core
            # locks per user, and tasks take the lock in the order they were created).
            await asyncio.gather(*(self.app.process_update(u) for u in updates))
            # Only now, with every update stored and answered, is the batch confirmed.
            offset = updates[-1].update_id + 1

    async def webhook(self, request: web.Request) -> web.Response:
        """aiohttp route for webhook mode; Telegram retries until we answer 200."""
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.webhook_secret:
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        update = Update.de_json(data, self.app.bot)
        if update is None:
            return web.json_response({"error": "not an update"}, status=400)
        await self.app.process_update(update)
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ handlers
    async def _on_message(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        msg, user = update.effective_message, update.effective_user
        if msg is None or user is None:
            return
        incoming = Incoming(
            channel="telegram",
            sender=f"telegram:{user.id}",
            text=msg.text or msg.caption or "",
            received_at=utc_now(),
            kind=_kind_of(msg),
            external_id=str(update.update_id),
        )
        await self._deliver(msg.chat_id, await self.core.handle(incoming))

    async def _on_callback(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        text = _pressed_text(query)
        if text is None or not isinstance(query.message, Message):
            await query.answer("这个按钮已失效，请直接输入您的问题。")
            return
        await query.answer()
        with contextlib.suppress(BadRequest):  # already removed, or the message is too old
            await query.message.edit_reply_markup(reply_markup=None)
        incoming = Incoming(
            channel="telegram",
            sender=f"telegram:{user.id}",
            text=text,
            received_at=utc_now(),
            external_id=str(update.update_id),
        )
        await self._deliver(query.message.chat_id, await self.core.handle(incoming))

    async def _deliver(self, chat_id: int, delivery: Delivery) -> None:
        for reply in delivery.replies:
            chunks = split_text(reply.text)
            for i, chunk in enumerate(chunks):
                markup = keyboard_for(reply.choices) if i == len(chunks) - 1 else None
                await self.app.bot.send_message(chat_id, chunk, reply_markup=markup)
        await self.core.delivered(delivery)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is None:
            return
        code = report(context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(Exception):
                await self.app.bot.send_message(
                    update.effective_chat.id, texts.ERROR.format(code=code)
                )
