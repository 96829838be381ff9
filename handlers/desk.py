"""The agents' side of a chat: desk commands and buttons, whatever the channel.

Every entry point takes the agent (None for someone not registered: refused, and the
attempt logged) and returns what to show them. A command or a press becomes a desk
action by name (`escalation.tickets.actions`), as a console route does; the channel has
already turned its own input (callback data, a reply to a card) into these arguments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from escalation.incidents.actions import CARD_ACTIONS as INCIDENT_CARD_ACTIONS
from escalation.incidents.actions import incident_action
from escalation.incidents.records import IncidentError
from escalation.incidents.service import Incidents
from escalation.routing import Actor
from escalation.tickets import notices
from escalation.tickets.actions import ACTIONS, DeskAction, Outcome, perform
from escalation.tickets.changes import AlreadyClosed, DeskError
from escalation.tickets.desk import Desk
from escalation.tickets.rules import parse_reference
from escalation.tickets.views import TicketRow
from handlers import texts
from knowledge.engine import Engine
from knowledge.kb import Audience
from storage.outbox import Button

log = logging.getLogger(__name__)

# The chat commands that are desk actions, by the action's name; the rest only read.
COMMAND_ACTIONS = {
    "/claim": "claim",
    "/note": "note",
    "/pending": "pending",
    "/close": "close",
    "/reopen": "reopen",
}
TICKET_COMMANDS = (*COMMAND_ACTIONS, "/queue", "/mine", "/ticket", "/kb")
# What the buttons of a ticket's card may ask for (a "kb" button sends a KB answer).
CARD_ACTIONS = frozenset(name for _, name in (*notices.CARD_ACTIONS, notices.REVEAL_PHONE_ACTION))
INCIDENT_COMMANDS = ("/incident", "/incidents", "/eta", "/update", "/resolve", "/approve")
# The incident commands that act on one incident, and the action each one is.
INCIDENT_COMMAND_ACTIONS = {
    "/eta": "eta",
    "/update": "note",
    "/resolve": "resolve",
    "/approve": "approve",
}
COMMANDS = TICKET_COMMANDS + INCIDENT_COMMANDS
KB_RESULTS = 5


@dataclass(frozen=True, slots=True)
class DeskReply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    changed: str | None = None  # the reference of a ticket this changed
    private: bool = False  # for the presser's eyes only (a button's pop-up answer)
    # For a press on offered choices: what the message that offered them reads now (its
    # buttons gone, the question answered); None leaves it as it is.
    settled: str | None = None


def _split(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _looks_like_incident(word: str) -> bool:
    return len(word) == 12 and word[0] in "Ii" and word[9] == "-"


def _line(i: int, row: TicketRow, now: datetime) -> str:
    if row.next_due is not None:
        clock = notices.CLOCK_NAMES.get(row.next_clock or "", "")
        timing = f"{clock}{notices.left(row.next_due, now)}"
    else:
        timing = notices.STATE_NAMES.get(row.state, row.state)
    return (
        f"{i}. {row.reference} {row.priority} {row.type}·{row.category} "
        f"{row.status_name} {row.assignee or texts.DESK_UNCLAIMED} {timing}"
    )


# The incident actions a card's button may ask for.
_INCIDENT_CARD_ACTIONS = frozenset(a.name for a in INCIDENT_CARD_ACTIONS)


def is_incident_card_press(action: str, reference: str, arg: str | None) -> bool:
    """Whether a press on an incident card asks for one of the card's own actions."""
    return bool(reference) and arg is None and action in _INCIDENT_CARD_ACTIONS


