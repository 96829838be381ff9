"""The conversation core: load a user's state, run the flow, store it all, return replies."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from escalation.incidents.service import Incidents
from escalation.risk.tags import LEVELS
from escalation.routing import Actor
from escalation.tickets.desk import Desk
from escalation.tickets.files import TicketFiles
from escalation.tickets.rules import find_reference
from handlers import status, texts
from handlers.attachments import keep_file
from handlers.conversation import respond
from handlers.types import (
    AttachEffect,
    CsatEffect,
    CustomerReplyEffect,
    FeedbackEffect,
    FlowState,
    HandoffEffect,
    IncidentLinkEffect,
    IncidentNotice,
    Incoming,
    MyTicket,
    Pressed,
    ReopenEffect,
    Reply,
    Step,
    TicketEffect,
    TicketInfo,
    TicketLine,
)
from knowledge.engine import Engine
from knowledge.masking import find_mobile
from storage.conversation import ConversationStore, Exchange, Outbound, StoredReply, StoredRisk

_MAX_LOCKS = 10_000
# A ticket opened this soon after a medium- or high-risk message from the same person
# carries its priority: the threat that alerted the supervisors and the complaint taken
# down a few messages later are one case. A high verdict is also noted on the ticket.
RISK_CARRY_WINDOW = timedelta(minutes=30)
_CARRIED_LEVELS = ("medium", "high")
_NOTED_LEVEL = "high"


class RiskVerdict(Protocol):
    """What the risk scorer says of one message (escalation.risk.RiskResult)."""

    @property
    def level(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


RiskScore = Callable[[str], RiskVerdict]


def _higher(a: str | None, b: str | None) -> str | None:
    """The more urgent of two risk levels (None counts as no verdict)."""
    ranked = [x for x in (a, b) if x in LEVELS]
    return max(ranked, key=LEVELS.index) if ranked else None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Replies to send for one inbound message; `duplicate` when it was seen before."""

    replies: list[StoredReply]
    duplicate: bool = False

    @property
    def texts(self) -> list[Reply]:
        return [Reply(r.text, r.choices) for r in self.replies]


