"""Retention and the data subject's rights: the purge (PIPL Art. 19), a person's export and
erasure (Art. 45, 47).

What a purge past the cut-off does:

- **Deleted**: the conversation record — `message` rows, `answer_feedback`, `handoff` — and
  the outbox copies of those messages (the replies and desk messages sent to the person,
  which carry their chat id). Users left with nothing are deleted.
- **Anonymised**: closed tickets closed and last changed before the cut-off. Their free text
  (summary, thread entries, order number, merchant, call-back phone, rating comment, the
  audit trail's free-text before/after, the agents' chat copies in the outbox) becomes a
  fixed marker or NULL, and the customer's identity in the thread and audit becomes
  "customer". The row keeps its reference, type, category, priority, status, assignee,
  times, SLA clocks and their results, and the CSAT score, so the digests' and reports'
  ticket numbers stay what they were. A user whose only remains are such tickets is kept
  as a pseudonym ("anonymised:#42", never a number, so nothing can be sent to it):
  `ticket.user_id` must point somewhere.
- **Kept**: everything of a user with a ticket that is not closed (open tickets and the
  conversation around them are live work); messages about an incident that is not resolved
  yet (and the replies to them): the evidence of a running incident; the incidents, their
  timelines and reports, digests and their ledger (the platform's own records, with masked
  excerpts only); agents and their console sessions (staff, not data subjects).

The cut-off is at least the reopen window: a closed ticket may be reopened by its customer
for seven days. Every purge and erasure writes a `privacy_audit` row; a dry run counts by
the very conditions the purge deletes by, and writes nothing, not even that row. Purging is
idempotent: every step selects only what is still there (or not yet marked), so a second
run at the same cut-off changes nothing; scheduled purges are also claimed once per slot
by a unique ledger key, so two instances on one database run each slot once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from escalation.digests.schedule import Cron, previous_fires
from escalation.tickets.rules import (
    ANONYMISED_MARKERS,
    ERASURE_MARKER,
    REOPEN_WINDOW,
    RETENTION_MARKER,
)
from storage.models import (
    Feedback,
    Handoff,
    Incident,
    IncidentSignal,
    Message,
    Outbox,
    PrivacyAudit,
    Ticket,
    TicketAudit,
    TicketEntry,
    TicketStatus,
    User,
)

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARKERS = ANONYMISED_MARKERS
CUSTOMER = "customer"  # what the thread and audit call an anonymised ticket's customer
TOMBSTONE = "anonymised:#"  # + user id; the part after ":" is never a chat id
# Audit fields whose before/after are the desk's own vocabulary, not anyone's words: kept,
# so the trail still shows who took the ticket, when its status and priority changed and
# what rating it got.
STRUCTURED_FIELDS = ("status", "assignee", "priority", "csat_score")
CHUNK = 500  # ids per IN (...) list: well under both databases' parameter limits


class PrivacyError(ValueError):
    """A purge, export or erasure that cannot be done as asked; the message says why."""


class UnknownSubject(PrivacyError):
    """Nothing is stored about this person."""


class ErasureRefused(PrivacyError):
    """The person has tickets still being worked; nothing was changed."""


class _SlotTaken(Exception):
    """Another run claimed this scheduled purge first."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Rows a purge or erasure deleted or anonymised (or would, in a dry run)."""

    messages: int = 0
    feedback: int = 0
    handoffs: int = 0
    outbox_deleted: int = 0
    outbox_cleared: int = 0
    tickets: int = 0  # anonymised
    users_deleted: int = 0
    users_anonymised: int = 0
    states_cleared: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: datetime
    dry_run: bool
    counts: Counts


@dataclass(frozen=True, slots=True)
class ErasureReport:
    subject: str  # the channel identity, e.g. "telegram:5512"
    counts: Counts
    already_erased_at: datetime | None = None  # a repeated request: nothing to do


# ---------------------------------------------------------------------- identities
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


