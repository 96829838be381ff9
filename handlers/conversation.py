"""The conversation flow for consumers and merchants: one message and its state in, a step out.

Pure apart from the knowledge engine (itself deterministic), so every channel and every
test sees the same replies for the same messages.
"""

from __future__ import annotations

from dataclasses import replace

from escalation.tickets.rules import REOPEN_WINDOW
from handlers import intake, texts
from handlers.desk import TICKET_COMMANDS
from handlers.press import on_press
from handlers.types import (
    NON_TEXT_KINDS,
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
    TicketInfo,
)
from knowledge.engine import Engine, Kind
from knowledge.kb import Audience
from knowledge.masking import mask_pii

_ROLE_WORDS = {
    texts.CHOICE_CONSUMER: Audience.CONSUMER,
    "消费者": Audience.CONSUMER,
    texts.CHOICE_MERCHANT: Audience.MERCHANT,
    "我是商家": Audience.MERCHANT,
    "商户": Audience.MERCHANT,
    "商家": Audience.MERCHANT,
}
_NUMBERED_ROLES = {"1": Audience.CONSUMER, "2": Audience.MERCHANT}
_HUMAN_WORDS = frozenset({texts.CHOICE_HUMAN, "人工", "人工客服", "找人工", "转人工客服"})
COMMANDS = frozenset({"/start", "/role", "/help", "/human", "/complain", "/status"})
_COMPLAIN_WORDS = frozenset({texts.CHOICE_COMPLAIN, "投诉", "我要投诉", "提交投诉"})
_STATUS_WORDS = ("查询工单", "工单进度", "查工单")
MAX_TEXT = 2000
_LIVE_STATUSES = frozenset({"assigned", "waiting", "reopened"})
# Commands of the agents' desk: refused here, where only customers and merchants talk.
DESK_COMMANDS = frozenset(TICKET_COMMANDS)


def _command(text: str) -> str | None:
    if not text.startswith("/"):
        return None
    return text.split()[0].split("@")[0].lower()


def respond(
    msg: Incoming,
    state: FlowState,
    engine: Engine,
    ticket: TicketInfo | None = None,
    mine: MyTicket | None = None,
    incident: IncidentNotice | None = None,
    pressed: Pressed | None = None,
) -> Step:
    """Return the replies to one message, the next state and what to record.

    `ticket` is what the core found for a ticket reference quoted in the message; `mine`
    is the user's latest ticket, if any; `incident` an open incident the message is about;
    `pressed` the button the message pressed, as the record knows it.
    """
    if msg.kind in NON_TEXT_KINDS:
        return Step([Reply(texts.NON_TEXT, (texts.CHOICE_HUMAN,))], state, kind=msg.kind)
    pressed_step = on_press(pressed, state) if pressed is not None else None
    if pressed_step is not None:
        return pressed_step
    text = msg.text.strip()
    command = _command(text)
    if command == "/status" or text.startswith(_STATUS_WORDS):
        return _status(ticket, state)
    if command is not None:
        return _on_command(command, replace(state, intake=(), csat_for=None), engine)
    if state.intake_step is not None:
        return intake.advance(text, state)
    if state.csat_for is not None:
        return _csat_comment(text, state)
    if mine is not None:
        step = _about_my_ticket(msg, text, state, mine)
        if step is not None:
            return step
    if text in _ROLE_WORDS or (state.role is None and text in _NUMBERED_ROLES):
        role = _ROLE_WORDS.get(text) or _NUMBERED_ROLES[text]
        fresh = FlowState(role=role)
        return Step([Reply(texts.ROLE_SET[role.value])], fresh, kind="role")
    if state.role is None:
        return Step(_greeting(engine), state, kind="greeting")
    step = _on_choice(text, state, engine)
    if step is not None:
        return step
    if len(text) > MAX_TEXT:
        return Step([Reply(texts.TOO_LONG)], state, kind="too_long")
    if incident is not None:  # a known problem: say so rather than a generic answer
        return Step(
            [Reply(incident.text, (texts.CHOICE_COMPLAIN, texts.CHOICE_HUMAN))],
            replace(state, last_question=mask_pii(text)[:500], offered=(), last_entry=None),
            kind="incident",
            effects=[IncidentLinkEffect(incident.incident_id)],
        )
    return _on_question(text, state, engine)


