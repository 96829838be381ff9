"""What agents, supervisors and customers read about tickets (Chinese), from plain data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple
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
CSAT_CHOICES = ("1", "2", "3", "4", "5")  # offered with the result when a ticket closes
NOT_SOLVED = "问题没解决"  # offered with them: reopens the ticket within REOPEN_WINDOW
AGENT_REPLY = "客服回复（工单 {ref}）：\n{text}"
CLOSED_NOTICE = (
    "您的工单 {ref} 已办结。处理结果：{text}\n"
    "请为本次服务打分（1–5 分，5 分最满意）；如果问题没有解决，请点“问题没解决”。"
)
REOPENED_BY_AGENT = "您的工单 {ref} 已重新打开，客服会继续跟进。"
PENDING_NOTICE = "客服需要您补充信息（工单 {ref}）：\n{text}"


# What the agents' chat reads of the customer's side, and thread entries of the desk.
CUSTOMER_WROTE = "💬 客户回复（工单 {ref}）：{text}"
# A file the customer attached: the caption of its copy in the agents' chat, and its line
# in the ticket's thread ({kind} one of FILE_KIND_NAMES, {size} as file_size_text gives it).
CUSTOMER_FILE = "📎 客户补充了{kind}（工单 {ref}）：{name}，{size}"
CUSTOMER_FILE_CAPTION = "\n客户附言：{text}"
FILE_ENTRY = "【附件·{kind}】{name}（{size}）"
FILE_ENTRY_CAPTION = "：{text}"
FILE_KIND_NAMES = {"photo": "照片", "document": "文件", "voice": "语音"}
# The name a file gets when the channel gave none (photos and voice notes never have one).
FILE_DEFAULT_NAME = "{kind}-{at:%Y%m%d-%H%M%S}"
CUSTOMER_REOPENED = "🔁 客户重新打开了工单 {ref}：{text}"
REOPENED_ENTRY = "工单已重新打开"
CLOSED_ENTRY = "【办结】{text}"
ESCALATED = (
    "⬆️ 工单 {ref} 已由 {name} 升级（{before} → {after}）：{type}·{category}，处理人：{assignee}。"
    "SLA 时限已按 {after} 重新计算。"
)
UNASSIGNED = "未认领"
REPLANNED = "⏱ 优先级 {before} → {after}，SLA 时限已按 {after} 重新计算"

# Why a desk action cannot be done, and what to do instead.
NO_SUCH_TICKET = "没有找到工单 {ref}，请核对工单号。"
NO_SUCH_TICKET_SHORT = "没有找到工单 {ref}。"
ALREADY_DONE = "这条指令已经处理过了。"
CANNOT_MOVE = "工单 {ref} 当前为“{now}”，不能改为“{to}”。"
CANNOT_MOVE_PLAIN = "工单 {ref} 当前状态为 {now}，不能改为 {to}。"
DONE_REOPEN_FIRST = "工单 {ref} 已办结；如需继续处理，请先 /reopen {ref}。"
CLAIMED_BY_OTHER = "工单 {ref} 已由 {assignee} 认领。"
PHONE_AGENTS_ONLY = "只有客服人员可以查看联系电话。"
NO_PHONE = "工单 {ref} 没有登记联系电话。"
PHONE_ASSIGNEE_ONLY = "联系电话只对处理人显示：请先认领工单 {ref}，认领后再查看。"
DONE_NO_ESCALATE = "工单 {ref} 已办结，无需升级。"
EMPTY_REPLY = "回复内容不能为空。"
EMPTY_NOTE = "备注内容不能为空。"
DONE_ALREADY = "工单 {ref} 已办结。"
CLOSE_NEEDS_RESULT = "请写明处理结果，例如 /close {ref} 已协调商户补发补贴。"
CLOSE_ASK = (
    "请选择工单 {ref} 的处理结果：选定后即办结，并把结果发给客户。\n"
    "其他结果请发送 /close {ref} 处理结果；不关闭请点“取消”。"
)
ALREADY_CLOSED = "工单 {ref} 已经办结。"
NOT_DONE_YET = "工单 {ref} 尚未办结，无需重新打开。"
ANONYMISED_NO_REOPEN = (
    "工单 {ref} 的个人信息已删除（保存期满或应本人要求），不能重新打开；客户再次反映时请新建工单。"
)
NO_SUCH_ACTION = "没有这个操作：{action}。"
ROLE_MAY_NOT = "只有客服人员可以操作工单（{action}）。"


class Confirmation(NamedTuple):
    """What an agent reads when a desk action is done, formatted with ref, priority and
    value (what a look found)."""

    message: str  # as a chat message
    pop_up: str  # as the short answer to a pressed button


CLAIMED = Confirmation("已认领工单 {ref}。", "已认领 {ref}")
ESCALATED_DONE = Confirmation(
    "工单 {ref} 已升级为 {priority}，SLA 时限已按 {priority} 重新计算。",
    "已升级 {ref} 为 {priority}，时限已重新计算",
)
REPLIED = Confirmation("已发送给客户（{ref}）。", "已发送给客户（{ref}）")
NOTED = Confirmation("已为工单 {ref} 添加内部备注。", "已备注 {ref}")
WAITING = Confirmation("工单 {ref} 已改为等待客户，SLA 计时暂停。", "{ref} 已改为等待客户")
CLOSED = Confirmation("工单 {ref} 已办结，处理结果已发给客户。", "已办结 {ref}")
REOPENED = Confirmation("工单 {ref} 已重新打开。", "已重新打开 {ref}")
PHONE_SHOWN = Confirmation(*("工单 {ref} 联系电话：{value}（本次查看已记录）",) * 2)


class Choice(NamedTuple):
    """One of the usual texts an action offers as buttons, instead of asking for one."""

    key: str  # what the button carries: short ASCII (Telegram's callback data is 64 bytes)
    label: str  # the button
    text: str  # the text the action runs with (for 关闭: the result the customer reads)


# The usual results of a subsidy complaint, offered when 关闭 is pressed (and by the
# console): a result closes the ticket, the customer reads its text as 处理结果.
CLOSE_RESULTS = (
    Choice("refund", "已退款", "已为您办理退款，款项将按原支付方式退回，请留意到账。"),
    Choice("reissue", "补贴已补发", "补贴已为您重新发放，请在活动页面查看到账情况。"),
    Choice(
        "honour",
        "商户同意用补贴",
        "经核实，商户已同意按活动规则为您使用补贴，请再次到店或下单。",
    ),
    Choice(
        "explain",
        "已说明规则",
        "已向您说明相关活动规则；如仍有疑问，可随时再联系我们。",
    ),
)
CANCEL_CHOICE = Choice("cancel", "取消", "")  # offered with them: nothing is done

# The console's search and its list of finished tickets.
SEARCH_EMPTY = "请输入要查找的内容：工单号、联系电话后四位、商户名称或问题中的文字。"
SEARCH_TOO_LONG = "搜索内容太长了（超过 {limit} 字），请只输入关键词。"
SEARCH_BAD_KIND = "搜索方式只能是：全部、工单号、电话后四位、商户、内容。"
SEARCH_BAD_REFERENCE = "工单号应形如 T20250602-0042，请核对后再查。"
SEARCH_BAD_LAST_FOUR = "请输入联系电话的后四位数字，例如 5678。"
SEARCH_BAD_PAGE = "页码应在 1 到 {max} 之间；结果太多时请缩小搜索或筛选范围。"
DONE_BAD_STATUS = "状态只能是：全部已结束、已办结或已解决。"
DONE_BAD_PRIORITY = "优先级只能是 P1、P2、P3 或 P4。"
DONE_BAD_RANGE = "开始日期不能晚于结束日期，请调整日期范围。"
DONE_CHOICE_NAMES = {"done": "全部已结束", "closed": "已办结", "resolved": "已解决"}


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
    # (before, after, (clock, due) of each running clock) when the priority was changed
    replanned: tuple[str, str, Sequence[tuple[str, datetime]]] | None = None,
) -> str:
    lines = [
        f"📋 工单 {reference} · {priority} · {ticket_type}·{category}",
        f"状态：{STATUS_NAMES.get(status, status)}　处理人：{assignee or UNASSIGNED}",
    ]
    if clock is not None:
        name, due, state = clock
        if state == "paused":
            lines.append(f"{CLOCK_NAMES.get(name, name)}：已暂停（等待客户）")
        else:
            lines.append(f"{CLOCK_NAMES.get(name, name)}：{left(due, now)}（截止 {local(due)}）")
    if replanned is not None:
        lines.append(replanned_line(*replanned))
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


def replanned_line(before: str, after: str, deadlines: Sequence[tuple[str, datetime]]) -> str:
    """Return the card's line saying its deadlines were worked out again for a new priority."""
    line = REPLANNED.format(before=before, after=after)
    if deadlines:
        line += "：" + "；".join(
            f"{CLOCK_NAMES.get(name, name)}截止 {local(due)}" for name, due in deadlines
        )
    return line


def sla_notice(
    *, stage: str, reference: str, clock: str, due: datetime, priority: str, assignee: str | None
) -> str:
    return (
        f"{STAGE_NAMES.get(stage, stage)}：工单 {reference}（{priority}）"
        f"{CLOCK_NAMES.get(clock, clock)}截止 {local(due)}，处理人：{assignee or UNASSIGNED}。"
    )


def thread_line(kind: str, author: str, text: str) -> str:
    label = {"customer": "💬 客户", "agent": "↩️ 客服", "note": "📝 内部备注", "system": "⚙️"}
    return f"{label.get(kind, kind)} {author if kind in ('agent', 'note') else ''}".rstrip() + (
        f"：{text}"
    )


def file_size_text(size: int) -> str:
    """Return a file size as people read it: 820 B, 35 KB, 2.4 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
