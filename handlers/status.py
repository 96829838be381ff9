"""A person asking about their own tickets: one by its reference, or all of theirs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.types import FlowState, Reply, Step, TicketInfo, TicketLine

# The words that ask for a ticket's status outright, at the start of a message.
STATUS_WORDS = ("查询工单", "工单进度", "查工单", "查询进度")
MAX_LISTED = 5
SHOWN_IN = ZoneInfo("Asia/Shanghai")  # what customers read as the time

# "How is my complaint going": a case of the person's own (工单 is always theirs; a
# complaint, report or feedback when they say it is theirs) and a word for its progress,
# in one clause. Not "怎么投诉" (how to complain) nor "我想投诉，处理太慢" (a new one).
_CLAUSE = r"[^，。,.!?！？；;\s]"
_PROGRESS = (
    r"(?:进度|进展|处理|结果|怎么样|怎样了|如何了|到哪|哪一步|什么情况|状态|受理|回复|回音|"
    r"答复|有人管|没人管|有消息|没消息|多久|还没|咋样)"
)
_OWN_CASE = (
    rf"(?:我|本人|俺)们?{_CLAUSE}{{0,4}}?"
    r"(?:(?:提交|登记|提|反映|反馈|投诉|举报|报|申请)?(?:的|了|过)?"
    r"(?:工单|投诉|举报|反馈|申诉|诉求|问题单|单子)|"
    # 问题 and 事 are anyone's; they are a case when the person says they reported them.
    r"(?:提交|登记|提|反映|反馈|投诉|举报|报)(?:的|了|过)(?:问题|事情?))"
)
_ASKS_PROGRESS = re.compile(
    rf"工单{_CLAUSE}{{0,10}}{_PROGRESS}|{_PROGRESS}{_CLAUSE}{{0,4}}工单|"
    rf"{_OWN_CASE}{_CLAUSE}{{0,10}}{_PROGRESS}|"
    # Asking to see them: 我的工单, 查一下我的投诉.
    rf"我的工单|(?:查|看){_CLAUSE}{{0,4}}(?:工单|投诉|反馈|举报)"
)
# Someone about to complain, not asking about a complaint made.
_NEW_CASE = re.compile(r"(?:想|要|准备|打算|怎么|如何|去|再)(?:投诉|举报|反馈|提交|登记)")


def asks_for_status(text: str) -> bool:
    """Return whether a message asks how the person's own ticket or complaint is going."""
    text = text.strip()
    if text.startswith(STATUS_WORDS) or text.split("@")[0].split(" ")[0].lower() == "/status":
        return True
    if _NEW_CASE.search(text):
        return False
    return bool(_ASKS_PROGRESS.search(text))


def status(ticket: TicketInfo | None, listing: Sequence[TicketLine], state: FlowState) -> Step:
    """The status of the ticket quoted, or the list of the person's tickets."""
    if ticket is None:
        return _listing(listing, state)
    if not ticket.found:
        return Step(
            [Reply(texts.TICKET_NOT_FOUND.format(ref=ticket.reference), (texts.CHOICE_HUMAN,))],
            state,
            kind="status",
        )
    name = texts.STATUS_NAMES.get(ticket.status, ticket.status)
    reply = texts.TICKET_STATUS.format(
        ref=ticket.reference, type=ticket.type, category=ticket.category, status=name
    )
    return Step([Reply(reply)], state, kind="status")


def _listing(listing: Sequence[TicketLine], state: FlowState) -> Step:
    if not listing:
        choices = (texts.CHOICE_COMPLAIN, texts.CHOICE_HUMAN) if state.role is not None else ()
        return Step([Reply(texts.NO_TICKETS, choices)], state, kind="status")
    shown = sorted(listing, key=lambda t: t.updated_at, reverse=True)[:MAX_LISTED]
    lines = [
        texts.TICKET_LINE.format(
            n=n,
            ref=t.reference,
            type=t.type,
            category=t.category,
            status=texts.STATUS_NAMES.get(t.status, t.status),
            at=f"{t.updated_at.astimezone(SHOWN_IN):%m-%d %H:%M}",
        )
        for n, t in enumerate(shown, 1)
    ]
    head = texts.MY_TICKETS_HEAD.format(count=len(shown))
    return Step([Reply("\n".join([head, *lines, texts.MY_TICKETS_HINT]))], state, kind="status")
