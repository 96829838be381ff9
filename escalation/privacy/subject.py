"""One person's rights: the export of everything stored about them (PIPL Art. 45) and its
erasure (Art. 47), by the channel identity an operator gives."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.privacy.apply import Counts, apply
from escalation.privacy.audit import audit_row, erased_at, subject_hash
from escalation.privacy.purge import remove_files
from escalation.privacy.scope import PrivacyError, person_scope
from storage.attachments import AttachmentFolder
from storage.models import (
    Feedback,
    Handoff,
    Incident,
    Message,
    Ticket,
    TicketEntry,
    TicketFile,
    TicketStatus,
    User,
)

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")


class UnknownSubject(PrivacyError):
    """Nothing is stored about this person."""


class ErasureRefused(PrivacyError):
    """The person has tickets still being worked; nothing was changed."""


@dataclass(frozen=True, slots=True)
class ErasureReport:
    subject: str  # the channel identity, e.g. "telegram:5512"
    counts: Counts
    already_erased_at: datetime | None = None  # a repeated request: nothing to do


def subject_key(user: str) -> str:
    """Return the channel identity ("telegram:5512", "web:abc") an operator gave; a bare
    number is a Telegram user id."""
    text = user.strip()
    if text.isdigit():
        return f"telegram:{text}"
    channel, sep, ident = text.partition(":")
    if not sep or not channel or not ident.strip():
        raise PrivacyError(
            f"{user!r} is not a channel identity: give it as telegram:5512 or web:SESSION "
            "(a bare number is a Telegram user id)."
        )
    return text


def _unknown(sender: str, erased: datetime | None) -> UnknownSubject:
    if erased is not None:
        return UnknownSubject(
            f"nothing is stored about {sender}: their record was erased on {_iso(erased)}."
        )
    return UnknownSubject(
        f"nothing is stored about {sender}: check the identity (telegram:ID or web:SESSION, "
        "as in the tickets' thread); a record past the retention period has been purged."
    )


async def erase_user(
    sessions: async_sessionmaker[AsyncSession],
    user: str,
    now: datetime,
    actor: str,
    files: AttachmentFolder | None = None,
) -> ErasureReport:
    """Delete a person's conversation record and the files they attached, and anonymise
    their tickets (statistics kept)."""
    sender = subject_key(user)
    gone: list[str] = []
    async with sessions.begin() as s:
        row = (
            await s.execute(select(User).where(User.sender == sender).with_for_update())
        ).scalar_one_or_none()
        if row is None:
            erased = await erased_at(s, sender)
            if erased is not None:
                return ErasureReport(sender, Counts(), already_erased_at=erased)
            raise _unknown(sender, None)
        busy = list(
            (
                await s.execute(
                    select(Ticket.reference)
                    .where(Ticket.user_id == row.id, Ticket.status != TicketStatus.CLOSED)
                    .order_by(Ticket.id)
                )
            ).scalars()
        )
        if busy:
            raise ErasureRefused(
                f"{sender} has tickets still being worked: {', '.join(busy)}. Close them "
                "first (/close REF 处理结果, or the console), then erase; nothing was changed."
            )
        counts = await apply(s, person_scope(row.id), dry=False, gone_files=gone)
        s.add(audit_row("erase", actor, now, counts, subject=subject_hash(sender)))
    await remove_files(files, gone)
    log.info("privacy: erased a user's record: %s", counts.as_dict())
    return ErasureReport(sender, counts)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(SHANGHAI).isoformat()


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def export_user(sessions: async_sessionmaker[AsyncSession], user: str) -> dict[str, Any]:
    """Return everything stored about one person, ready for json.dumps(ensure_ascii=False)."""
    sender = subject_key(user)
    async with sessions() as s:
        u = (await s.execute(select(User).where(User.sender == sender))).scalar_one_or_none()
        if u is None:
            raise _unknown(sender, await erased_at(s, sender))
        messages = (
            await s.execute(
                select(Message, Incident.reference)
                .outerjoin(Incident, Incident.id == Message.incident_id)
                .where(Message.user_id == u.id)
                .order_by(Message.created_at, Message.id)
            )
        ).all()
        feedback = (
            await s.execute(select(Feedback).where(Feedback.user_id == u.id).order_by(Feedback.id))
        ).scalars()
        handoffs = (
            await s.execute(select(Handoff).where(Handoff.user_id == u.id).order_by(Handoff.id))
        ).scalars()
        tickets = list(
            (
                await s.execute(select(Ticket).where(Ticket.user_id == u.id).order_by(Ticket.id))
            ).scalars()
        )
        threads = await _threads(s, tickets)
        files = await _files(s, tickets)
        return {
            "subject": sender,
            "profile": _profile_json(u),
            "messages": [_message_json(m, incident) for m, incident in messages],
            "feedback": [_feedback_json(f) for f in feedback],
            "handoffs": [_handoff_json(h) for h in handoffs],
            "tickets": [_ticket_json(t, threads[t.id], files[t.id]) for t in tickets],
        }


async def _threads(s: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, list[dict[str, Any]]]:
    entries: dict[int, list[dict[str, Any]]] = {t.id: [] for t in tickets}
    if tickets:
        for e in (
            await s.execute(
                select(TicketEntry)
                .where(TicketEntry.ticket_id.in_(list(entries)))
                .order_by(TicketEntry.id)
            )
        ).scalars():
            # Agents are staff: the thread names their part, not them.
            entries[e.ticket_id].append({"kind": e.kind, "text": e.text, "at": _iso(e.at)})
    return entries


async def _files(s: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, list[dict[str, Any]]]:
    """The files each ticket keeps; `stored_as` is the path in the attachments folder."""
    files: dict[int, list[dict[str, Any]]] = {t.id: [] for t in tickets}
    if tickets:
        for f in (
            await s.execute(
                select(TicketFile)
                .where(TicketFile.ticket_id.in_(list(files)))
                .order_by(TicketFile.id)
            )
        ).scalars():
            files[f.ticket_id].append(
                {
                    "kind": f.kind.value,
                    "name": f.name,
                    "mime": f.mime,
                    "size": f.size,
                    "sha256": f.sha256,
                    "stored_as": f.path,
                    "at": _iso(f.at),
                }
            )
    return files


def _profile_json(u: User) -> dict[str, Any]:
    return {
        "channel": u.channel,
        "sender": u.sender,
        "role": u.role,
        "first_seen": _iso(u.first_seen),
        "last_seen": _iso(u.last_seen),
        "state": _json_or_text(u.state),
    }


def _message_json(m: Message, incident: str | None) -> dict[str, Any]:
    return {
        "direction": m.direction,
        "kind": m.kind,
        "text": m.text,
        "choices": _json_or_text(m.choices),
        "at": _iso(m.created_at),
        "kb_entry_id": m.kb_entry_id,
        "score": m.score,
        "incident": incident,
        "risk_level": m.risk_level,
        "risk_tags": [t for t in (m.risk_tags or "").split(",") if t],
    }


def _feedback_json(f: Feedback) -> dict[str, Any]:
    return {"kb_entry_id": f.kb_entry_id, "helpful": bool(f.helpful), "at": _iso(f.created_at)}


def _handoff_json(h: Handoff) -> dict[str, Any]:
    return {
        "channel": h.channel,
        "reason": h.reason,
        "last_question": h.last_question,
        "status": h.status,
        "at": _iso(h.created_at),
    }


def _ticket_json(
    t: Ticket, thread: list[dict[str, Any]], files: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "reference": t.reference,
        "type": t.type,
        "category": t.category,
        "priority": t.priority,
        "status": t.status.value,
        "summary": t.summary,
        "order_no": t.order_no,
        "merchant_name": t.merchant_name,
        "contact_phone": t.contact_phone,
        "opened_at": _iso(t.opened_at),
        "first_response_at": _iso(t.first_response_at),
        "resolved_at": _iso(t.resolved_at),
        "closed_at": _iso(t.closed_at),
        "csat_score": t.csat_score,
        "csat_comment": t.csat_comment,
        "thread": thread,
        "files": files,
    }


def export_counts(export: dict[str, Any]) -> dict[str, int]:
    """Return how many messages, feedback, hand-offs and tickets an export holds."""
    return {key: len(export[key]) for key in ("messages", "feedback", "handoffs", "tickets")}
