"""What the console's incident routes send about reports to the bureau: each report with
where its delivery stands, so an operator sees which ones have not reached the bureau."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escalation.incidents.delivery import ReportView
from escalation.incidents.records import IncidentView


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def report_json(report: ReportView, now: datetime) -> dict[str, Any]:
    """Return a report as the console reads it."""
    return {
        "kind": report.kind,
        "seq": report.seq,
        "name": report.name,
        "status": report.status,
        "delivery": report.delivery,
        "delivery_name": report.delivery_name,
        "delivered_at": _iso(report.delivered_at),
        "due_at": _iso(report.due_at),
        "deadline_met": report.met(now),
        "text": report.text,
    }


def unsent_json(view: IncidentView) -> list[dict[str, str]]:
    """Return the incident's latest reports of each kind that have not reached the bureau."""
    return [
        {"kind": r.kind, "name": r.name, "delivery": r.delivery, "delivery_name": r.delivery_name}
        for r in view.unsent
    ]
