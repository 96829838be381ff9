"""Everything a consumer or merchant reads, in one place so wording is reviewed together."""

from __future__ import annotations

from escalation.tickets import notices

WELCOME = (
    "您好！我是{campaign}的智能客服，可以解答补贴领取、使用、退款和商户报名、核销、结算等问题。"
)
ASK_ROLE = "请问您是？"
CHOICE_CONSUMER = "我是消费者"
CHOICE_MERCHANT = "我是商户"
ROLE_CHOICES = (CHOICE_CONSUMER, CHOICE_MERCHANT)
ROLE_SET = {
    "consumer": "好的，已按消费者为您解答。请直接输入问题，例如“补贴怎么领”。",
    "merchant": "好的，已按商户为您解答。请直接输入问题，例如“怎么报名参加活动”。",
}
EMPTY_QUERY = "请直接描述您的问题，例如“以旧换新补贴没到账”。回复“转人工”可联系客服。"
NON_TEXT = "暂时只能看懂文字哦。请用文字描述您的问题，例如“补贴怎么领”；需要帮助可回复“转人工”。"
DID_YOU_MEAN = "没有完全理解您的问题，您是想问："
NONE_OF_THESE = "都不是"
REPHRASE = "抱歉没能帮上。请换个说法再问一次，或回复“转人工”联系客服。"
NO_ANSWER = (
    "抱歉，这个问题我暂时回答不了，不想给您不准确的答复。"
    "您可以换个说法，或点“转人工”由客服为您处理。"
)
CHOICE_HELPFUL = "有帮助"
CHOICE_UNHELPFUL = "没帮助"
CHOICE_HUMAN = "转人工"
FEEDBACK_CHOICES = (CHOICE_HELPFUL, CHOICE_UNHELPFUL, CHOICE_HUMAN)
THANKS_FOR_FEEDBACK = "感谢您的反馈！还有其他问题可以直接输入。"
SORRY_UNHELPFUL = "抱歉这个回答没有帮到您。您可以换个说法再问，或点“转人工”由客服为您处理。"
HANDOFF = "已为您转人工。为了让客服尽快处理，请先登记一下问题（约一分钟），随时回复“取消”可退出。"
HELP = (
    "我是{campaign}的智能客服。\n"
    "· 直接输入问题即可，例如“补贴怎么领”“退货后补贴怎么处理”；\n"
    "· /role 切换身份（消费者 / 商户）；\n"
    "· /human 或回复“转人工”联系人工客服，/complain 登记投诉；\n"
    "· /status 工单号 查询工单进度；\n"
    "· /help 查看本说明。"
)
UNKNOWN_COMMAND = (
    "没有这个指令。可用指令：/start 开始，/role 切换身份，/help 帮助，/human 转人工。"
)
ERROR = "抱歉，系统开小差了（错误码 {code}）。请稍后再试，或回复“转人工”联系客服。"
DATABASE_AWAY = "系统繁忙，您刚才的消息还没有处理。请稍等几秒后重新发送。"
TOO_LONG = "消息太长了，请精简到 2000 字以内，只写关键问题即可。"
BYE = "感谢使用，再见！"
TERMINAL_HINT = "（输入问题后回车；输入序号选择；/role 切换身份，/quit 退出）"

# ---------------------------------------------------------------- complaints and tickets
CHOICE_COMPLAIN = "我要投诉"
CHOICE_CANCEL = "取消"
CHOICE_SKIP = "跳过"
INTAKE_START = "好的，请花一分钟登记您的问题，客服会按登记的内容跟进。随时回复“取消”可退出。"
ASK_TICKET_TYPE = "请选择问题类型："
ASK_TICKET_CATEGORY = "请选择问题分类："
ASK_DESCRIPTION = "请用一两句话描述发生了什么（例如时间、商品、遇到的情况）。"
DESCRIPTION_TOO_SHORT = "描述太短了，请再具体一点，例如“6月2日在某某店买冰箱，店员不让用补贴”。"
ASK_DETAILS = (
    "如有订单号、商户名称或联系电话，请发在这里（一条消息即可）；没有请点“跳过”。"
    "电话只用于客服回访，不会公开。"
)
PICK_FROM_CHOICES = "请从下面的选项中选择一个，或回复“取消”。"
INTAKE_CANCELLED = "已取消登记。还有其他问题可以直接输入。"
TICKET_OPENED = (
    "已为您登记，工单号 {ref}。客服会在工作时间尽快处理，进度可回复“查询工单 {ref}”查看。"
)
TICKET_STATUS = "工单 {ref}（{type}·{category}）当前状态：{status}。"
TICKET_NOT_FOUND = (
    "没有找到您名下的工单 {ref}。请核对工单号，并用提交工单时的账号查询；"
    "换了账号的，请在同一条消息里附上登记的联系电话，"
    "例如“查询工单 T20250602-0042 13800000000”，或回复“转人工”联系客服。"
)
ASK_REFERENCE = "请提供工单号，例如“查询工单 T20250602-0042”。"
STATUS_NAMES = {
    "new": "已受理，等待客服处理",
    "assigned": "客服处理中",
    "waiting": "等待您补充信息",
    "resolved": "已处理，待确认",
    "closed": "已办结",
    "reopened": "已重新打开，客服处理中",
}

# ---------------------------------------------------------------- talking to an agent
SENT_TO_AGENT = "已转给客服（工单 {ref}），请留意回复。"
CSAT_THANKS = "感谢您的评价！如愿意，可以再写几句意见（可选），或点“跳过”。"
CSAT_COMMENT_THANKS = "已收到您的意见，谢谢！还有其他问题可以直接输入。"
TICKET_REOPENED = "已为您重新打开工单 {ref}，客服会继续跟进，请留意回复。"
REOPEN_TOO_LATE = "工单 {ref} 办结已超过 7 天，不能重新打开。请把现在的问题重新登记一下。"
# The buttons the desk's closing notice offers (escalation.tickets.notices), and the
# words that mean the same as its 问题没解决.
CSAT_CHOICES = notices.CSAT_CHOICES
NOT_SOLVED_WORDS = (notices.NOT_SOLVED, "没解决", "还没解决", "没有解决", "问题未解决")
DESK_ONLY = "这个指令只供登记的客服人员使用。需要帮助请直接输入问题，或回复“转人工”。"
OFFER_COMPLAINT = "看起来您遇到了麻烦。要提交投诉吗？登记后客服会跟进处理，并给您工单号查询进度。"
OFFER_CHOICES = (CHOICE_COMPLAIN, CHOICE_HUMAN)

# To the supervisors' chat when a message scores high risk (舆情); the text is masked.
RISK_ALERT = (
    "🔴 高风险消息（舆情预警）\n用户：{user}{ticket}\n风险类型：{tags}\n内容：{text}\n"
    "请尽快跟进；如属集中反映，可按应急预案上报事件。"
)
