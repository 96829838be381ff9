"""What flows in and out of the conversation core, whatever the channel."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from escalation.tickets.files import NewFile
from knowledge.kb import Audience

TEXT = "text"
NON_TEXT_KINDS = frozenset({"sticker", "photo", "voice", "video", "document", "location", "other"})


@dataclass(frozen=True, slots=True)
class Press:
    """A button pressed, as the channel saw it: the stored reply it was under (its message
    id, which the channel got with the reply) and its place among that reply's choices."""

    reply_id: int
    index: int


@dataclass(frozen=True, slots=True)
class Pressed:
    """A press as the record explains it; the flow acts on this, never on the label the
    client sent (a page may show buttons of answers long past, a client may send anything).
    """

    label: str  # the button's label as stored; "" for a press the record does not know
    entry_id: str | None = None  # the KB entry the reply answered
    current: bool = False  # under a reply to the user's latest message: still in play
    rated: bool = False  # feedback on entry_id was recorded since that reply


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str  # "telegram" | "web" | "terminal"
    sender: str  # channel-scoped, e.g. "telegram:5512"; never a phone number
    text: str
    received_at: datetime  # aware, UTC
    kind: str = TEXT  # or one of NON_TEXT_KINDS
    external_id: str | None = None  # the channel's id of this message, for exactly-once
    # Where the channel sends replies later, from the outbox (a Telegram chat id); None
    # for channels that hand replies back in the same request (web, terminal).
    reply_chat: int | None = None
    press: Press | None = None  # a button pressed; `text` is then its label, for the record
    # A photo, file or voice note the message carries (its text is then the caption).
    attachment: NewFile | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[str, ...] = ()  # buttons where the channel has them, numbered elsewhere


@dataclass(frozen=True, slots=True)
class FlowState:
    """What the core remembers about one user between messages."""

    role: Audience | None = None
    offered: tuple[str, ...] = ()  # entry ids behind the last "您是想问" choices
    last_entry: str | None = None  # the entry last answered, for 有帮助 / 没帮助
    last_question: str | None = None  # the user's last question (masked)
    # A complaint being taken down: the step ("type", "category", "description",
    # "details") and the answers so far.
    intake: tuple[tuple[str, str], ...] = ()
    csat_for: str | None = None  # rated this ticket; the next message may be a comment
    # The question asked before the role was chosen (masked), answered once it is.
    pending: str | None = None
    # What the last message offered a complaint or a person for (masked): accepting the
    # offer takes it as the complaint's description, so it is not typed again.
    draft: str | None = None
    greeted: bool = False  # the welcome was shown: asking the role again need not repeat it

    @property
    def intake_step(self) -> str | None:
        return dict(self.intake).get("step")

    def to_json(self) -> str:
        raw = asdict(self)
        raw["role"] = self.role.value if self.role else None
        raw["offered"] = list(self.offered)
        raw["intake"] = dict(self.intake)
        return json.dumps(raw, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> FlowState:
        try:
            raw: dict[str, Any] = json.loads(text or "{}")
            role = raw.get("role")
            return cls(
                Audience(role) if role else None,
                tuple(raw.get("offered") or ()),
                raw.get("last_entry"),
                raw.get("last_question"),
                tuple((str(k), str(v)) for k, v in (raw.get("intake") or {}).items()),
                raw.get("csat_for"),
                _text_or_none(raw.get("pending")),
                _text_or_none(raw.get("draft")),
                raw.get("greeted") is True,
            )
        except (ValueError, TypeError):
            return cls()  # a state we cannot read is a fresh start, not a crash


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class FeedbackEffect:
    entry_id: str
    helpful: bool


@dataclass(frozen=True, slots=True)
class HandoffEffect:
    reason: str  # "asked" | "no_answer" | "unhelpful"
    last_question: str | None


@dataclass(frozen=True, slots=True)
class TicketEffect:
    """Open a ticket; the core puts its reference into the replies ({ref})."""

    ticket_type: str
    category: str
    description: str
    order_no: str | None = None
    merchant_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """What the core looked up for a message that quotes a ticket reference."""

    reference: str
    found: bool
    status: str = ""
    type: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class MyTicket:
    """The user's latest ticket, as the flow needs to know it."""

    reference: str
    status: str
    answered: bool  # an agent has written to the user
    awaiting_ack: bool  # the agent wrote last
    done_at: datetime | None  # resolved or closed at
    csat: int | None


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One of the user's tickets, as a list of them shows it."""

    reference: str
    type: str
    category: str
    status: str
    updated_at: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class IncidentNotice:
    """An open incident the message is about, and what users asking about it are told."""

    incident_id: int
    text: str


@dataclass(frozen=True, slots=True)
class IncidentLinkEffect:
    incident_id: int


@dataclass(frozen=True, slots=True)
class CustomerReplyEffect:
    """The user's message belongs to a ticket an agent is working."""

    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class CsatEffect:
    reference: str
    score: int | None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ReopenEffect:
    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class AttachEffect:
    """Keep the message's file with the sender's open ticket."""

    reference: str


Effect = (
    FeedbackEffect
    | AttachEffect
    | HandoffEffect
    | TicketEffect
    | CustomerReplyEffect
    | CsatEffect
    | ReopenEffect
    | IncidentLinkEffect
)


@dataclass(frozen=True, slots=True)
class Step:
    """A flow's result: replies, the next state, and what to record."""

    replies: list[Reply]
    state: FlowState
    kind: str = "text"  # how the inbound message was read: question, command, choice...
    entry_id: str | None = None  # the KB entry answered, if any
    score: float | None = None
    effects: list[Effect] = field(default_factory=list)
    ticket_reference: str | None = None  # set by the core once a ticket was opened
