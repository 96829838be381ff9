"""Declarations in progress on a chat (`incident_draft`): a person who declared without
saying enough is asked for the category, then for what happened; the answers wait here,
in the database, so another instance or a restart takes the next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.masking import mask_pii
from storage.models import IncidentDraft, IncidentLevel
from storage.retry import retrying

# A declaration left this long is dropped: an answer much later is not about it.
DRAFT_TTL = timedelta(minutes=30)
MAX_DETAIL = 2000


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    chat_id: int
    actor: str
    level: str
    category: str | None
    detail: str

    @property
    def reference(self) -> str:
        """Return what its buttons carry: "D42"."""
        return f"D{self.id}"


def draft_id(reference: str) -> int | None:
    """Return the id in a draft's reference ("D42"); None for anything else."""
    if len(reference) < 2 or reference[0] != "D" or not reference[1:].isdigit():
        return None
    return int(reference[1:])


def _draft(row: IncidentDraft) -> Draft:
    return Draft(row.id, row.chat_id, row.actor, row.level, row.category, row.detail)


class Drafts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @retrying
    async def start(
        self, chat_id: int, actor: str, level: str, detail: str, now: datetime
    ) -> Draft:
        """Begin a declaration; the person's earlier open one in this chat is dropped."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(IncidentDraft)
                .where(
                    IncidentDraft.chat_id == chat_id,
                    IncidentDraft.actor == actor,
                    IncidentDraft.closed_at.is_(None),
                )
                .values(closed_at=now)
            )
            row = IncidentDraft(
                chat_id=chat_id,
                actor=actor,
                level=IncidentLevel(level),
                category=None,
                detail=mask_pii(detail.strip())[:MAX_DETAIL],
                created_at=now,
            )
            s.add(row)
            await s.flush()
            return _draft(row)

    @retrying
    async def open_one(self, reference: str, actor: str, now: datetime) -> Draft | None:
        """Return the person's open declaration with this reference; None if it was
        declared, cancelled, dropped, or is someone else's."""
        found = draft_id(reference)
        if found is None:
            return None
        async with self._sessions() as s:
            row = await s.get(IncidentDraft, found)
            if row is None or not _open(row, now) or row.actor != actor:
                return None
            return _draft(row)

    @retrying
    async def awaiting_detail(self, chat_id: int, actor: str, now: datetime) -> Draft | None:
        """Return the person's open declaration in this chat that has its category but
        not yet what happened."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(IncidentDraft)
                    .where(
                        IncidentDraft.chat_id == chat_id,
                        IncidentDraft.actor == actor,
                        IncidentDraft.closed_at.is_(None),
                        IncidentDraft.category.is_not(None),
                        IncidentDraft.created_at > now - DRAFT_TTL,
                    )
                    .order_by(IncidentDraft.id.desc())
                    .limit(1)
                )
            ).scalars()
            row = next(iter(rows), None)
            return None if row is None or row.detail else _draft(row)

    @retrying
    async def choose(self, draft: Draft, category: str) -> Draft:
        """Record the category chosen for an open declaration."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(IncidentDraft)
                .where(IncidentDraft.id == draft.id, IncidentDraft.closed_at.is_(None))
                .values(category=category)
            )
        return Draft(draft.id, draft.chat_id, draft.actor, draft.level, category, draft.detail)

    @retrying
    async def close(self, draft: Draft, now: datetime) -> bool:
        """Close an open declaration (declared or cancelled); False if it was closed
        already (a second press, or another instance got there first)."""
        async with self._sessions.begin() as s:
            done = await s.execute(
                update(IncidentDraft)
                .where(IncidentDraft.id == draft.id, IncidentDraft.closed_at.is_(None))
                .values(closed_at=now)
            )
            return bool(getattr(done, "rowcount", 0))

    @retrying
    async def declared(self, draft: Draft, incident_id: int) -> None:
        """Note which incident a declaration became."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(IncidentDraft)
                .where(IncidentDraft.id == draft.id)
                .values(incident_id=incident_id)
            )


def _open(row: IncidentDraft, now: datetime) -> bool:
    return row.closed_at is None and row.created_at > now - DRAFT_TTL