def _on_choice(text: str, state: FlowState, engine: Engine) -> Step | None:
    """A button's label (or the words people type for it): human, complain, feedback, or
    one of the questions offered; None for anything else."""
    if text in _HUMAN_WORDS:
        return _handoff("asked", state)
    if text in _COMPLAIN_WORDS:
        return Step(intake.start(), intake.begin(state), kind="intake")
    if text == texts.CHOICE_HELPFUL and state.last_entry:
        return Step(
            [Reply(texts.THANKS_FOR_FEEDBACK)],
            replace(state, last_entry=None),
            kind="feedback",
            effects=[FeedbackEffect(state.last_entry, True)],
        )
    if text == texts.CHOICE_UNHELPFUL and state.last_entry:
        return Step(
            [Reply(texts.SORRY_UNHELPFUL, (texts.CHOICE_HUMAN,))],
            replace(state, last_entry=None),
            kind="feedback",
            effects=[FeedbackEffect(state.last_entry, False)],
        )
    if state.offered:
        if text == texts.NONE_OF_THESE:
            return Step([Reply(texts.REPHRASE, (texts.CHOICE_HUMAN,))], replace(state, offered=()))
        picked = next((i for i in state.offered if engine.entry_question(i) == text), None)
        if picked is not None:
            return _answer_entry(picked, None, replace(state, offered=()), engine, kind="choice")
    return None


def _greeting(engine: Engine) -> list[Reply]:
    return [
        Reply(texts.WELCOME.format(campaign=engine.kb.name)),
        Reply(texts.ASK_ROLE, texts.ROLE_CHOICES),
    ]


def _on_command(command: str, state: FlowState, engine: Engine) -> Step:
    if command == "/start":
        return Step(_greeting(engine), state, kind="command")
    if command == "/role":
        return Step([Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], state, kind="command")
    if command == "/help":
        return Step([Reply(texts.HELP.format(campaign=engine.kb.name))], state, kind="command")
    if command == "/human":
        return _handoff("asked", state)
    if command == "/complain" and state.role is not None:
        return Step(intake.start(), intake.begin(state), kind="intake")
    if command == "/complain":
        return Step(_greeting(engine), state, kind="command")
    if command in DESK_COMMANDS:
        return Step([Reply(texts.DESK_ONLY)], state, kind="command")
    return Step([Reply(texts.UNKNOWN_COMMAND)], state, kind="command")


def _csat_comment(text: str, state: FlowState) -> Step:
    assert state.csat_for is not None
    done = replace(state, csat_for=None)
    if text == texts.CHOICE_SKIP:
        return Step([Reply(texts.THANKS_FOR_FEEDBACK)], done, kind="csat")
    return Step(
        [Reply(texts.CSAT_COMMENT_THANKS)],
        done,
        kind="csat",
        effects=[CsatEffect(state.csat_for, None, text[:1000])],
    )


