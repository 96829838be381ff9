"""The retention purge: what is older than the retention period goes (see the package's
docstring for what is deleted, anonymised and kept), on demand or once per cron slot."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.digests.cron import Cron, previous_fires
from escalation.privacy.apply import Counts, apply
from escalation.privacy.audit import audit_row
from escalation.privacy.scope import PrivacyError, retention_scope
from escalation.tickets.rules import REOPEN_WINDOW
from storage.attachments import AttachmentFolder
from storage.models import PrivacyAudit

log = logging.getLogger(__name__)


class _SlotTaken(Exception):
    """Another run claimed this scheduled purge first."""


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: datetime
    dry_run: bool
    counts: Counts


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
    files: AttachmentFolder | None = None,
) -> PurgeReport:
    """Delete or anonymise what is older than the retention (days, or a timedelta); the
    files attached to the tickets anonymised go from `files` too."""
    cutoff = cutoff_for(older_than, now)
    gone: list[str] = []
    async with sessions.begin() as s:
        counts = await apply(s, retention_scope(cutoff), dry=dry_run, gone_files=gone)
        if not dry_run:
            s.add(audit_row("purge", actor, now, counts, cutoff=cutoff))
    await remove_files(files, gone)
    if not dry_run:
        log.info("privacy: purged data before %s: %s", cutoff.isoformat(), counts.as_dict())
    return PurgeReport(cutoff, dry_run, counts)


async def remove_files(files: AttachmentFolder | None, paths: list[str]) -> None:
    """Remove the files whose rows a committed purge or erasure deleted."""
    if not paths:
        return
    if files is None:  # a caller without the folder: say what stays on disk
        log.warning("privacy: %d attached file(s) left on disk: no folder given", len(paths))
        return
    await files.remove(paths)


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
    files: AttachmentFolder | None = None,
) -> PurgeReport | None:
    """Run the purge of the latest cron slot unless it ran already (here or in another
    instance); return None when there was nothing to run."""
    key = purge_slot(cron, now)
    if key is None:
        return None
    cutoff = cutoff_for(older_than, now)
    gone: list[str] = []
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
            row = audit_row("purge", actor, now, Counts(), cutoff=cutoff, run_key=key)
            s.add(row)
            try:
                await s.flush()
            except IntegrityError:
                raise _SlotTaken from None
            counts = await apply(s, retention_scope(cutoff), dry=False, gone_files=gone)
            row.counts = json.dumps(counts.as_dict())
    except _SlotTaken:
        return None
    await remove_files(files, gone)
    log.info("privacy: scheduled purge before %s: %s", cutoff.isoformat(), counts.as_dict())
    return PurgeReport(cutoff, False, counts)
