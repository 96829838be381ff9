"""What people may do to an incident, as one table that every channel reads: the card's
buttons (Telegram), the console's routes and the desk's commands each turn their input
into a name here, and `Incidents.act` runs the row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from escalation.incidents import lifecycle
from escalation.incidents.records import (
    Context,
    IncidentError,
    IncidentForbidden,
    IncidentView,
)
from escalation.routing import Actor
from storage.models import Incident

# (ctx, session, the locked incident, actor, at, the text typed with it)
Step = Callable[[Context, AsyncSession, Incident, Actor, datetime, str], Awaitable[None]]
RECORDED = "事件 {reference}：{status_name}，已记录。"


@dataclass(frozen=True, slots=True)
class IncidentAction:
    name: str  # what channels send: "ack", "resolve", ...
    label: str | None  # its button on the incident card; None: not on the card
    who: str  # "agent": anyone registered; "supervisor": supervisors only
    run: Step
    done: str = RECORDED  # the confirmation, formatted with the incident's view
    refused: str = ""  # what someone who may not is told
    while_resolved: bool = False  # may be done once the incident is resolved
    progress: bool = True  # counts as progress: the no-progress reminder starts again

    def confirm(self, view: IncidentView) -> str:
        """Return the confirmation of this action for the incident as it is now."""
        return self.done.format(
            reference=view.reference,
            status_name=view.status_name,
            label=view.label,
            report=view.last_report,
        )


ACTIONS: Mapping[str, IncidentAction] = MappingProxyType(
    {
        a.name: a
        for a in (
            IncidentAction("ack", "确认", "agent", lifecycle.acknowledge),
            IncidentAction("mitigate", "已缓解", "agent", lifecycle.mitigate),
            IncidentAction("resolve", "已解决", "agent", lifecycle.resolve),
            IncidentAction("up", "升级", "agent", lifecycle.raise_level),
            IncidentAction("down", "降级", "agent", lifecycle.lower_level),
            IncidentAction("eta", None, "agent", lifecycle.set_eta),
            IncidentAction("note", None, "agent", lifecycle.add_note, while_resolved=True),
            IncidentAction(
                "approve",
                None,
                "supervisor",
                lifecycle.approve,
                done="已审核，事件 {reference} 的{report}。",
                refused="报告需由主管审核发送。",
                while_resolved=True,
                progress=False,
            ),
        )
    }
)
CARD_ACTIONS = tuple(a for a in ACTIONS.values() if a.label is not None)


def incident_action(name: str) -> IncidentAction:
    """Return the action of this name; IncidentError when there is none."""
    found = ACTIONS.get(name)
    if found is None:
        raise IncidentError(f"没有这个操作：{name}。")
    return found


def check_allowed(action: IncidentAction, i: Incident, actor: Actor) -> None:
    """Raise IncidentForbidden or IncidentError when `actor` may not do this now."""
    if action.who == "supervisor" and not actor.is_supervisor:
        raise IncidentForbidden(action.refused)
    if i.status == "resolved" and not action.while_resolved:
        raise IncidentError(f"事件 {i.reference} 已解决。")
