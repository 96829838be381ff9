"""Telegram's wire format for what the service means: buttons as callback data, and a
sender as the chat that reaches them. The one place that makes and reads these strings.

Callback data (at most 64 bytes):

- ``c0:MESSAGE``, ``c1:MESSAGE``, ... a choice under the stored reply MESSAGE (its id in
  `message`), by its place there: the core reads the press by what that button was for,
  however many answers came since;
- ``c0``, ``c1``, ... a choice of a message that is not a stored reply (the press is
  answered with the button's label, read back from the message's keyboard);
- ``d:ACTION:REF`` and ``d:kb:REF:ENTRY`` a desk action on a ticket, and
  ``d:ACTION:REF:CHOICE`` one of the choices a pressed action offered (``d:close:REF:refund``,
  one of `notices.CLOSE_RESULTS`, or ``cancel``);
- ``i:ACTION:REF`` an incident action.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.outbox import Button

_PREFIX = {"ticket": "d", "incident": "i"}
_ON = {prefix: on for on, prefix in _PREFIX.items()}


@dataclass(frozen=True, slots=True)
class Press:
    """A pressed action button: what it does, to which ticket or incident."""

    on: str  # "ticket" | "incident"
    action: str  # "" when the data had too many parts: a button we never made
    reference: str
    arg: str | None = None


@dataclass(frozen=True, slots=True)
class ChoicePress:
    """A pressed choice: its place on the keyboard, and the stored reply it is under."""

    index: int
    reply_id: int | None  # None: a message that is not a stored reply (or an old button)


def callback_data(button: Button, position: int) -> str:
    """Return the callback data of a button at a place on its keyboard."""
    if button.data is not None:
        return button.data
    if button.action is None and button.on == "reply" and button.reference:
        return f"c{position}:{button.reference}"
    if button.action is None or button.on not in _PREFIX:
        return f"c{position}"
    parts = [_PREFIX[button.on], button.action, button.reference or ""]
    if button.arg is not None:
        parts.append(button.arg)
    return ":".join(parts)


def parse_callback(data: str) -> Press | None:
    """Return the action a press asks for, or None for a choice (or data not ours)."""
    head, _, rest = data.partition(":")
    on = _ON.get(head)
    if on is None:
        return None
    parts = rest.split(":")
    if not rest or len(parts) > 3:
        return Press(on, "", "")
    action, reference, arg = (*parts, None, None)[:3]
    return Press(on, action or "", reference or "", arg)


def parse_choice(data: str) -> ChoicePress | None:
    """Return the choice a press is, or None for data that is not a choice's."""
    head, colon, reply = data.partition(":")
    if not head.startswith("c") or not head[1:].isdigit() or len(head) > 4:
        return None
    if not colon:
        return ChoicePress(int(head[1:]), None)
    if not reply.isdigit() or len(reply) > 18:
        return None
    return ChoicePress(int(head[1:]), int(reply))


def private_chat(of: str) -> int | None:
    """Return the chat that reaches a sender privately: a Telegram user's private chat
    with the bot has the user's id. None for a sender on another channel."""
    channel, _, user = of.partition(":")
    if channel != "telegram" or not user.isdigit():
        return None
    return int(user)
