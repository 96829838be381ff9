"""The agents' side of a chat: desk commands and buttons, whatever the channel.

Every entry point takes the agent (None for someone not registered: refused, and the
attempt logged) and returns what to show them. A command or a press becomes a desk
action by name (`escalation.tickets.actions`), as a console route does; the channel has
already turned its own input (callback data, a reply to a card) into these arguments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from escalation.incidents.actions import CARD_ACTIONS as INCIDENT_CARD_ACTIONS
from escalation.incidents.actions import incident_action
from escalation.incidents.records import IncidentError
from escalation.incidents.service import Incidents
from escalation.routing import Actor
from escalation.tickets import notices
from escalation.tickets.actions import ACTIONS, Outcome, perform
from escalation.tickets.changes import DeskError
from escalation.tickets.desk import Desk
from escalation.tickets.rules import parse_reference
from escalation.tickets.views import TicketRow
from knowledge.engine import Engine
from knowledge.kb import Audience
from storage.outbox import Button

log = logging.getLogger(__name__)

# The chat commands that are desk actions, by the action's name; the rest only read.
COMMAND_ACTIONS = {
    "/claim": "claim",
    "/note": "note",
    "/pending": "pending",
    "/close": "close",
    "/reopen": "reopen",
}
TICKET_COMMANDS = (*COMMAND_ACTIONS, "/queue", "/mine", "/ticket", "/kb")
# What the buttons of a ticket's card may ask for (a "kb" button sends a KB answer).
CARD_ACTIONS = frozenset(name for _, name in (*notices.CARD_ACTIONS, notices.REVEAL_PHONE_ACTION))
INCIDENT_COMMANDS = ("/incident", "/incidents", "/eta", "/update", "/resolve", "/approve")
# The incident commands that act on one incident, and the action each one is.
INCIDENT_COMMAND_ACTIONS = {
    "/eta": "eta",
    "/update": "note",
    "/resolve": "resolve",
    "/approve": "approve",
}
COMMANDS = TICKET_COMMANDS + INCIDENT_COMMANDS
REFUSED = "仅限登记的客服人员操作。如需开通，请联系主管执行 helpdesk agents add。"
USAGE = (
    "客服指令：\n"
    "/queue 待办队列（按 SLA 紧急程度）　/mine 我的工单\n"
    "/ticket 工单号 查看详情　/claim 工单号 认领\n"
    "/note 工单号 内容 内部备注（不发给客户）\n"
    "/pending 工单号 [需要客户补充的内容] 等待客户\n"
    "/close 工单号 处理结果 办结　/reopen 工单号 重新打开\n"
    "/kb [工单号] 关键词 查找知识库答案，一键发给客户\n"
    "回复工单卡片或工单消息，即把回复发给客户。\n"
    "应急事件：/incident 级别 标题 上报（级别 Ⅰ/Ⅱ/Ⅲ/Ⅳ）　/incidents 处置中的事件\n"
    "/update 事件号 进展　/eta 事件号 18:30 预计恢复　/resolve 事件号 [原因]\n"
    "/approve 事件号 审核并报送初报/终报（主管）"
)
KB_RESULTS = 5
BUTTON_GONE = "这个按钮已失效。"


@dataclass(frozen=True, slots=True)
class DeskReply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    changed: str | None = None  # the reference of a ticket this changed
    private: bool = False  # for the presser's eyes only (a button's pop-up answer)


def _split(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _looks_like_incident(word: str) -> bool:
    return len(word) == 12 and word[0] in "Ii" and word[9] == "-"


def _line(i: int, row: TicketRow, now: datetime) -> str:
    if row.next_due is not None:
        clock = notices.CLOCK_NAMES.get(row.next_clock or "", "")
        timing = f"{clock}{notices.left(row.next_due, now)}"
    else:
        timing = notices.STATE_NAMES.get(row.state, row.state)
    return (
        f"{i}. {row.reference} {row.priority} {row.type}·{row.category} "
        f"{row.status_name} {row.assignee or '未认领'} {timing}"
    )


# The incident actions a card's button may ask for.
_INCIDENT_CARD_ACTIONS = frozenset(a.name for a in INCIDENT_CARD_ACTIONS)


def is_incident_card_press(action: str, reference: str, arg: str | None) -> bool:
    """Whether a press on an incident card asks for one of the card's own actions."""
    return bool(reference) and arg is None and action in _INCIDENT_CARD_ACTIONS


