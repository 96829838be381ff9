"""What agents can do to a ticket, as data: one row per action, read by every channel.

A channel turns its own input (a chat command, a pressed button, a console route) into an
action name, a reference and perhaps a text, and calls `perform`; the row says who may,
whether it takes a text, which desk method does it, and what the agent reads after.

An action with `choices` (关闭: the usual results, `notices.CLOSE_RESULTS`) is not run by
a bare button: the channel offers the choices with the row's `ask`, and only a chosen one
(or a command with a text) runs it, with the choice's text.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from escalation.agents import AGENT_ROLES
from escalation.routing import Actor
from escalation.tickets import notices
from escalation.tickets.changes import DeskError, Forbidden
from escalation.tickets.desk import Desk
from escalation.tickets.views import TicketRow


class UnknownAction(DeskError):
    """No desk action has this name."""


class TextNeed(enum.Enum):
    NONE = "none"  # any text given is ignored
    OPTIONAL = "optional"  # an empty text is no text
    REQUIRED = "required"  # the desk refuses an empty one, saying what to write


# The desk method behind an action: (desk, reference, actor, text, at) -> the ticket's row
# after the change, or what a look found (the phone number).
Run = Callable[[Desk, str, Actor, str | None, datetime], Awaitable[TicketRow | str]]


@dataclass(frozen=True, slots=True)
class DeskAction:
    name: str
    roles: frozenset[str]  # who may
    text: TextNeed
    run: Run
    done: notices.Confirmation
    private: bool = False  # a look, for the actor's eyes only; the ticket is unchanged
    # The usual texts, offered as buttons: pressed without one, the action does nothing
    # but ask (`ask`, formatted with ref) and offer them; a choice runs it with its text.
    choices: tuple[notices.Choice, ...] = ()
    ask: str | None = None

    def choice(self, key: str) -> notices.Choice | None:
        """Return the offered choice with this key, or None (a button we never made)."""
        return next((c for c in self.choices if c.key == key), None)


@dataclass(frozen=True, slots=True)
class Outcome:
    action: DeskAction
    reference: str
    row: TicketRow | None  # the ticket after the change; None after a look
    value: str | None = None  # what a look found

    def _format(self, text: str) -> str:
        priority = self.row.priority if self.row is not None else ""
        return text.format(ref=self.reference, priority=priority, value=self.value)

    @property
    def message(self) -> str:
        """What the agent reads, as a chat message."""
        return self._format(self.action.done.message)

    @property
    def pop_up(self) -> str:
        """What the agent reads, as the short answer to a pressed button."""
        return self._format(self.action.done.pop_up)


_AGENTS = frozenset(AGENT_ROLES)

ACTIONS: Mapping[str, DeskAction] = {
    a.name: a
    for a in (
        DeskAction(
            "claim",
            _AGENTS,
            TextNeed.NONE,
            lambda desk, ref, actor, _text, at: desk.claim(ref, actor, at),
            notices.CLAIMED,
        ),
        DeskAction(
            "reply",
            _AGENTS,
            TextNeed.REQUIRED,
            lambda desk, ref, actor, text, at: desk.reply(ref, actor, text or "", at),
            notices.REPLIED,
        ),
        DeskAction(
            "note",
            _AGENTS,
            TextNeed.REQUIRED,
            lambda desk, ref, actor, text, at: desk.note(ref, actor, text or "", at),
            notices.NOTED,
        ),
        DeskAction(
            "pending",
            _AGENTS,
            TextNeed.OPTIONAL,
            lambda desk, ref, actor, text, at: desk.pending(ref, actor, text, at),
            notices.WAITING,
        ),
        DeskAction(
            "close",
            _AGENTS,
            TextNeed.REQUIRED,
            lambda desk, ref, actor, text, at: desk.close(ref, actor, text or "", at),
            notices.CLOSED,
            choices=notices.CLOSE_RESULTS,
            ask=notices.CLOSE_ASK,
        ),
        DeskAction(
            "reopen",
            _AGENTS,
            TextNeed.NONE,
            lambda desk, ref, actor, _text, at: desk.reopen(ref, actor, at),
            notices.REOPENED,
        ),
        DeskAction(
            "escalate",
            _AGENTS,
            TextNeed.NONE,
            lambda desk, ref, actor, _text, at: desk.escalate(ref, actor, at),
            notices.ESCALATED_DONE,
        ),
        DeskAction(
            "phone",  # the call-back number in full, for the assignee; audited
            _AGENTS,
            TextNeed.NONE,
            lambda desk, ref, actor, _text, at: desk.reveal_phone(ref, actor, at),
            notices.PHONE_SHOWN,
            private=True,
        ),
    )
}


def _text_for(action: DeskAction, text: str | None) -> str | None:
    if action.text is TextNeed.NONE:
        return None
    if action.text is TextNeed.OPTIONAL:
        return text or None
    return text or ""


async def perform(
    desk: Desk,
    name: str,
    reference: str,
    actor: Actor,
    at: datetime,
    text: str | None = None,
) -> Outcome:
    """Do one desk action; raise DeskError (with what to do instead) when it cannot be."""
    action = ACTIONS.get(name)
    if action is None:
        raise UnknownAction(notices.NO_SUCH_ACTION.format(action=name[:40]))
    if actor.role not in action.roles:
        raise Forbidden(notices.ROLE_MAY_NOT.format(action=name))
    result = await action.run(desk, reference, actor, _text_for(action, text), at)
    if isinstance(result, str):
        return Outcome(action, reference.upper(), None, result)
    return Outcome(action, result.reference, result)
