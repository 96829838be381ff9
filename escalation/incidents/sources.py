"""Where incidents come from besides a person declaring one: signals (risky messages,
watched phrases, tickets of a category or about one merchant) counted against the plan's
triggers, and signed alerts from outside monitoring."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents.plan import EmergencyPlan, Level, Trigger
from escalation.incidents.records import (
    LEVEL_ORDER,
    Context,
    IncidentView,
    add_event,
    notify,
)
from knowledge.masking import mask_pii
from storage.models import AlertNonce, Incident, IncidentLevel, IncidentSignal

ALERT_WINDOW = 300  # seconds an external alert's timestamp may be off


class Replayed(Exception):
    """An alert's signature was recorded before: the alert is a replay."""


class OpenedElsewhere(Exception):
    """An alert's incident was opened by another in the same instant; it attached there."""

    def __init__(self, view: IncidentView) -> None:
        super().__init__(view.reference)
        self.view = view


@dataclass(frozen=True, slots=True)
class Hit:
    """A trigger whose threshold the signals reached: what the incident would be."""

    level: Level
    key: str
    category: str | None
    merchant: str | None
    title: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value for an alert body: sha256=<hex HMAC>."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def use_nonce(s: AsyncSession, nonce: str | None, at: datetime) -> None:
    """Record an alert's signature in the transaction `s`; Replayed if seen before."""
    if nonce is None:
        return
    s.add(AlertNonce(signature=nonce[:64], at=at))
    try:
        await s.flush()
    except IntegrityError:
        raise Replayed() from None


def keys_for_ticket(category: str, merchant: str | None) -> list[str]:
    """Return the signal keys of a new ticket."""
    keys = [f"category:{category}"]
    if merchant:  # a name typed by a customer: no number in it leaves masked
        keys.append(f"merchant:{mask_pii(merchant)[:100]}")
    return keys


def keys_for_risk(plan: EmergencyPlan, tags: Sequence[str]) -> list[str]:
    """Return the signal keys of a high-risk message with these tags."""
    return [
        f"risk:{n}"
        for n, trigger in enumerate(plan.triggers)
        if trigger.risk and set(trigger.risk) & set(tags)
    ]


def keys_for_text(plan: EmergencyPlan, text: str) -> list[str]:
    """Return the signal keys of a message with a watched phrase in it."""
    return [
        f"phrases:{n}"
        for n, trigger in enumerate(plan.triggers)
        if trigger.phrases and any(p in text for p in trigger.phrases)
    ]


def alert_key(title: str, category: str | None) -> str:
    """Return the key an alert opens its incident under: one open incident per key."""
    return f"category:{category}" if category else f"alert:{title[:100]}"


def trigger_key(n: int, trigger: Trigger, keys: Sequence[str]) -> str | None:
    """Return which of the observed keys this trigger counts, if any."""
    if trigger.risk:
        key = f"risk:{n}"
        return key if key in keys else None
    if trigger.phrases:
        key = f"phrases:{n}"
        return key if key in keys else None
    if trigger.merchant:
        return next((k for k in keys if k.startswith("merchant:")), None)
    if trigger.category:
        key = f"category:{trigger.category}"
        return key if key in keys else None
    return None


async def record_signals(
    plan: EmergencyPlan,
    s: AsyncSession,
    keys: Sequence[str],
    at: datetime,
    user_id: int | None,
) -> list[Hit]:
    """Store the signals; return the triggers whose threshold they reached."""
    for signal in keys:
        s.add(IncidentSignal(key=signal, user_id=user_id, at=at))
    await s.flush()
    hits: list[Hit] = []
    for n, trigger in enumerate(plan.triggers):
        key = trigger_key(n, trigger, keys)
        if key is None:
            continue
        count = (
            await s.execute(
                select(func.count())
                .select_from(IncidentSignal)
                .where(IncidentSignal.key == key, IncidentSignal.at > at - trigger.within)
            )
        ).scalar_one()
        if int(count) >= trigger.count:
            hits.append(_hit(plan, trigger, key, int(count)))
    return hits


def _hit(plan: EmergencyPlan, trigger: Trigger, key: str, count: int) -> Hit:
    category = trigger.category or (key[9:] if key.startswith("category:") else None)
    merchant = key[9:] if key.startswith("merchant:") else None
    minutes = int(trigger.within / timedelta(minutes=1))
    name = trigger.name or category or merchant or "高风险信息"
    return Hit(
        plan.levels[trigger.level], key, category, merchant, f"{name}：{minutes}分钟内{count}次"
    )


def worst(hits: Sequence[Hit]) -> Hit:
    """Return the most severe of the hits (the first of those equally severe)."""
    return min(hits, key=lambda h: LEVEL_ORDER[h.level.key])


def attach_signal(
    ctx: Context, s: AsyncSession, i: Incident, level: Level, detail: str, at: datetime
) -> None:
    """Add a signal to an open incident's timeline; raise it to `level` if more severe."""
    add_event(s, i, "signal", "system", detail, at)
    if LEVEL_ORDER[level.key] < LEVEL_ORDER[i.level]:
        before = ctx.level(i.level).label
        i.level = IncidentLevel(level.key)
        add_event(s, i, "level", "system", f"级别由{before}调整为{level.label}", at)
        for chat in ("oncall", "supervisors"):
            notify(ctx, s, i, chat, f"⬆️ 事件 {i.reference} 升级为{level.label}：{i.title}", at)
    i.updated_at = at