class DeskFlow:
    def __init__(self, desk: Desk, engine: Engine, incidents: Incidents) -> None:
        self.desk = desk
        self.engine = engine
        self.incidents = incidents

    async def command(
        self,
        actor: Actor | None,
        who: str,
        text: str,
        now: datetime,
        *,
        about: str | None = None,
    ) -> DeskReply:
        """Run one desk command. `about` is the ticket a replied-to message was about."""
        word, rest = _split(text)
        command = word.split("@")[0].lower()
        if actor is None:
            log.warning("desk: refused %s from unregistered %s", command, who)
            return DeskReply(REFUSED)
        if command in INCIDENT_COMMANDS:
            try:
                return await self._incident(actor, command, rest.strip(), now, about)
            except IncidentError as exc:
                return DeskReply(str(exc))
        ref = about
        first, tail = _split(rest)
        given = parse_reference(first)
        if given is not None:
            ref, rest = given, tail
        try:
            return await self._run(actor, command, ref, rest.strip(), now)
        except DeskError as exc:
            return DeskReply(str(exc))

    async def _incident(
        self, actor: Actor, command: str, rest: str, now: datetime, about: str | None
    ) -> DeskReply:
        if command == "/incident":
            level, title = _split(rest)
            if not level:
                return DeskReply("请写级别和标题，例如 /incident Ⅲ 平台无法领取补贴。")
            view = await self.incidents.declare(level, title, actor, now)
            return DeskReply(
                f"已上报{view.label}事件 {view.reference}：{view.title}。"
                "已按应急预案通知值班人员。"
            )
        if command == "/incidents":
            active = await self.incidents.active()
            if not active:
                return DeskReply("目前没有处置中的应急事件。")
            lines = [f"处置中的事件（{len(active)}）："] + [
                f"{n}. {v.reference} {v.label} {v.status_name} {v.title}"
                for n, v in enumerate(active, 1)
            ]
            return DeskReply("\n".join(lines))
        ref = about if about and _looks_like_incident(about) else None
        first, tail = _split(rest)
        if _looks_like_incident(first):
            ref, rest = first.upper(), tail
        if ref is None:
            return DeskReply(f"请写上事件编号，例如 {command} I20250602-01。")
        action = incident_action(INCIDENT_COMMAND_ACTIONS[command])
        view = await self.incidents.act(ref, action.name, actor, now, rest)
        return DeskReply(action.confirm(view))

    async def incident_press(
        self,
        actor: Actor | None,
        who: str,
        action: str,
        reference: str,
        arg: str | None,
        now: datetime,
    ) -> DeskReply:
        """A press on an incident card: ack, mitigate, resolve, up or down."""
        if actor is None:
            log.warning(
                "incident: refused button %s:%s from unregistered %s", action, reference, who
            )
            return DeskReply(REFUSED)
        if not is_incident_card_press(action, reference, arg):
            return DeskReply(BUTTON_GONE)
        try:
            view = await self.incidents.act(reference, action, actor, now)
        except IncidentError as exc:
            return DeskReply(str(exc))
        return DeskReply(f"{view.reference}：{view.status_name}（{view.label}）")

    async def _run(
        self, actor: Actor, command: str, ref: str | None, rest: str, now: datetime
    ) -> DeskReply:
        if command == "/queue":
            return self._list("待办队列", await self.desk.views.queue(now, limit=15), now)
        if command == "/mine":
            rows = await self.desk.views.queue(now, assignee=actor.name)
            return self._list("我的工单", rows, now)
        if command == "/kb":
            return self._kb(ref, rest)
        if ref is None:
            return DeskReply(f"请写上工单号，例如 {command} T20250602-0042。\n\n{USAGE}")
        if command == "/ticket":
            return await self._detail(ref, now)
        action = COMMAND_ACTIONS.get(command)
        if action is None:
            return DeskReply(f"没有这个指令。\n\n{USAGE}")
        return _said(await perform(self.desk, action, ref, actor, now, rest))

    async def relay(
        self, actor: Actor | None, who: str, reference: str, text: str, now: datetime
    ) -> DeskReply:
        """An agent's reply to a ticket's message in the desk chat: to the customer."""
        if actor is None:
            log.warning("desk: refused a reply to %s from unregistered %s", reference, who)
            return DeskReply(REFUSED)
        try:
            return _said(await perform(self.desk, "reply", reference, actor, now, text))
        except DeskError as exc:
            return DeskReply(str(exc))

    def _list(self, title: str, rows: list[TicketRow], now: datetime) -> DeskReply:
        if not rows:
            return DeskReply(f"{title}：暂无未办结的工单。")
        lines = [f"{title}（{len(rows)}）："] + [_line(i, r, now) for i, r in enumerate(rows, 1)]
        return DeskReply("\n".join(lines))

    async def _detail(self, ref: str, now: datetime) -> DeskReply:
        d = await self.desk.views.detail(ref, now)
        r = d.row
        lines = [
            f"工单 {r.reference} · {r.priority} · {r.type}·{r.category}",
            f"状态：{r.status_name}　处理人：{r.assignee or '未认领'}",
        ]
        for c in d.clocks:
            name = notices.CLOCK_NAMES.get(c.clock, c.clock)
            if c.result is not None:
                used = f"，用时 {c.used_minutes:g} 工作分钟" if c.used_minutes is not None else ""
                lines.append(f"· {name}：{notices.RESULT_NAMES.get(c.result, c.result)}{used}")
            else:
                state = notices.STATE_NAMES.get(c.state, c.state)
                lines.append(f"· {name}：{state}，截止 {notices.local(c.due_at)}")
        lines.append("记录：")
        for kind, author, text, _at in d.thread[-10:]:
            lines.append(notices.thread_line(kind, author, text[:300]))
        return DeskReply("\n".join(lines))

    def _kb(self, ref: str | None, words: str) -> DeskReply:
        if not words:
            return DeskReply("请写上关键词，例如 /kb T20250602-0042 退款。")
        result = self.engine.answer(words, Audience.ALL)
        ranked = [entry_id for entry_id, _ in result.ranked[:KB_RESULTS]]
        if not ranked:
            return DeskReply("知识库里没有找到相关条目，换个关键词试试。")
        lines = [f"知识库（{words}）："]
        buttons = []
        index = {e.id: i for i, e in enumerate(self.engine.kb.entries)}
        for n, entry_id in enumerate(ranked, 1):
            entry = self.engine.kb.entry(entry_id)
            lines.append(f"{n}. {entry.questions[0]}\n   {entry.answer[:120]}")
            if ref is not None:
                label = f"发送第 {n} 条给客户"
                buttons.append(Button.on_ticket(label, "kb", ref, str(index[entry_id])))
        if ref is None:
            lines.append("（带上工单号，或回复工单消息使用 /kb，可一键发给客户）")
        return DeskReply("\n".join(lines), buttons)

    async def press(
        self,
        actor: Actor | None,
        who: str,
        action: str,
        reference: str,
        arg: str | None,
        now: datetime,
    ) -> DeskReply:
        """A press on a desk button: one of the card's actions, or "kb" with the entry."""
        if actor is None:
            log.warning("desk: refused button %s:%s from unregistered %s", action, reference, who)
            return DeskReply(REFUSED)
        try:
            if action == "kb" and reference and arg is not None and arg.isdigit():
                return await self._send_kb(actor, reference, int(arg), now)
            if action in CARD_ACTIONS and reference and arg is None:
                pressed = ACTIONS[action].pressed_text
                outcome = await perform(self.desk, action, reference, actor, now, pressed)
                return DeskReply(
                    outcome.pop_up, changed=_changed(outcome), private=outcome.action.private
                )
        except DeskError as exc:
            return DeskReply(str(exc))
        return DeskReply(BUTTON_GONE)

    async def _send_kb(self, actor: Actor, reference: str, i: int, now: datetime) -> DeskReply:
        entries = self.engine.kb.entries
        if i >= len(entries):
            return DeskReply("这个知识库条目已不存在，请重新 /kb 查找。")
        outcome = await perform(self.desk, "reply", reference, actor, now, entries[i].answer)
        return DeskReply(outcome.pop_up, changed=_changed(outcome))


def _changed(outcome: Outcome) -> str | None:
    return outcome.reference if outcome.row is not None else None


def _said(outcome: Outcome) -> DeskReply:
    return DeskReply(outcome.message, changed=_changed(outcome), private=outcome.action.private)
