"""The work of a purge or an erasure: delete and anonymise what a scope covers, in
foreign-key order, and count it (a dry run counts by the same conditions, changing nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from escalation.privacy.scope import Scope
from escalation.tickets.rules import ANONYMISED_MARKERS
from storage.models import (
    Feedback,
    Handoff,
    IncidentSignal,
    Message,
    Outbox,
    Ticket,
    TicketAudit,
    TicketEntry,
    TicketFile,
    User,
)

MARKERS = ANONYMISED_MARKERS
CUSTOMER = "customer"  # what the thread and audit call an anonymised ticket's customer
TOMBSTONE = "anonymised:#"  # + user id; the part after ":" is never a chat id
# Audit fields whose before/after are the desk's own vocabulary, not anyone's words: kept,
# so the trail still shows who took the ticket, when its status and priority changed and
# what rating it got.
STRUCTURED_FIELDS = ("status", "assignee", "priority", "csat_score")
CHUNK = 500  # ids per IN (...) list: well under both databases' parameter limits


@dataclass(frozen=True, slots=True)
class Counts:
    """Rows a purge or erasure deleted or anonymised (or would, in a dry run)."""

    messages: int = 0
    feedback: int = 0
    handoffs: int = 0
    outbox_deleted: int = 0
    outbox_cleared: int = 0
    tickets: int = 0  # anonymised
    files: int = 0  # files customers attached to those tickets, deleted
    users_deleted: int = 0
    users_anonymised: int = 0
    states_cleared: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())


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


async def apply(
    s: AsyncSession, scope: Scope, *, dry: bool, gone_files: list[str] | None = None
) -> Counts:
    """Delete and anonymise what the scope covers, in foreign-key order; count it.

    The paths of the attached files whose rows went are added to `gone_files`: the caller
    removes them from the attachments folder once the transaction has committed."""
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
    # The outbox first: its copies of the messages point at them.
    outbox_deleted = await _delete(s, Outbox, Outbox.message_id.in_(expired_ids), dry)
    outbox_cleared = await _clear_outbox(s, scope, expired_ids, ticket_ids, dry)

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

    tickets = files = 0
    for chunk in _chunks(ticket_ids):
        files += await _delete_files(s, chunk, dry, gone_files)
        tickets += await _anonymise_tickets(s, chunk, scope.marker, dry)

    users_deleted, users_anonymised, states_cleared = await _users(s, scope, dry)
    return Counts(
        messages=messages,
        feedback=feedback,
        handoffs=handoffs,
        outbox_deleted=outbox_deleted,
        outbox_cleared=outbox_cleared,
        tickets=tickets,
        files=files,
        users_deleted=users_deleted,
        users_anonymised=users_anonymised,
        states_cleared=states_cleared,
    )


async def _clear_outbox(
    s: AsyncSession,
    scope: Scope,
    expired_ids: Select[int],
    ticket_ids: Sequence[int],
    dry: bool,
) -> int:
    """Blank the outbox rows that quote what goes: risk alerts and the tickets' copies."""
    # A high-risk message's alert to the supervisors quotes it (key "risk:<message id>:…").
    risky = list(
        (
            await s.execute(
                select(Message.id).where(scope.messages(Message), Message.risk_level.is_not(None))
            )
        ).scalars()
    )
    cleared_text = {
        "text": scope.marker,
        "buttons": "[]",
        "attachment": None,
        "attachment_name": None,
        "attachment_ref": None,
    }
    cleared = 0
    for chunk in _chunks(risky):
        cleared += await _update(
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
        cleared += await _update(
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
    return cleared


async def _delete_files(
    s: AsyncSession, ids: Sequence[int], dry: bool, gone: list[str] | None
) -> int:
    """Delete the rows of the files attached to these tickets; note their paths."""
    where = TicketFile.ticket_id.in_(ids)
    if not dry and gone is not None:
        gone.extend((await s.execute(select(TicketFile.path).where(where))).scalars())
    return await _delete(s, TicketFile, where, dry)


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


async def _users(s: AsyncSession, scope: Scope, dry: bool) -> tuple[int, int, int]:
    """Delete users left with nothing, keep those left with anonymised tickets only as a
    pseudonym, and forget the saved chat state of the rest in scope."""
    deletable, pseudonymous, forgettable = await _sort_users(s, scope)
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


async def _sort_users(s: AsyncSession, scope: Scope) -> tuple[list[int], list[int], list[int]]:
    """Return the users in scope to delete, to keep as a pseudonym, and to forget the chat
    state of."""
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
    return deletable, pseudonymous, forgettable
