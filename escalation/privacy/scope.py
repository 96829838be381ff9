"""What one purge or erasure covers, as SQL conditions: a dry run counts with exactly the
conditions the real run deletes by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import aliased

from escalation.tickets.rules import ERASURE_MARKER, RETENTION_MARKER
from storage.models import Feedback, Handoff, Incident, Message, Ticket, TicketStatus, User

MessageFilter = Callable[[Any], ColumnElement[bool]]  # on Message or an alias of it


class PrivacyError(ValueError):
    """A purge, export or erasure that cannot be done as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What one purge or erasure covers."""

    messages: MessageFilter
    feedback: ColumnElement[bool]
    handoffs: ColumnElement[bool]
    tickets: ColumnElement[bool]  # on Ticket: those to anonymise
    users: ColumnElement[bool]  # on User: those who may be deleted or anonymised
    marker: str


def retention_scope(cutoff: datetime) -> Scope:
    """Return what a purge at this cut-off covers."""
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

    return Scope(
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


def person_scope(user_id: int) -> Scope:
    """Return what erasing one user covers: all of it."""
    return Scope(
        messages=lambda m: m.user_id == user_id,
        feedback=Feedback.user_id == user_id,
        handoffs=Handoff.user_id == user_id,
        tickets=Ticket.user_id == user_id,
        users=User.id == user_id,
        marker=ERASURE_MARKER,
    )