class DeskFlow:
    def __init__(self, desk: Desk, engine: Engine, incidents: Incidents) -> None:
        self.desk = desk
        self.engine = engine
        self.incidents = incidents

    async def command(
        self,
        actor: Actor | None,
        who: str,
        text: str,
        now: datetime,
        *,
        about: str | None = None,
    ) -> DeskReply:
        """Run one desk command. `about` is the ticket a replied-to message was about."""
        word, rest = _split(text)
        command = word.split("@")[0].lower()
        if actor is None:
            log.warning("desk: refused %s from unregistered %s", command, who)
            return DeskReply(texts.DESK_REFUSED)
        if command in INCIDENT_COMMANDS:
            try:
                return await self._incident(actor, command, rest.strip(), now, about)
            except IncidentError as exc:
                return DeskReply(str(exc))
        ref = about
        first, tail = _split(rest)
        given = parse_reference(first)
        if given is not None:
            ref, rest = given, tail
        try:
            return await self._run(actor, command, ref, rest.strip(), now)
        except DeskError as exc:
            return DeskReply(str(exc))

    async def _incident(
        self, actor: Actor, command: str, rest: str, now: datetime, about: str | None
    ) -> DeskReply:
        if command == "/incident":
            level, title = _split(rest)
            if not level:
                return DeskReply(texts.DESK_INCIDENT_ASK_LEVEL)
            view = await self.incidents.declare(level, title, actor, now)
            return DeskReply(
                texts.DESK_INCIDENT_DECLARED.format(
                    label=view.label, ref=view.reference, title=view.title
                )
            )
        if command == "/incidents":
            active = await self.incidents.active()
            if not active:
                return DeskReply(texts.DESK_INCIDENTS_NONE)
            lines = [texts.DESK_INCIDENTS_HEAD.format(count=len(active))] + [
                f"{n}. {v.reference} {v.label} {v.status_name} {v.title}"
                for n, v in enumerate(active, 1)
            ]
            return DeskReply("\n".join(lines))
        ref = about if about and _looks_like_incident(about) else None
        first, tail = _split(rest)
        if _looks_like_incident(first):
            ref, rest = first.upper(), tail
        if ref is None:
            return DeskReply(texts.DESK_INCIDENT_ASK_REF.format(command=command))
        action = incident_action(INCIDENT_COMMAND_ACTIONS[command])
        view = await self.incidents.act(ref, action.name, actor, now, rest)
        return DeskReply(action.confirm(view))

    async def incident_press(
        self,
        actor: Actor | None,
        who: str,
        action: str,
        reference: str,
        arg: str | None,
        now: datetime,
    ) -> DeskReply:
        """A press on an incident card: ack, mitigate, resolve, up or down."""
        if actor is None:
            log.warning(
                "incident: refused button %s:%s from unregistered %s", action, reference, who
            )
            return DeskReply(texts.DESK_REFUSED)
        if not is_incident_card_press(action, reference, arg):
            return DeskReply(texts.DESK_BUTTON_GONE)
        try:
            view = await self.incidents.act(reference, action, actor, now)
        except IncidentError as exc:
            return DeskReply(str(exc))
        return DeskReply(
            texts.DESK_INCIDENT_PRESSED.format(
                ref=view.reference, status=view.status_name, label=view.label
            )
        )

    async def _run(
        self, actor: Actor, command: str, ref: str | None, rest: str, now: datetime
    ) -> DeskReply:
        if command == "/queue":
            return self._list(
                texts.DESK_QUEUE_TITLE, await self.desk.views.queue(now, limit=15), now
            )
        if command == "/mine":
            rows = await self.desk.views.queue(now, assignee=actor.name)
            return self._list(texts.DESK_MINE_TITLE, rows, now)
        if command == "/kb":
            return self._kb(ref, rest)
        if ref is None:
            return DeskReply(
                texts.DESK_ASK_TICKET_REF.format(command=command, usage=texts.DESK_USAGE)
            )
        if command == "/ticket":
            return await self._detail(ref, now)
        action = COMMAND_ACTIONS.get(command)
        if action is None:
            return DeskReply(texts.DESK_UNKNOWN_COMMAND.format(usage=texts.DESK_USAGE))
        return _said(await perform(self.desk, action, ref, actor, now, rest))

    async def relay(
        self, actor: Actor | None, who: str, reference: str, text: str, now: datetime
    ) -> DeskReply:
        """An agent's reply to a ticket's message in the desk chat: to the customer."""
        if actor is None:
            log.warning("desk: refused a reply to %s from unregistered %s", reference, who)
            return DeskReply(texts.DESK_REFUSED)
        try:
            return _said(await perform(self.desk, "reply", reference, actor, now, text))
        except DeskError as exc:
            return DeskReply(str(exc))

    def _list(self, title: str, rows: list[TicketRow], now: datetime) -> DeskReply:
        if not rows:
            return DeskReply(texts.DESK_LIST_EMPTY.format(title=title))
        lines = [texts.DESK_LIST_HEAD.format(title=title, count=len(rows))] + [
            _line(i, r, now) for i, r in enumerate(rows, 1)
        ]
        return DeskReply("\n".join(lines))

    async def _detail(self, ref: str, now: datetime) -> DeskReply:
        d = await self.desk.views.detail(ref, now)
        r = d.row
        lines = [
            texts.DESK_DETAIL_HEAD.format(
                ref=r.reference, priority=r.priority, type=r.type, category=r.category
            ),
            texts.DESK_DETAIL_STATUS.format(
                status=r.status_name, assignee=r.assignee or texts.DESK_UNCLAIMED
            ),
        ]
        for c in d.clocks:
            name = notices.CLOCK_NAMES.get(c.clock, c.clock)
            if c.result is not None:
                used = (
                    texts.DESK_CLOCK_USED.format(minutes=c.used_minutes)
                    if c.used_minutes is not None
                    else ""
                )
                lines.append(f"· {name}：{notices.RESULT_NAMES.get(c.result, c.result)}{used}")
            else:
                state = notices.STATE_NAMES.get(c.state, c.state)
                lines.append(
                    texts.DESK_CLOCK_DUE.format(
                        name=name, state=state, due=notices.local(c.due_at)
                    )
                )
        lines.append(texts.DESK_THREAD_HEAD)
        for kind, author, text, _at in d.thread[-10:]:
            lines.append(notices.thread_line(kind, author, text[:300]))
        return DeskReply("\n".join(lines))

    def _kb(self, ref: str | None, words: str) -> DeskReply:
        if not words:
            return DeskReply(texts.DESK_KB_ASK_WORDS)
        result = self.engine.answer(words, Audience.ALL)
        ranked = [entry_id for entry_id, _ in result.ranked[:KB_RESULTS]]
        if not ranked:
            return DeskReply(texts.DESK_KB_NOTHING)
        lines = [texts.DESK_KB_HEAD.format(words=words)]
        buttons = []
        index = {e.id: i for i, e in enumerate(self.engine.kb.entries)}
        for n, entry_id in enumerate(ranked, 1):
            entry = self.engine.kb.entry(entry_id)
            lines.append(f"{n}. {entry.questions[0]}\n   {entry.answer[:120]}")
            if ref is not None:
                label = texts.DESK_KB_SEND_BUTTON.format(n=n)
                buttons.append(Button.on_ticket(label, "kb", ref, str(index[entry_id])))
        if ref is None:
            lines.append(texts.DESK_KB_HINT)
        return DeskReply("\n".join(lines), buttons)

    async def press(
        self,
        actor: Actor | None,
        who: str,
        action: str,
        reference: str,
        arg: str | None,
        now: datetime,
    ) -> DeskReply:
        """A press on a desk button: one of the card's actions, or "kb" with the entry."""
        if actor is None:
            log.warning("desk: refused button %s:%s from unregistered %s", action, reference, who)
            return DeskReply(texts.DESK_REFUSED)
        try:
            if action == "kb" and reference and arg is not None and arg.isdigit():
                return await self._send_kb(actor, reference, int(arg), now)
            if action in CARD_ACTIONS and reference:
                return await self._card_press(actor, ACTIONS[action], reference, arg, now)
        except DeskError as exc:
            return DeskReply(str(exc))
        return DeskReply(texts.DESK_BUTTON_GONE)

    async def _card_press(
        self, actor: Actor, action: DeskAction, reference: str, arg: str | None, now: datetime
    ) -> DeskReply:
        """A card's button, or one of the choices it offered (`arg`, the choice's key).

        An action with choices only offers them when pressed; a choice runs it with the
        choice's text, and a choice on a ticket closed since (pressed twice, or a stale
        offer) does nothing but say so."""
        if not action.choices:
            if arg is not None:
                return DeskReply(texts.DESK_BUTTON_GONE)
            outcome = await perform(self.desk, action.name, reference, actor, now)
            return DeskReply(
                outcome.pop_up, changed=_changed(outcome), private=outcome.action.private
            )
        if arg is None:
            return _offer(action, reference)
        if arg == notices.CANCEL_CHOICE.key:
            cancelled = texts.DESK_CHOICE_CANCELLED.format(ref=reference)
            return DeskReply(cancelled, settled=cancelled)
        choice = action.choice(arg)
        if choice is None:
            return DeskReply(texts.DESK_BUTTON_GONE)
        try:
            outcome = await perform(self.desk, action.name, reference, actor, now, choice.text)
        except AlreadyClosed as exc:
            return DeskReply(str(exc), settled=str(exc))
        chosen = texts.DESK_CHOSEN.format(
            done=outcome.message, label=choice.label, text=choice.text, name=actor.name
        )
        return DeskReply(outcome.pop_up, changed=_changed(outcome), settled=chosen)

    async def _send_kb(self, actor: Actor, reference: str, i: int, now: datetime) -> DeskReply:
        entries = self.engine.kb.entries
        if i >= len(entries):
            return DeskReply(texts.DESK_KB_ENTRY_GONE)
        outcome = await perform(self.desk, "reply", reference, actor, now, entries[i].answer)
        return DeskReply(outcome.pop_up, changed=_changed(outcome))


def _offer(action: DeskAction, reference: str) -> DeskReply:
    """Ask for one of an action's choices, offered as buttons (with 取消)."""
    ref = reference.upper()
    buttons = [
        Button.on_ticket(c.label, action.name, ref, c.key)
        for c in (*action.choices, notices.CANCEL_CHOICE)
    ]
    return DeskReply((action.ask or "").format(ref=ref), buttons)


def _changed(outcome: Outcome) -> str | None:
    return outcome.reference if outcome.row is not None else None


def _said(outcome: Outcome) -> DeskReply:
    return DeskReply(outcome.message, changed=_changed(outcome), private=outcome.action.private)