def _about_my_ticket(msg: Incoming, text: str, state: FlowState, mine: MyTicket) -> Step | None:
    """A rating, a "not solved", or a message for the agent working the user's ticket."""
    ref = mine.reference
    if mine.status == "closed" and mine.csat is None and text in texts.CSAT_CHOICES:
        return Step(
            [Reply(texts.CSAT_THANKS, (texts.CHOICE_SKIP,))],
            replace(state, csat_for=ref),
            kind="csat",
            effects=[CsatEffect(ref, int(text))],
        )
    if mine.status in ("closed", "resolved") and text in texts.NOT_SOLVED_WORDS:
        if mine.done_at is not None and msg.received_at - mine.done_at <= REOPEN_WINDOW:
            return Step(
                [Reply(texts.TICKET_REOPENED.format(ref=ref))],
                state,
                kind="reopen",
                effects=[ReopenEffect(ref, text)],
            )
        lead = texts.REOPEN_TOO_LATE.format(ref=ref)
        return Step(intake.start(lead), intake.begin(state), kind="intake")
    if mine.answered and mine.status in _LIVE_STATUSES and state.role is not None:
        if len(text) > MAX_TEXT:
            return Step([Reply(texts.TOO_LONG)], state, kind="too_long")
        replies = [Reply(texts.SENT_TO_AGENT.format(ref=ref))] if mine.awaiting_ack else []
        return Step(replies, state, kind="ticket", effects=[CustomerReplyEffect(ref, text)])
    return None


def _status(ticket: TicketInfo | None, state: FlowState) -> Step:
    if ticket is None:
        return Step([Reply(texts.ASK_REFERENCE)], state, kind="status")
    if not ticket.found:
        return Step(
            [Reply(texts.TICKET_NOT_FOUND.format(ref=ticket.reference), (texts.CHOICE_HUMAN,))],
            state,
            kind="status",
        )
    status = texts.STATUS_NAMES.get(ticket.status, ticket.status)
    reply = texts.TICKET_STATUS.format(
        ref=ticket.reference, type=ticket.type, category=ticket.category, status=status
    )
    return Step([Reply(reply)], state, kind="status")


def _handoff(reason: str, state: FlowState) -> Step:
    if state.role is None:
        return Step([Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], state, kind="handoff")
    return Step(
        intake.start(texts.HANDOFF),
        intake.begin(state),
        kind="handoff",
        effects=[HandoffEffect(reason, state.last_question)],
    )


def _answer_entry(
    entry_id: str, score: float | None, state: FlowState, engine: Engine, *, kind: str
) -> Step:
    entry = engine.kb.entry(entry_id)
    return Step(
        [Reply(entry.answer, texts.FEEDBACK_CHOICES)],
        replace(state, offered=(), last_entry=entry_id),
        kind=kind,
        entry_id=entry_id,
        score=score,
    )


def _on_question(text: str, state: FlowState, engine: Engine) -> Step:
    assert state.role is not None
    result = engine.answer(text, state.role)
    asked = replace(state, last_question=mask_pii(text)[:500], offered=(), last_entry=None)
    complaint = intake.reads_like_complaint(text)
    if result.kind == Kind.ANSWER and result.entry_id:
        step = _answer_entry(result.entry_id, result.score, asked, engine, kind="question")
        if complaint:  # the answer may help; registering a complaint stays one press away
            offer = Reply(texts.OFFER_COMPLAINT, texts.OFFER_CHOICES)
            return replace(step, replies=[*step.replies, offer])
        return step
    if result.kind == Kind.SMALLTALK and result.answer:
        return Step([Reply(result.answer)], state, kind="smalltalk")
    if result.kind == Kind.EMPTY:
        return Step([Reply(texts.EMPTY_QUERY)], state, kind="empty")
    if result.kind == Kind.SUGGEST and result.suggestions:
        questions = tuple(engine.entry_question(i) for i in result.suggestions)
        return Step(
            [Reply(texts.DID_YOU_MEAN, (*questions, texts.NONE_OF_THESE))],
            replace(asked, offered=result.suggestions),
            kind="question",
            score=result.score,
        )
    if complaint:
        return Step(
            [Reply(texts.OFFER_COMPLAINT, texts.OFFER_CHOICES)],
            asked,
            kind="question",
            score=result.score,
        )
    return Step(
        [Reply(texts.NO_ANSWER, (texts.CHOICE_HUMAN,))], asked, kind="question", score=result.score
    )
