"""Photos, files and voice notes from customers: which ticket keeps them, and what the
customer is told, whatever the channel."""

from __future__ import annotations

from escalation.tickets import notices
from escalation.tickets.files import (
    AttachResult,
    FetchFailed,
    FileLimits,
    Outcome,
    TicketFiles,
)
from handlers import texts
from handlers.types import AttachEffect, FlowState, Incoming, MyTicket, Reply, Step

FILE_KINDS = frozenset({"photo", "document", "voice"})
# A ticket still being worked takes files; a resolved or closed one does not.
_LIVE = frozenset({"new", "assigned", "waiting", "reopened"})


def on_non_text(msg: Incoming, state: FlowState, mine: MyTicket | None) -> Step:
    """Answer a message that is not text: a file goes to the sender's open ticket."""
    if msg.attachment is None or msg.kind not in FILE_KINDS:
        return Step([Reply(texts.NON_TEXT, (texts.CHOICE_HUMAN,))], state, kind=msg.kind)
    if state.intake_step is not None:  # the ticket is not there yet
        return Step([Reply(texts.FILE_DURING_INTAKE)], state, kind=msg.kind)
    if mine is None or mine.status not in _LIVE:
        choices = texts.OFFER_CHOICES if state.role is not None else ()
        return Step([Reply(texts.FILE_NO_TICKET, choices)], state, kind=msg.kind)
    return Step([], state, kind=msg.kind, effects=[AttachEffect(mine.reference)])


def result_text(result: AttachResult, kind: str, limits: FileLimits) -> str:
    """Return what the customer is told of their file."""
    label = notices.FILE_KIND_NAMES.get(kind, kind)
    limit = notices.file_size_text(limits.max_bytes)
    ref = result.reference
    if result.outcome is Outcome.ADDED:
        size = notices.file_size_text(result.size or 0)
        return texts.FILE_ADDED.format(kind=label, name=result.name, size=size, ref=ref)
    if result.outcome is Outcome.TOO_MANY:
        return texts.FILE_TOO_MANY.format(ref=ref, limit=limits.per_ticket, kind=label)
    if result.size is None:
        return texts.FILE_TOO_BIG_UNKNOWN.format(kind=label, limit=limit, ref=ref)
    size = notices.file_size_text(result.size)
    return texts.FILE_TOO_BIG.format(kind=label, size=size, limit=limit, ref=ref)


async def keep_file(files: TicketFiles | None, msg: Incoming, reference: str) -> Reply:
    """Store the message's file with the ticket; return what the customer is told."""
    label = notices.FILE_KIND_NAMES.get(msg.kind, msg.kind)
    if files is None or msg.attachment is None:
        return Reply(texts.FILE_FAILED.format(kind=label))
    try:
        result = await files.attach(
            reference,
            msg.sender,
            msg.attachment,
            msg.received_at,
            caption=msg.text.strip(),
            source=f"{msg.channel}:{msg.external_id}" if msg.external_id else None,
        )
    except FetchFailed:
        return Reply(texts.FILE_FAILED.format(kind=label))
    return Reply(result_text(result, msg.kind, files.limits))
