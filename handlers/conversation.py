"""The conversation flow for consumers and merchants: one message and its state in, a step out.

Pure apart from the knowledge engine (itself deterministic), so every channel and every
test sees the same replies for the same messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from escalation.tickets.rules import REOPEN_WINDOW
from handlers import attachments, intake, status, texts
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
    TicketLine,
)
from knowledge.engine import Engine, Kind, Result
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
MAX_TEXT = 2000
_LIVE_STATUSES = frozenset({"assigned", "waiting", "reopened"})
# A message for the agent that also asks for information: a question mark or a question
# word. Only such a message is put to the knowledge base; a plain reply (好的, an order
# number) or a request to the agent (能不能快点) is the agent's alone.
_ASKS = re.compile(
    r"[?？]|吗|呢|怎么|怎样|如何|为什么|为啥|啥|哪|多少|多久|什么|是否|能否|可否|"
    r"会不会|有没有|是不是|请问"
)
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
    listing: Sequence[TicketLine] = (),
) -> Step:
    """Return the replies to one message, the next state and what to record.

    `ticket` is what the core found for a ticket reference quoted in the message; `mine`
    is the user's latest ticket, if any; `incident` an open incident the message is about;
    `pressed` the button the message pressed, as the record knows it; `listing` the user's
    tickets, for a message asking about them without a reference.
    """
    if msg.kind in NON_TEXT_KINDS:  # a file goes to the sender's open ticket, if any
        return attachments.on_non_text(msg, state, mine)
    # What the last message offered a complaint or a person for lives one message only:
    # taken up now, or forgotten.
    draft, state = state.draft, replace(state, draft=None)
    pressed_step = on_press(pressed, state) if pressed is not None else None
    if pressed_step is not None:
        return pressed_step
    text = msg.text.strip()
    command = _command(text)
    if command == "/status" or text.startswith(status.STATUS_WORDS):
        return status.status(ticket, listing, state)
    if command is not None:
        return _on_command(command, replace(state, intake=(), csat_for=None), engine, draft)
    if state.intake_step is not None:
        return intake.advance(text, state)
    if state.csat_for is not None:
        return _csat_comment(text, state)
    if len(text) <= MAX_TEXT and status.asks_for_status(text):
        return status.status(ticket, listing, state)
    if mine is not None:
        step = _about_my_ticket(msg, text, state, mine, engine)
        if step is not None:
            return step
    if text in _ROLE_WORDS or (state.role is None and text in _NUMBERED_ROLES):
        return _on_role(_ROLE_WORDS.get(text) or _NUMBERED_ROLES[text], state, engine)
    if state.role is None:
        return _before_role(text, state, engine)
    step = _on_choice(text, state, engine, draft)
    if step is not None:
        return step
    if len(text) > MAX_TEXT:
        return Step([Reply(texts.TOO_LONG)], state, kind="too_long")
    if incident is not None:  # a known problem: say so rather than a generic answer
        masked = mask_pii(text)
        return Step(
            [Reply(incident.text, (texts.CHOICE_COMPLAIN, texts.CHOICE_HUMAN))],
            replace(state, last_question=masked[:500], offered=(), last_entry=None, draft=masked),
            kind="incident",
            effects=[IncidentLinkEffect(incident.incident_id)],
        )
    return _on_question(text, state, engine)


def _on_role(role: Audience, state: FlowState, engine: Engine) -> Step:
    """Take the role; a question asked before it was chosen is answered right after."""
    fresh = FlowState(role=role)
    chosen = Step([Reply(texts.ROLE_SET[role.value])], fresh, kind="role")
    if state.pending is None:
        return chosen
    later = _on_choice(state.pending, fresh, engine, None) or _on_question(
        state.pending, fresh, engine
    )
    if later.kind in ("smalltalk", "empty"):  # a hello needs no second answer
        return chosen
    # Recorded as the role message it is: the digests read a "question" message's own text
    # as the question, and this one's text is 我是消费者.
    return replace(later, replies=[*chosen.replies, *later.replies], kind="role")


def _on_choice(text: str, state: FlowState, engine: Engine, draft: str | None) -> Step | None:
    """A button's label (or the words people type for it): human, complain, feedback, or
    one of the questions offered; None for anything else. `draft` is what the message
    before offered a complaint or a person for: the complaint starts from it."""
    if text in _HUMAN_WORDS:
        return _handoff("asked", state, draft)
    if text in _COMPLAIN_WORDS:
        return Step(intake.start(), intake.begin(state, draft), kind="intake")
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
            replace(state, last_entry=None, draft=state.last_question),
            kind="feedback",
            effects=[FeedbackEffect(state.last_entry, False)],
        )
    if state.offered:
        if text == texts.NONE_OF_THESE:
            return Step(
                [Reply(texts.REPHRASE, (texts.CHOICE_HUMAN,))],
                replace(state, offered=(), draft=state.last_question),
            )
        picked = next((i for i in state.offered if engine.entry_question(i) == text), None)
        if picked is not None:
            return _answer_entry(picked, None, replace(state, offered=()), engine, kind="choice")
    return None


def _before_role(text: str, state: FlowState, engine: Engine) -> Step:
    """A message before the role is chosen: the question is kept (masked, as every stored
    question) and answered once the role is chosen; the welcome is shown once."""
    pending = mask_pii(text) if 0 < len(text) <= MAX_TEXT else state.pending
    replies = _greeting(engine, pending)
    if state.greeted and pending:  # welcomed already: only the role, and the promise
        replies = replies[1:]
    return Step(replies, replace(state, pending=pending, greeted=True), kind="greeting")


def _greeting(engine: Engine, pending: str | None = None) -> list[Reply]:
    return [
        Reply(texts.WELCOME.format(campaign=engine.kb.name)),
        Reply(texts.ASK_ROLE_THEN_ANSWER if pending else texts.ASK_ROLE, texts.ROLE_CHOICES),
    ]


def _on_command(command: str, state: FlowState, engine: Engine, draft: str | None) -> Step:
    if command == "/start":
        return Step(_greeting(engine), replace(state, greeted=True), kind="command")
    if command == "/role":
        return Step([Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], state, kind="command")
    if command == "/help":
        return Step([Reply(texts.HELP.format(campaign=engine.kb.name))], state, kind="command")
    if command == "/human":
        return _handoff("asked", state, draft)
    if command == "/complain" and state.role is not None:
        return Step(intake.start(), intake.begin(state, draft), kind="intake")
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


def _about_my_ticket(
    msg: Incoming, text: str, state: FlowState, mine: MyTicket, engine: Engine
) -> Step | None:
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
        return _to_the_agent(text, state, ref, engine)
    return None


def _to_the_agent(text: str, state: FlowState, ref: str, engine: Engine) -> Step:
    """Add the message to the ticket an agent works and say so; answer it as well when it
    asks something the knowledge base knows, since the agent may take hours."""
    assert state.role is not None
    if len(text) > MAX_TEXT:
        return Step([Reply(texts.TOO_LONG)], state, kind="too_long")
    if text not in _HUMAN_WORDS and text not in _COMPLAIN_WORDS:  # the agent is the person
        choice = _on_choice(text, state, engine, None)
        if choice is not None:  # a feedback button, a question picked: not for the agent
            return choice
    added = Reply(texts.SENT_TO_AGENT.format(ref=ref))
    effect = CustomerReplyEffect(ref, text)
    result = engine.answer(text, state.role) if _ASKS.search(text) else None
    if result is None or result.kind not in (Kind.ANSWER, Kind.SUGGEST):
        # A reply for the agent, or nothing the knowledge base is sure of: no abstention
        # to read, the agent answers.
        return Step([added], state, kind="ticket", effects=[effect])
    answered = _answered(text, result, state, engine, complaint=False)
    return replace(answered, replies=[added, *answered.replies], effects=[effect])


def _handoff(reason: str, state: FlowState, draft: str | None = None) -> Step:
    if state.role is None:
        return Step([Reply(texts.ASK_ROLE, texts.ROLE_CHOICES)], state, kind="handoff")
    return Step(
        intake.start(texts.HANDOFF),
        intake.begin(state, draft),
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
    if result.kind == Kind.SMALLTALK and result.answer:
        return Step([Reply(result.answer)], state, kind="smalltalk")
    if result.kind == Kind.EMPTY:
        return Step([Reply(texts.EMPTY_QUERY)], state, kind="empty")
    return _answered(text, result, state, engine, complaint=intake.reads_like_complaint(text))


def _answered(
    text: str, result: Result, state: FlowState, engine: Engine, *, complaint: bool
) -> Step:
    """A question's answer, its choices or an abstention; and the offer to register a
    complaint when it reads like one. Where a complaint or a person is offered, the text
    is kept (masked) for the complaint to start from."""
    masked = mask_pii(text)
    asked = replace(state, last_question=masked[:500], offered=(), last_entry=None)
    if result.kind == Kind.ANSWER and result.entry_id:
        step = _answer_entry(result.entry_id, result.score, asked, engine, kind="question")
        if complaint:  # the answer may help; registering a complaint stays one press away
            offer = Reply(texts.OFFER_COMPLAINT, texts.OFFER_CHOICES)
            kept = replace(step.state, draft=masked)
            return replace(step, replies=[*step.replies, offer], state=kept)
        return step
    if result.kind == Kind.SUGGEST and result.suggestions:
        questions = tuple(engine.entry_question(i) for i in result.suggestions)
        replies = [Reply(texts.DID_YOU_MEAN, (*questions, texts.NONE_OF_THESE))]
        if complaint:  # as with an answer: the complaint stays one press away
            replies.append(Reply(texts.OFFER_COMPLAINT, texts.OFFER_CHOICES))
        return Step(
            replies,
            replace(asked, offered=result.suggestions, draft=masked if complaint else None),
            kind="question",
            score=result.score,
        )
    offer = (
        Reply(texts.OFFER_COMPLAINT, texts.OFFER_CHOICES)
        if complaint
        else Reply(texts.NO_ANSWER, (texts.CHOICE_HUMAN,))
    )
    return Step([offer], replace(asked, draft=masked), kind="question", score=result.score)
