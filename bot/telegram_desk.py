"""The desk side of the Telegram channel: agents' commands and replies in the desk chats,
pressed ticket and incident buttons, and the cards kept as the tickets and incidents are.

The channel (bot/telegram_app.py) hands it the updates that are for the desk; it answers
them directly (a desk command's answer is not a customer reply, so not through the outbox).
"""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    User,
)
from telegram.error import BadRequest
from telegram.ext import Application

from bot.clock import Clock
from bot.telegram_send import buttons_markup, split_text
from bot.telegram_wire import Press
from escalation.routing import Actor, agent_actor
from escalation.tickets.changes import update_key as desk_update_key
from handlers import texts
from handlers.core import Core
from handlers.desk import COMMANDS as DESK_COMMANDS
from handlers.desk import DeskFlow, DeskReply

log = logging.getLogger(__name__)


def _markup(result: DeskReply) -> InlineKeyboardMarkup | ForceReply | None:
    """The answer's buttons; or, when it asks what happened, a reply box to answer in."""
    if result.ask_reply:
        return ForceReply(selective=True, input_field_placeholder=texts.TG_DETAIL_PLACEHOLDER)
    return buttons_markup(result.buttons)


class DeskSide:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        core: Core,
        flow: DeskFlow,
        clock: Clock,
    ) -> None:
        self.app = app
        self.core = core
        self.desk = core.desk
        self.flow = flow
        self.clock = clock

    async def press(self, query: CallbackQuery, user: User, press: Press, key: str) -> None:
        """A pressed ticket or incident button: do it, and answer the press."""
        actor = await self._actor(user)
        token = desk_update_key.set(key)
        on_press = self.flow.press if press.on == "ticket" else self.flow.incident_press
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
        if result.say and isinstance(query.message, Message):
            await query.answer(result.text[:190], show_alert=actor is None or result.private)
            await self._say(query.message, result)
        else:
            await self._answer_press(query, press.reference, result, refused=actor is None)

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

    def _to_bot(self, msg: Message) -> bool:
        replied = msg.reply_to_message
        return bool(
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == self.app.bot.id
        )

    async def declaring(self, msg: Message, user: User) -> bool:
        """Whether a message outside the desk chats answers a declaration's question."""
        if not self._to_bot(msg) or not msg.text:
            return False
        actor = await self._actor(user)
        return await self.flow.awaits_declaration(actor, msg.chat_id, self.clock.now())

    async def _actor(self, user: User) -> Actor | None:
        agent = await self.desk.agents.by_telegram(user.id)
        return agent_actor(agent.telegram_user_id, agent.name, agent.role) if agent else None

    async def on_message(self, msg: Message, user: User, word: str) -> None:
        """Desk commands anywhere, and replies to ticket messages in the desk chats."""
        text = msg.text or ""
        now = self.clock.now()
        about = None
        replied = msg.reply_to_message
        if replied is not None and self._to_bot(msg):
            about = await self.desk.views.ticket_for_message(msg.chat_id, replied.message_id)
            if about is None:
                about = await self.core.incidents.incident_for_message(
                    msg.chat_id, replied.message_id
                )
        who = f"telegram:{user.id}"
        if word in DESK_COMMANDS:
            actor = await self._actor(user)
            result = await self.flow.command(
                actor, who, text, now, about=about, chat_id=msg.chat_id
            )
        elif about is None and self._to_bot(msg) and text.strip():
            # An answer to a declaration's question (what happened), or talk to ignore.
            answer = await self.flow.declaration_detail(
                await self._actor(user), msg.chat_id, text, now
            )
            if answer is None:
                return
            result = answer
        elif about is not None and about.startswith("I") and text.strip():
            # A reply to an incident card: a progress update on its timeline.
            actor = await self._actor(user)
            result = await self.flow.command(actor, who, f"/update {about} {text}", now)
        elif about is not None and text.strip():
            actor = await self._actor(user)
            result = await self.flow.relay(actor, who, about, text, now)
        elif word in ("/help", "/start"):
            result = DeskReply(texts.DESK_USAGE)
        else:
            return  # people talking among themselves in the desk chat
        await self.app.bot.send_message(
            msg.chat_id,
            split_text(result.text)[0],
            reply_markup=_markup(result),
            reply_parameters=ReplyParameters(msg.message_id, allow_sending_without_reply=True),
        )

    async def _say(self, message: Message, result: DeskReply) -> None:
        """A press answered in the chat: the question's buttons go, the answer follows."""
        with contextlib.suppress(BadRequest):  # already removed, or the message is too old
            await message.edit_reply_markup(reply_markup=None)
        await self.app.bot.send_message(
            message.chat_id,
            split_text(result.text)[0],
            reply_markup=_markup(result),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
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
