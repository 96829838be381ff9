"""The Telegram channel: python-telegram-bot's Application, turned into our Incoming/Reply.

Updates are confirmed to Telegram (the getUpdates offset) only after they have been
stored and answered, and every update id is stored with its message: a crash or a
restart redelivers, and a redelivered update gets its unsent replies, never a second answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import Awaitable
from datetime import datetime

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    Message,
    ReplyParameters,
    Update,
    User,
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

from bot import http_input
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.monitoring import report
from bot.telegram_files import attachment_of
from bot.telegram_send import TelegramSender, buttons_markup, split_text
from bot.telegram_wire import parse_callback, parse_choice
from escalation.routing import Actor, agent_actor
from escalation.tickets.changes import update_key as desk_update_key
from handlers import texts
from handlers.core import Core
from handlers.desk import COMMANDS as DESK_COMMANDS
from handlers.desk import DeskFlow, DeskReply
from handlers.types import TEXT, Incoming, Press
from storage.retry import DatabaseUnavailable

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10
MAX_UPDATE_BYTES = 1024 * 1024  # Telegram's updates are far smaller
COMMANDS = (
    BotCommand("start", texts.TG_COMMAND_START),
    BotCommand("role", texts.TG_COMMAND_ROLE),
    BotCommand("help", texts.TG_COMMAND_HELP),
    BotCommand("human", texts.TG_COMMAND_HUMAN),
)


def _command_word(text: str) -> str:
    return text.split()[0].split("@")[0].lower() if text.startswith("/") else ""


def _parse_update(data: object, bot: Bot) -> Update | None:
    """An Update from a webhook body, or None when the body is not one (PTB raises
    TypeError, KeyError or ValueError on a malformed update)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, bot)
    except (TypeError, KeyError, ValueError, AttributeError, IndexError):
        return None


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
    def __init__(self, settings: Settings, core: Core, clock: Clock = SYSTEM_CLOCK) -> None:
        assert settings.telegram_token is not None
        self.settings = settings
        self.core = core
        # Our time, not Telegram's `date`: when a message was received, what is due.
        self.clock = clock
        builder = ApplicationBuilder().token(settings.telegram_token.get_secret_value())
        if settings.telegram_base_url:
            builder = builder.base_url(settings.telegram_base_url)
        if settings.file_url:
            builder = builder.base_file_url(settings.file_url)
        self.app: Application = builder.updater(None).build()  # type: ignore[type-arg]
        self.app.add_handler(CallbackQueryHandler(self._on_callback))
        self.app.add_handler(MessageHandler(filters.ALL, self._on_message))
        self.app.add_error_handler(self._on_error)
        self.desk = core.desk
        self.desk_flow = DeskFlow(core.desk, core.engine, core.incidents)
        self.desk_chats = {
            c
            for c in (
                settings.agent_chat_id,
                settings.supervisor_chat_id,
                settings.leadership_chat_id,
            )
            if c is not None
        }
        self.bureau_chat = settings.bureau_chat_id
        core.desk.changes.listeners.append(self.refresh_card)
        core.incidents.listeners.append(self.refresh_incident_cards)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        # One sender per process: outbox rows go out one at a time, each marked sent as
        # soon as Telegram accepted it, so a crash repeats at most the one in flight.
        self._sending = asyncio.Lock()
        self._wake = asyncio.Event()
        # Updates whose handling found the database away: not confirmed, redelivered.
        self._unstored: set[int] = set()
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
        self._sender = asyncio.create_task(self._send_loop(), name="telegram-send")

    async def stop(self) -> None:
        self._stop.set()
        for task in (self._task, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.app.shutdown()

    def kick(self) -> None:
        """Tell the sender that replies wait in the outbox."""
        self._wake.set()

    async def _send_loop(self) -> None:
        """Send queued replies as soon as they are recorded (the scheduler's outbox job
        also calls dispatch_outbox, for messages held until later)."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            try:
                while await self.dispatch_outbox() and not self._stop.is_set():
                    pass
            except DatabaseUnavailable:
                log.warning("telegram: database unavailable; queued replies wait")
                await asyncio.sleep(1.0)
            except Exception as exc:  # the loop must outlive one bad send
                report(exc)
                await asyncio.sleep(1.0)

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
            # Handling stores each message with its replies queued in the outbox; the
            # sender sends them, so confirming does not wait for Telegram's answers.
            await asyncio.gather(*(self.app.process_update(u) for u in updates))
            failed = sorted(self._unstored & {u.update_id for u in updates})
            self._unstored.clear()
            if failed:
                # Confirm only what came before the first update that could not be
                # stored; the rest is redelivered (those stored are recognised then).
                offset = failed[0]
                log.warning(
                    "telegram: %d update(s) not stored (database away); asking again",
                    len(failed),
                )
                await asyncio.sleep(1.0)
            else:
                offset = updates[-1].update_id + 1
            self.kick()

    async def webhook(self, request: web.Request) -> web.Response:
        """aiohttp route for webhook mode; Telegram retries until we answer 200."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await http_input.read_json(request, max_bytes=MAX_UPDATE_BYTES)
        except http_input.BadRequest as exc:
            log.warning("telegram: refused a webhook body: %s", exc.message)
            return web.json_response({"error": exc.message}, status=exc.status)
        update = _parse_update(data, self.app.bot)
        if update is None:
            log.warning("telegram: refused a webhook body that is not an update")
            return web.json_response({"error": "not a Telegram update"}, status=400)
        await self.app.process_update(update)
        if update.update_id in self._unstored:
            self._unstored.discard(update.update_id)
            # Telegram sends the update again later; nothing of it was kept.
            return web.json_response({"error": "database unavailable; retry"}, status=503)
        self.kick()
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ handlers
    async def _on_message(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        await self._unless_database_away(update, self._message(update))

    async def _on_callback(self, update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        await self._unless_database_away(update, self._callback(update))

    async def _unless_database_away(self, update: Update, handling: Awaitable[None]) -> None:
        """Handle an update; one that found the database away is left unconfirmed."""
        try:
            await handling
        except DatabaseUnavailable:
            log.warning("telegram: update %s not stored (database away)", update.update_id)
            self._unstored.add(update.update_id)

    async def _message(self, update: Update) -> None:
        msg, user = update.effective_message, update.effective_user
        if msg is None or user is None:
            return
        word = _command_word(msg.text or "")
        if msg.chat_id == self.bureau_chat:
            return  # the bureau's chat receives reports; nothing there is for the bot
        if word in DESK_COMMANDS or msg.chat_id in self.desk_chats:
            token = desk_update_key.set(f"telegram:{update.update_id}")
            try:
                await self._on_desk_message(msg, user, word)
            finally:
                desk_update_key.reset(token)
            return
        incoming = Incoming(
            channel="telegram",
            sender=f"telegram:{user.id}",
            text=msg.text or msg.caption or "",
            received_at=self.clock.now(),
            kind=_kind_of(msg),
            external_id=str(update.update_id),
            reply_chat=msg.chat_id,
            attachment=attachment_of(msg, self.app.bot),
        )
        # Stored with its replies queued in the outbox, in one transaction; the sender
        # sends them from there (a redelivered update finds them queued already).
        await self.core.handle(incoming)
        self.kick()

    async def _callback(self, update: Update) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        press = parse_callback(query.data) if query.data else None
        if press is not None:
            actor = await self._actor(user)
            token = desk_update_key.set(f"telegram:{update.update_id}")
            on_press = (
                self.desk_flow.press if press.on == "ticket" else self.desk_flow.incident_press
            )
            try:
                result = await on_press(
                    actor,
                    f"telegram:{user.id}",
                    press.action,
                    press.reference,
                    press.arg,
                    self.clock.now(),
                )
            finally:
                desk_update_key.reset(token)
            await self._answer_press(query, press.reference, result, refused=actor is None)
            return
        text = _pressed_text(query)
        choice = parse_choice(query.data or "")
        reply_id = choice.reply_id if choice is not None else None
        if (text is None and reply_id is None) or not isinstance(query.message, Message):
            await query.answer(texts.TG_BUTTON_GONE)
            return
        await query.answer()
        with contextlib.suppress(BadRequest):  # already removed, or the message is too old
            await query.message.edit_reply_markup(reply_markup=None)
        incoming = Incoming(
            channel="telegram",
            sender=f"telegram:{user.id}",
            text=text or "",  # the label, for the record; the core reads the stored one
            received_at=self.clock.now(),
            external_id=str(update.update_id),
            reply_chat=query.message.chat_id,
            press=Press(reply_id, choice.index) if choice and reply_id is not None else None,
        )
        await self.core.handle(incoming)
        self.kick()

    # ------------------------------------------------------------------ the desk
    async def _answer_press(
        self, query: CallbackQuery, reference: str, result: DeskReply, *, refused: bool
    ) -> None:
        """Answer a pressed desk button: a pop-up, choices offered as a reply to the
        pressed message (关闭's usual results), or the offer's message settled."""
        message = query.message if isinstance(query.message, Message) else None
        if result.buttons and message is not None:
            await query.answer(texts.DESK_CHOICE_ASKED)
            await self.app.bot.send_message(
                message.chat_id,
                split_text(result.text)[0],
                reply_markup=buttons_markup(result.buttons),
                reply_parameters=ReplyParameters(
                    message.message_id, allow_sending_without_reply=True
                ),
            )
            return
        await query.answer(result.text[:190], show_alert=refused or result.private)
        if result.settled is None or message is None:
            return
        card = await self.desk.views.card(reference, self.clock.now())
        if card is not None and (card.chat_id, card.message_id) == (
            message.chat_id,
            message.message_id,
        ):
            return  # a choice's data pressed on the card itself: the card stays a card
        with contextlib.suppress(BadRequest):  # already settled, or the message is too old
            await message.edit_text(split_text(result.settled)[0], reply_markup=None)

    async def _actor(self, user: User) -> Actor | None:
        agent = await self.desk.agents.by_telegram(user.id)
        return agent_actor(agent.telegram_user_id, agent.name, agent.role) if agent else None

    async def _on_desk_message(self, msg: Message, user: User, word: str) -> None:
        """Desk commands anywhere, and replies to ticket messages in the desk chats."""
        text = msg.text or ""
        now = self.clock.now()
        about = None
        replied = msg.reply_to_message
        if (
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == self.app.bot.id
        ):
            about = await self.desk.views.ticket_for_message(msg.chat_id, replied.message_id)
            if about is None:
                about = await self.core.incidents.incident_for_message(
                    msg.chat_id, replied.message_id
                )
        who = f"telegram:{user.id}"
        if word in DESK_COMMANDS:
            actor = await self._actor(user)
            result = await self.desk_flow.command(actor, who, text, now, about=about)
        elif about is not None and about.startswith("I") and text.strip():
            # A reply to an incident card: a progress update on its timeline.
            actor = await self._actor(user)
            result = await self.desk_flow.command(actor, who, f"/update {about} {text}", now)
        elif about is not None and text.strip():
            actor = await self._actor(user)
            result = await self.desk_flow.relay(actor, who, about, text, now)
        elif word in ("/help", "/start"):
            result = DeskReply(texts.DESK_USAGE)
        else:
            return  # people talking among themselves in the desk chat
        await self.app.bot.send_message(
            msg.chat_id,
            split_text(result.text)[0],
            reply_markup=buttons_markup(result.buttons),
            reply_parameters=ReplyParameters(msg.message_id, allow_sending_without_reply=True),
        )

    async def refresh_card(self, reference: str) -> None:
        """Edit a ticket's card to show it as it is now."""
        card = await self.desk.views.card(reference, self.clock.now())
        if card is None:
            return
        try:
            await self.app.bot.edit_message_text(
                card.text,
                chat_id=card.chat_id,
                message_id=card.message_id,
                reply_markup=buttons_markup(card.buttons),
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("telegram: could not edit the card of %s: %s", reference, exc)

    async def refresh_incident_cards(self, reference: str) -> None:
        """Edit every card of an incident; a resolved one loses its buttons."""
        for chat_id, message_id, text, buttons in await self.core.incidents.cards(reference):
            try:
                await self.app.bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=buttons_markup(buttons),
                )
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    log.warning("telegram: could not edit a card of %s: %s", reference, exc)

    async def dispatch_outbox(self, now: datetime | None = None) -> int:
        """Send what is owed to the chats (the bot's replies, cards, SLA notices, replies
        to customers, digests) that is due at `now` (by default the channel's clock). One
        dispatch at a time per process, one message at a time, each marked sent as soon as
        Telegram accepted it."""
        async with self._sending:
            return await self._dispatch(now or self.clock.now())

    async def _dispatch(self, now: datetime) -> int:
        return await self.desk.outbox.deliver(TelegramSender(self.app.bot), now, self.clock.now)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is None:
            return
        code = report(context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(Exception):
                await self.app.bot.send_message(
                    update.effective_chat.id, texts.ERROR.format(code=code)
                )
