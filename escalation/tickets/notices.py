"""What agents, supervisors and customers read about tickets (Chinese), from plain data."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from knowledge.masking import mask_pii

CLOCK_NAMES = {
    "first_response": "首次响应",
    "next_response": "再次响应",
    "resolution": "办结",
}
STATUS_NAMES = {
    "new": "待处理",
    "assigned": "处理中",
    "waiting": "等待客户",
    "resolved": "已解决",
    "closed": "已办结",
    "reopened": "已重开",
}
STATE_NAMES = {
    "on_track": "正常",
    "due_soon": "即将超时",
    "breached": "已超时",
    "paused": "已暂停",
    "none": "—",
}
RESULT_NAMES = {"met": "达标", "breached": "超时", "cancelled": "未计"}
STAGE_NAMES = {"warning": "⚠️ 即将超时", "breach": "🚨 已超时"}
TZ = ZoneInfo("Asia/Shanghai")

# Buttons on a ticket's card in the agents' chat: (text, action).
CARD_ACTIONS = (("认领", "claim"), ("升级", "escalate"), ("关闭", "close"))
REVEAL_PHONE_ACTION = ("显示电话", "phone")  # shown only to the presser, audited

# What the customer reads.
AGENT_REPLY = "客服回复（工单 {ref}）：\n{text}"
CLOSED_NOTICE = (
    "您的工单 {ref} 已办结。处理结果：{text}\n"
    "请为本次服务打分（1–5 分，5 分最满意）；如果问题没有解决，请点“问题没解决”。"
)
REOPENED_BY_AGENT = "您的工单 {ref} 已重新打开，客服会继续跟进。"
PENDING_NOTICE = "客服需要您补充信息（工单 {ref}）：\n{text}"


def local(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(TZ).strftime("%m-%d %H:%M")


def left(due: datetime, now: datetime) -> str:
    """Return '剩余 1小时05分' or '已超时 12分钟' (wall-clock, for people to read)."""
    delta = due - now
    minutes = int(abs(delta) / timedelta(minutes=1))
    hours, mins = divmod(minutes, 60)
    amount = f"{hours}小时{mins:02d}分" if hours else f"{mins}分钟"
    return f"剩余 {amount}" if delta >= timedelta(0) else f"已超时 {amount}"


def card_text(
    *,
    reference: str,
    priority: str,
    ticket_type: str,
    category: str,
    status: str,
    assignee: str | None,
    summary: str,
    order_no: str | None,
    merchant_name: str | None,
    has_phone: bool,
    channel: str,
    clock: tuple[str, datetime, str] | None,  # (clock, due, state) of the most urgent clock
    now: datetime,
) -> str:
    lines = [
        f"📋 工单 {reference} · {priority} · {ticket_type}·{category}",
        f"状态：{STATUS_NAMES.get(status, status)}　处理人：{assignee or '未认领'}",
    ]
    if clock is not None:
        name, due, state = clock
        if state == "paused":
            lines.append(f"{CLOCK_NAMES.get(name, name)}：已暂停（等待客户）")
        else:
            lines.append(f"{CLOCK_NAMES.get(name, name)}：{left(due, now)}（截止 {local(due)}）")
    lines.append(f"描述：{mask_pii(summary)[:600]}")
    extra = []
    if order_no:
        extra.append(f"订单号 {order_no}")
    if merchant_name:
        extra.append(f"商户 {merchant_name}")
    if has_phone:
        extra.append("留有回访电话")
    if extra:
        lines.append("；".join(extra))
    lines.append(f"来源：{channel}　回复本消息即回复客户；/note {reference} 内容 为内部备注")
    return "\n".join(lines)


def sla_notice(
    *, stage: str, reference: str, clock: str, due: datetime, priority: str, assignee: str | None
) -> str:
    return (
        f"{STAGE_NAMES.get(stage, stage)}：工单 {reference}（{priority}）"
        f"{CLOCK_NAMES.get(clock, clock)}截止 {local(due)}，处理人：{assignee or '未认领'}。"
    )


def thread_line(kind: str, author: str, text: str) -> str:
    label = {"customer": "💬 客户", "agent": "↩️ 客服", "note": "📝 内部备注", "system": "⚙️"}
    return f"{label.get(kind, kind)} {author if kind in ('agent', 'note') else ''}".rstrip() + (
        f"：{text}"
    )
