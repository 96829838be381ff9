"""The incident card the on-call chats get: its text and its buttons (neutral ones; the
channel encodes them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from escalation.incidents.actions import CARD_ACTIONS
from escalation.incidents.delivery import ReportView, latest_by_kind
from escalation.incidents.records import STATUS_NAMES, Context
from knowledge.masking import mask_pii
from storage.models import Incident
from storage.outbox import Button

SOURCE_NAMES = {"declared": "人工上报", "detected": "自动监测", "alert": "外部告警"}


def card_buttons(reference: str, status: str) -> list[Button]:
    """Return the card's buttons; a resolved incident has none."""
    if status == "resolved":
        return []
    return [Button.on_incident(a.label, a.name, reference) for a in CARD_ACTIONS if a.label]


def card_text(ctx: Context, i: Incident, reports: Sequence[ReportView] = ()) -> str:
    """Return the card's text for the incident as it is now, with where each kind of report
    to the bureau stands (the latest of each)."""
    level = ctx.level(i.level)
    lines = [
        f"🚨 事件 {i.reference} · {level.label} · {level.colour}",
        f"{i.title}",
        f"状态：{STATUS_NAMES.get(i.status, i.status)}"
        + (f"（{i.acknowledged_by}）" if i.acknowledged_by else ""),
        f"发生时间：{i.opened_at.astimezone(ctx.tz):%m-%d %H:%M}　来源："
        + SOURCE_NAMES.get(i.source, i.source),
    ]
    if i.category:
        lines.append(f"类别：{i.category}")
    if i.detail:
        lines.append(f"详情：{mask_pii(i.detail)[:500]}")
    if i.eta:
        lines.append(f"预计恢复：{i.eta.astimezone(ctx.tz):%m-%d %H:%M}")
    lines.extend(f"{r.name}：{r.delivery_name}" for r in latest_by_kind(reports))
    if i.status == "open":
        lines.append(f"请在 {level.acknowledge // timedelta(minutes=1)} 分钟内点“确认”。")
    return "\n".join(lines)