class Core:
    def __init__(
        self,
        engine: Engine,
        store: ConversationStore,
        desk: Desk,
        incidents: Incidents,
        *,
        risk: RiskScore | None = None,
        tag_names: Mapping[str, str] | None = None,
        files: TicketFiles | None = None,
    ) -> None:
        self.engine = engine
        self.files = files  # where customers' files go; without, they are refused
        self.risk = risk
        self.tag_names = dict(tag_names or {})
        self.store = store
        self.desk = desk
        self.tickets = desk.tickets
        self.incidents = incidents
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()

    def _lock(self, sender: str) -> asyncio.Lock:
        # One message at a time per user, so two quick messages cannot both start from
        # the same stored state.
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
            while len(self._locks) > _MAX_LOCKS:
                oldest, old = next(iter(self._locks.items()))
                if old.locked():
                    break
                del self._locks[oldest]
        else:
            self._locks.move_to_end(sender)
        return lock

    async def handle(self, msg: Incoming) -> Delivery:
        """Answer and store one message with its replies, in one transaction.

        A message with a `reply_chat` has its replies queued in the outbox, for the
        channel's sender; otherwise they are stored as sent, the caller hands them back in
        the same request. A message seen before (same channel id) is answered from what
        was recorded for it, never a second time.
        """
        async with self._lock(msg.sender):
            stored_state = await self.store.load_state(msg.sender, msg.channel, msg.external_id)
            found = stored_state.previous
            if found is not None:
                return self._again(found.replies, msg)
            state = FlowState.from_json(stored_state.state_json)
            msg, pressed = await self._pressed(msg)
            verdict = self.risk(msg.text) if self.risk is not None and msg.text else None
            mine = await self.desk.customers.latest_ticket(msg.sender)
            notice = await self.incidents.notice_for(msg.text) if msg.text else None
            step = respond(
                msg,
                state,
                self.engine,
                await self._lookup(msg.text, msg.sender),
                MyTicket(
                    mine.reference,
                    mine.status,
                    mine.answered,
                    mine.awaiting_ack,
                    mine.done_at,
                    mine.csat,
                )
                if mine is not None
                else None,
                IncidentNotice(notice.incident_id, notice.text) if notice else None,
                pressed=pressed,
                listing=await self._listing(msg),
            )
            step = await self._open_tickets(msg, step, verdict)
            step = await self._keep_files(msg, step)
            await self._ticket_effects(msg, step)
            keys = self.incidents.keys_for_text(msg.text)
            if verdict is not None and verdict.level == "high":
                keys += self.incidents.keys_for_risk(verdict.tags)
            await self.incidents.observe(keys, msg.received_at)
            exchange = Exchange(
                channel=msg.channel,
                sender=msg.sender,
                at=msg.received_at,
                text=msg.text,
                kind=step.kind,
                external_id=msg.external_id,
                role=step.state.role.value if step.state.role else None,
                state_json=step.state.to_json(),
                replies=[Outbound(r.text, r.choices) for r in step.replies],
                kb_entry_id=step.entry_id,
                score=step.score,
                feedback=[
                    (e.entry_id, e.helpful) for e in step.effects if isinstance(e, FeedbackEffect)
                ],
                handoffs=[
                    (e.reason, e.last_question)
                    for e in step.effects
                    if isinstance(e, HandoffEffect)
                ],
                incident_id=next(
                    (e.incident_id for e in step.effects if isinstance(e, IncidentLinkEffect)),
                    None,
                ),
                risk_level=verdict.level if verdict else None,
                risk_score=verdict.score if verdict else None,
                risk_tags=verdict.tags if verdict else (),
                alerts=self._risk_alerts(msg, verdict, mine.reference if mine else None),
                reply_chat=msg.reply_chat,
            )
            stored = await self.store.record(exchange, sent=msg.reply_chat is None)
            if stored.duplicate:
                return self._again(stored.replies, msg)
            return Delivery(stored.replies)

    async def _pressed(self, msg: Incoming) -> tuple[Incoming, Pressed | None]:
        """The button a message pressed, as the record knows it; the message then says
        the stored label (what the client sent as the label does not count)."""
        if msg.press is None:
            return msg, None
        button = await self.store.button_of(msg.sender, msg.press.reply_id, msg.press.index)
        if button is None:
            return msg, Pressed("")
        pressed = Pressed(button.label, button.kb_entry_id, button.current, button.rated)
        return replace(msg, text=button.label), pressed

    @staticmethod
    def _again(replies: list[StoredReply], msg: Incoming) -> Delivery:
        """What a message seen before gets: on a channel that answers in the request (a
        web client retrying after a timeout) the replies recorded for it, which it may
        never have seen; on an outbox channel nothing, its replies are queued already."""
        if msg.reply_chat is not None:
            return Delivery([], duplicate=True)
        return Delivery(replies, duplicate=True)

    def _risk_alerts(
        self, msg: Incoming, verdict: RiskVerdict | None, ticket: str | None
    ) -> Sequence[tuple[int, str]]:
        """Tell the supervisors at once of a high-risk message (masked when stored)."""
        chat = self.desk.routes.supervisors
        if verdict is None or verdict.level != "high" or chat is None:
            return ()
        tags = "、".join(self.tag_names.get(t, t) for t in verdict.tags) or "—"
        text = texts.RISK_ALERT.format(
            user=msg.sender,
            ticket=texts.RISK_ALERT_TICKET.format(ref=ticket) if ticket else "",
            tags=tags,
            text=msg.text[:500],
        )
        return ((chat, text),)

    async def _lookup(self, text: str, sender: str) -> TicketInfo | None:
        """The status of a ticket quoted in a message, for its owner only: the same channel
        identity, or a message that also gives the phone number taken at intake. Anyone
        else is told what an unknown reference gets, so guessing references reveals
        nothing."""
        reference = find_reference(text)
        if reference is None:
            return None
        ticket = await self.tickets.get_for_owner(reference, sender, find_mobile(text))
        if ticket is None:
            return TicketInfo(reference, False)
        return TicketInfo(reference, True, ticket.status.value, ticket.type, ticket.category)

    async def _listing(self, msg: Incoming) -> list[TicketLine]:
        """The sender's own tickets, for a message asking about them without a reference."""
        if not msg.text or not status.asks_for_status(msg.text) or find_reference(msg.text):
            return []
        rows = await self.desk.customers.tickets_of(msg.sender, status.MAX_LISTED)
        return [TicketLine(r.reference, r.type, r.category, r.status, r.updated_at) for r in rows]

    async def _open_tickets(self, msg: Incoming, step: Step, verdict: RiskVerdict | None) -> Step:
        """Open the tickets a step asks for and put their references into its replies.

        The most urgent risk counts: this message's, the description's, or that of a message
        the person sent within RISK_CARRY_WINDOW; the ticket notes the verdict it carries."""
        for effect in step.effects:
            if not isinstance(effect, TicketEffect):
                continue
            link = await self._risk_link(msg, verdict)
            risk = _higher(verdict.level if verdict else None, link.level if link else None)
            # The description was typed steps ago; its risk counts, not the last button's.
            if self.risk is not None and effect.description:
                risk = _higher(risk, self.risk(effect.description).level)
            ticket = await self.desk.open(
                source=f"{msg.channel}:{msg.external_id}" if msg.external_id else None,
                sender=msg.sender,
                channel=msg.channel,
                ticket_type=effect.ticket_type,
                category=effect.category,
                summary=effect.description,
                at=msg.received_at,
                order_no=effect.order_no,
                merchant_name=effect.merchant_name,
                contact_phone=effect.contact_phone,
                risk=risk,
            )
            if link is not None and link.level == _NOTED_LEVEL:
                await self.desk.customers.note_risk(
                    ticket.reference,
                    msg.received_at,
                    link.level,
                    link.tags,
                    self._risk_note(link),
                    link.message_id or None,
                )
            await self.incidents.observe(
                self.incidents.keys_for_ticket(effect.category, effect.merchant_name),
                msg.received_at,
                ticket_id=ticket.id,
            )
            replies = [
                Reply(r.text.replace("{ref}", ticket.reference), r.choices) for r in step.replies
            ]
            step = replace(step, replies=replies, ticket_reference=ticket.reference)
        return step

    async def _risk_link(self, msg: Incoming, verdict: RiskVerdict | None) -> StoredRisk | None:
        """The most urgent medium or high verdict among this message and the person's
        messages within RISK_CARRY_WINDOW (the latest of equals), or None."""
        found = await self.store.risky_since(msg.sender, msg.received_at - RISK_CARRY_WINDOW)
        if verdict is not None and verdict.level in _CARRIED_LEVELS:
            found.insert(0, StoredRisk(0, verdict.level, verdict.tags, msg.received_at, msg.text))
        ranked = [r for r in found if r.level in _CARRIED_LEVELS]
        if not ranked:
            return None
        return max(ranked, key=lambda r: (LEVELS.index(r.level), r.at))

    def _risk_note(self, link: StoredRisk) -> str:
        """What the ticket's thread says of the verdict it carries (masked when stored)."""
        alerted = link.level == "high" and self.desk.routes.supervisors is not None
        return texts.RISK_LINK_NOTE.format(
            at=f"{link.at.astimezone(status.SHOWN_IN):%m-%d %H:%M}",
            level=texts.RISK_LEVEL_NAMES.get(link.level, link.level),
            tags="、".join(self.tag_names.get(t, t) for t in link.tags) or "—",
            alerted=texts.RISK_LINK_ALERTED if alerted else "",
            text=link.text[:500],
        )

    async def _keep_files(self, msg: Incoming, step: Step) -> Step:
        """Store the file a step keeps with a ticket, and tell the customer how it went."""
        for effect in step.effects:
            if isinstance(effect, AttachEffect):
                reply = await keep_file(self.files, msg, effect.reference)
                step = replace(step, replies=[*step.replies, reply])
        return step

    async def _ticket_effects(self, msg: Incoming, step: Step) -> None:
        """Carry a customer's part of a ticket conversation to the desk."""
        for effect in step.effects:
            if isinstance(effect, CustomerReplyEffect):
                await self.desk.customers.message(
                    effect.reference, msg.sender, effect.text, msg.received_at
                )
            elif isinstance(effect, CsatEffect):
                await self.desk.customers.rate(
                    effect.reference, msg.sender, msg.received_at, effect.score, effect.comment
                )
            elif isinstance(effect, ReopenEffect):
                customer = Actor(msg.sender, msg.sender, "customer")
                await self.desk.reopen(effect.reference, customer, msg.received_at, effect.text)

    async def dispatch(self, msg: Incoming) -> list[Reply]:
        """Answer a message on a channel that shows replies at once (web, terminal)."""
        return (await self.handle(msg)).texts