def _subject_hash(sender: str) -> str:
    return hashlib.sha256(sender.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- scopes
MessageFilter = Callable[[Any], ColumnElement[bool]]  # on Message or an alias of it


@dataclass(frozen=True, slots=True)
class _Scope:
    """What one purge or erasure covers, as SQL conditions, so that a dry run counts with
    exactly the conditions the real run deletes by."""

    messages: MessageFilter
    feedback: ColumnElement[bool]
    handoffs: ColumnElement[bool]
    tickets: ColumnElement[bool]  # on Ticket: those to anonymise
    users: ColumnElement[bool]  # on User: those who may be deleted or anonymised
    marker: str


def _retention_scope(cutoff: datetime) -> _Scope:
    # Users with a ticket still being worked keep everything until it closes.
    busy = select(Ticket.user_id).where(Ticket.status != TicketStatus.CLOSED).correlate(None)
    live_incidents = select(Incident.id).where(Incident.status != "resolved").correlate(None)
    held = aliased(Message)
    held_ids = select(held.id).where(held.incident_id.in_(live_incidents)).correlate(None)

    def messages(m: Any) -> ColumnElement[bool]:
        # Every part is true or false (never NULL), so NOT of it is exact.
        return and_(
            m.created_at < cutoff,
            m.user_id.not_in(busy),
            or_(m.incident_id.is_(None), m.incident_id.not_in(live_incidents)),
            or_(m.reply_to_id.is_(None), m.reply_to_id.not_in(held_ids)),
        )

    return _Scope(
        messages=messages,
        feedback=and_(Feedback.created_at < cutoff, Feedback.user_id.not_in(busy)),
        handoffs=and_(Handoff.created_at < cutoff, Handoff.user_id.not_in(busy)),
        tickets=and_(
            Ticket.status == TicketStatus.CLOSED,
            Ticket.closed_at.is_not(None),
            Ticket.closed_at < cutoff,
            or_(Ticket.updated_at.is_(None), Ticket.updated_at < cutoff),
        ),
        users=and_(User.last_seen < cutoff, User.id.not_in(busy)),
        marker=RETENTION_MARKER,
    )


def _person_scope(user_id: int) -> _Scope:
    return _Scope(
        messages=lambda m: m.user_id == user_id,
        feedback=Feedback.user_id == user_id,
        handoffs=Handoff.user_id == user_id,
        tickets=Ticket.user_id == user_id,
        users=User.id == user_id,
        marker=ERASURE_MARKER,
    )


# ---------------------------------------------------------------------- the work
def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _count(s: AsyncSession, model: Any, where: ColumnElement[bool]) -> int:
    return int(
        (await s.execute(select(func.count()).select_from(model).where(where))).scalar_one()
    )


async def _delete(s: AsyncSession, model: Any, where: ColumnElement[bool], dry: bool) -> int:
    if dry:
        return await _count(s, model, where)
    return _rows(
        await s.execute(delete(model).where(where).execution_options(synchronize_session=False))
    )


async def _update(
    s: AsyncSession, model: Any, where: ColumnElement[bool], values: dict[str, Any], dry: bool
) -> int:
    if dry:
        return await _count(s, model, where)
    return _rows(
        await s.execute(
            update(model)
            .where(where)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )


def _marked(column: Any, marker: str) -> Any:
    """The marker where the column had a value, NULL where it had none."""
    return case((column.is_(None), null()), else_=literal(marker))


async def _apply(s: AsyncSession, scope: _Scope, *, dry: bool) -> Counts:
    """Delete and anonymise what the scope covers, in foreign-key order; count it."""
    marker = scope.marker
    expired = aliased(Message)
    expired_ids = select(expired.id).where(scope.messages(expired))
    ticket_ids = list(
        (
            await s.execute(
                select(Ticket.id)
                .where(scope.tickets, Ticket.summary.not_in(MARKERS))
                .order_by(Ticket.id)
            )
        ).scalars()
    )
    # A high-risk message's alert to the supervisors quotes it (key "risk:<message id>:…").
    risky = list(
        (
            await s.execute(
                select(Message.id).where(scope.messages(Message), Message.risk_level.is_not(None))
            )
        ).scalars()
    )
    cleared_text = {"text": marker, "buttons": "[]", "attachment": None, "attachment_name": None}

    # The outbox first: its copies of the messages point at them.
    outbox_deleted = await _delete(s, Outbox, Outbox.message_id.in_(expired_ids), dry)
    outbox_cleared = 0
    for chunk in _chunks(risky):
        outbox_cleared += await _update(
            s,
            Outbox,
            and_(
                Outbox.purpose == "risk",
                or_(*(Outbox.key.like(f"risk:{i}:%") for i in chunk)),
                Outbox.text.not_in(MARKERS),
            ),
            cleared_text,
            dry,
        )
    for chunk in _chunks(ticket_ids):
        outbox_cleared += await _update(
            s,
            Outbox,
            and_(
                Outbox.ticket_id.in_(chunk),
                Outbox.text.not_in(MARKERS),
                # Rows of the deleted messages are gone in a real run; a dry run skips them.
                Outbox.message_id.not_in(expired_ids) | Outbox.message_id.is_(None),
            ),
            cleared_text,
            dry,
        )

    feedback = await _delete(s, Feedback, scope.feedback, dry)
    handoffs = await _delete(s, Handoff, scope.handoffs, dry)
    if not dry:
        # A message kept (a later reply, one about a live incident) may answer one that goes.
        await s.execute(
            update(Message)
            .where(Message.reply_to_id.in_(expired_ids))
            .values(reply_to_id=None)
            .execution_options(synchronize_session=False)
        )
    messages = await _delete(s, Message, scope.messages(Message), dry)

    tickets = 0
    for chunk in _chunks(ticket_ids):
        tickets += await _anonymise_tickets(s, chunk, marker, dry)

    users_deleted, users_anonymised, states_cleared = await _users(s, scope, dry)
    return Counts(
        messages=messages,
        feedback=feedback,
        handoffs=handoffs,
        outbox_deleted=outbox_deleted,
        outbox_cleared=outbox_cleared,
        tickets=tickets,
        users_deleted=users_deleted,
        users_anonymised=users_anonymised,
        states_cleared=states_cleared,
    )


async def _anonymise_tickets(s: AsyncSession, ids: Sequence[int], marker: str, dry: bool) -> int:
    todo = and_(Ticket.id.in_(ids), Ticket.summary.not_in(MARKERS))
    if dry:
        return await _count(s, Ticket, todo)
    # The customer's identity in the audit trail, read before their user row changes.
    owner = (
        select(User.sender)
        .join(Ticket, Ticket.user_id == User.id)
        .where(Ticket.id == TicketAudit.ticket_id)
        .scalar_subquery()
    )
    await s.execute(
        update(TicketAudit)
        .where(TicketAudit.ticket_id.in_(ids), TicketAudit.actor == owner)
        .values(actor=CUSTOMER)
        .execution_options(synchronize_session=False)
    )
    await s.execute(
        update(TicketAudit)
        .where(
            TicketAudit.ticket_id.in_(ids),
            TicketAudit.action != "open",  # its "after" is the reference
            or_(TicketAudit.field.is_(None), TicketAudit.field.not_in(STRUCTURED_FIELDS)),
        )
        .values(
            before=_marked(TicketAudit.before, marker), after=_marked(TicketAudit.after, marker)
        )
        .execution_options(synchronize_session=False)
    )
    await s.execute(
        update(TicketEntry)
        .where(TicketEntry.ticket_id.in_(ids))
        .values(
            text=marker,
            author=case((TicketEntry.kind == "customer", CUSTOMER), else_=TicketEntry.author),
        )
        .execution_options(synchronize_session=False)
    )
    return _rows(
        await s.execute(
            update(Ticket)
            .where(todo)
            .values(
                summary=marker,
                order_no=None,
                merchant_name=None,
                contact_phone=None,
                csat_comment=_marked(Ticket.csat_comment, marker),
                source=None,  # "telegram:812": the channel message that opened it
            )
            .execution_options(synchronize_session=False)
        )
    )


async def _users(s: AsyncSession, scope: _Scope, dry: bool) -> tuple[int, int, int]:
    """Delete users left with nothing, keep those left with anonymised tickets only as a
    pseudonym, and forget the saved chat state of the rest in scope."""
    # Pseudonyms are done with; the rest is looked up by indexed user id, a chunk at a
    # time, never with a subquery per user (SQLite would scan feedback once per user).
    rows = (
        await s.execute(
            select(User.id, User.state).where(scope.users, ~User.sender.startswith(TOMBSTONE))
        )
    ).all()
    states = {int(uid): str(state) for uid, state in rows}
    kept = aliased(Message)
    keeps: set[int] = set()
    has_tickets: set[int] = set()
    live: set[int] = set()
    for chunk in _chunks(sorted(states)):
        for query in (
            select(kept.user_id).where(kept.user_id.in_(chunk), ~scope.messages(kept)),
            select(Feedback.user_id).where(Feedback.user_id.in_(chunk), ~scope.feedback),
            select(Handoff.user_id).where(Handoff.user_id.in_(chunk), ~scope.handoffs),
        ):
            keeps.update((await s.execute(query.distinct())).scalars())
        has_tickets.update(
            (
                await s.execute(select(Ticket.user_id).where(Ticket.user_id.in_(chunk)).distinct())
            ).scalars()
        )
        # A ticket this run leaves as it is (closed within the retention): its customer
        # may still rate it or reopen it, from the same chat and flow state.
        live.update(
            (
                await s.execute(
                    select(Ticket.user_id)
                    .where(
                        Ticket.user_id.in_(chunk), Ticket.summary.not_in(MARKERS), ~scope.tickets
                    )
                    .distinct()
                )
            ).scalars()
        )
    gone = [u for u in sorted(states) if u not in keeps]
    deletable = [u for u in gone if u not in has_tickets]
    pseudonymous = [u for u in gone if u in has_tickets and u not in live]
    forgettable = [u for u in sorted(states) if u in keeps and u not in live and states[u] != "{}"]
    if dry:
        return len(deletable), len(pseudonymous), len(forgettable)

    cleared = deleted = anonymised = 0
    for chunk in _chunks(forgettable):
        cleared += await _update(
            s, User, and_(User.id.in_(chunk), User.state != "{}"), {"state": "{}"}, dry
        )
    for chunk in _chunks(deletable + pseudonymous):
        await s.execute(
            update(IncidentSignal)
            .where(IncidentSignal.user_id.in_(chunk))
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )
    # Checked again in the statement: a user who wrote meanwhile has a new message and a
    # new last_seen, and is left alone.
    no_messages = ~exists().where(Message.user_id == User.id)
    for chunk in _chunks(deletable):
        deleted += await _delete(
            s,
            User,
            and_(
                User.id.in_(chunk),
                scope.users,
                no_messages,
                ~exists().where(Ticket.user_id == User.id),
            ),
            dry,
        )
    for chunk in _chunks(pseudonymous):
        anonymised += await _update(
            s,
            User,
            and_(User.id.in_(chunk), scope.users, no_messages),
            {
                "sender": literal(TOMBSTONE, String) + cast(User.id, String),
                "role": None,
                "state": "{}",
            },
            dry,
        )
    return deleted, anonymised, cleared


# ---------------------------------------------------------------------- purge
def cutoff_for(older_than: timedelta | int, now: datetime) -> datetime:
    """Return the instant before which data goes; raise PrivacyError for too short a period."""
    period = timedelta(days=older_than) if isinstance(older_than, int) else older_than
    if period < REOPEN_WINDOW:
        raise PrivacyError(
            f"a retention of {period.days} day(s) is too short: a closed ticket may be "
            f"reopened for {REOPEN_WINDOW.days} days; give at least {REOPEN_WINDOW.days}."
        )
    return now - period


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    older_than: timedelta | int,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "cli",
) -> PurgeReport:
    """Delete or anonymise what is older than the retention (days, or a timedelta)."""
    cutoff = cutoff_for(older_than, now)
    async with sessions.begin() as s:
        counts = await _apply(s, _retention_scope(cutoff), dry=dry_run)
        if not dry_run:
            s.add(_audit_row("purge", actor, now, counts, cutoff=cutoff))
    if not dry_run:
        log.info("privacy: purged data before %s: %s", cutoff.isoformat(), counts.as_dict())
    return PurgeReport(cutoff, dry_run, counts)


def purge_slot(cron: Cron, now: datetime) -> str | None:
    """Return the ledger key of the latest scheduled purge due at `now`, if any."""
    fires = previous_fires(cron, now, 1)
    return f"purge:{fires[0].isoformat()}" if fires else None


async def scheduled_purge(
    sessions: async_sessionmaker[AsyncSession],
    cron: Cron,
    older_than: timedelta | int,
    now: datetime,
    *,
    actor: str = "scheduler",
) -> PurgeReport | None:
    """Run the purge of the latest cron slot unless it ran already (here or in another
    instance); return None when there was nothing to run."""
    key = purge_slot(cron, now)
    if key is None:
        return None
    cutoff = cutoff_for(older_than, now)
    async with sessions() as s:
        taken = (
            await s.execute(select(PrivacyAudit.id).where(PrivacyAudit.run_key == key))
        ).scalar_one_or_none()
    if taken is not None:
        return None
    try:
        async with sessions.begin() as s:
            # The ledger row is the transaction's first write: a second instance waits on
            # it (PostgreSQL's unique index, SQLite's write lock), then finds it taken.
            row = _audit_row("purge", actor, now, Counts(), cutoff=cutoff, run_key=key)
            s.add(row)
            try:
                await s.flush()
            except IntegrityError:
                raise _SlotTaken from None
            counts = await _apply(s, _retention_scope(cutoff), dry=False)
            row.counts = json.dumps(counts.as_dict())
    except _SlotTaken:
        return None
    log.info("privacy: scheduled purge before %s: %s", cutoff.isoformat(), counts.as_dict())
    return PurgeReport(cutoff, False, counts)


def _audit_row(
    action: str,
    actor: str,
    now: datetime,
    counts: Counts,
    *,
    cutoff: datetime | None = None,
    subject: str | None = None,
    run_key: str | None = None,
) -> PrivacyAudit:
    return PrivacyAudit(
        action=action,
        actor=actor[:80],
        at=now,
        cutoff=cutoff,
        run_key=run_key,
        subject=subject,
        counts=json.dumps(counts.as_dict()),
    )


# ---------------------------------------------------------------------- one person
async def _erased_at(s: AsyncSession, sender: str) -> datetime | None:
    return (
        await s.execute(
            select(func.max(PrivacyAudit.at)).where(
                PrivacyAudit.action == "erase", PrivacyAudit.subject == _subject_hash(sender)
            )
        )
    ).scalar_one_or_none()


def _unknown(sender: str, erased_at: datetime | None) -> UnknownSubject:
    if erased_at is not None:
        return UnknownSubject(
            f"nothing is stored about {sender}: their record was erased on {_iso(erased_at)}."
        )
    return UnknownSubject(
        f"nothing is stored about {sender}: check the identity (telegram:ID or web:SESSION, "
        "as in the tickets' thread); a record past the retention period has been purged."
    )


async def erase_user(
    sessions: async_sessionmaker[AsyncSession], user: str, now: datetime, actor: str
) -> ErasureReport:
    """Delete a person's conversation record and anonymise their tickets (statistics kept)."""
    sender = subject_key(user)
    async with sessions.begin() as s:
        row = (
            await s.execute(select(User).where(User.sender == sender).with_for_update())
        ).scalar_one_or_none()
        if row is None:
            erased_at = await _erased_at(s, sender)
            if erased_at is not None:
                return ErasureReport(sender, Counts(), already_erased_at=erased_at)
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
        counts = await _apply(s, _person_scope(row.id), dry=False)
        s.add(_audit_row("erase", actor, now, counts, subject=_subject_hash(sender)))
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
            raise _unknown(sender, await _erased_at(s, sender))
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
        return {
            "subject": sender,
            "profile": {
                "channel": u.channel,
                "sender": u.sender,
                "role": u.role,
                "first_seen": _iso(u.first_seen),
                "last_seen": _iso(u.last_seen),
                "state": _json_or_text(u.state),
            },
            "messages": [
                {
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
                for m, incident in messages
            ],
            "feedback": [
                {
                    "kb_entry_id": f.kb_entry_id,
                    "helpful": bool(f.helpful),
                    "at": _iso(f.created_at),
                }
                for f in feedback
            ],
            "handoffs": [
                {
                    "channel": h.channel,
                    "reason": h.reason,
                    "last_question": h.last_question,
                    "status": h.status,
                    "at": _iso(h.created_at),
                }
                for h in handoffs
            ],
            "tickets": [
                {
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
                    "thread": entries[t.id],
                }
                for t in tickets
            ],
        }


def export_counts(export: dict[str, Any]) -> dict[str, int]:
    """Return how many messages, feedback, hand-offs and tickets an export holds."""
    return {key: len(export[key]) for key in ("messages", "feedback", "handoffs", "tickets")}
