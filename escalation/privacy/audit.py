"""The ledger of privacy runs: one `privacy_audit` row per purge and erasure, naming an
erased person only by the hash of their channel identity."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.privacy.apply import Counts
from storage.models import PrivacyAudit


def subject_hash(sender: str) -> str:
    """Return how the ledger names a person: the SHA-256 of their channel identity."""
    return hashlib.sha256(sender.encode("utf-8")).hexdigest()


def audit_row(
    action: str,
    actor: str,
    now: datetime,
    counts: Counts,
    *,
    cutoff: datetime | None = None,
    subject: str | None = None,
    run_key: str | None = None,
) -> PrivacyAudit:
    """Return the ledger row of one purge or erasure; add it to the run's session."""
    return PrivacyAudit(
        action=action,
        actor=actor[:80],
        at=now,
        cutoff=cutoff,
        run_key=run_key,
        subject=subject,
        counts=json.dumps(counts.as_dict()),
    )


async def erased_at(s: AsyncSession, sender: str) -> datetime | None:
    """Return when this person's record was last erased, if ever."""
    return (
        await s.execute(
            select(func.max(PrivacyAudit.at)).where(
                PrivacyAudit.action == "erase", PrivacyAudit.subject == subject_hash(sender)
            )
        )
    ).scalar_one_or_none()
