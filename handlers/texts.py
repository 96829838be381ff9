"""Everything a consumer, merchant, agent or supervisor reads, in one place so wording is
reviewed together."""

from __future__ import annotations

from escalation.tickets import notices

WELCOME = (
    "您好！我是{campaign}的智能客服，可以解答补贴领取、使用、退款和商户报名、核销、结算等问题。"
)
ASK_ROLE = "请问您是？"
CHOICE_CONSUMER = "我是消费者"
CHOICE_MERCHANT = "我是商户"
ROLE_CHOICES = (CHOICE_CONSUMER, CHOICE_MERCHANT)
# Asked instead of ASK_ROLE when the first message was a question: it is answered next.
ASK_ROLE_THEN_ANSWER = "请问您是？选好后马上回答您刚才的问题。"
ROLE_SET = {
    "consumer": "好的，已按消费者为您解答。请直接输入问题，例如“补贴怎么领”。",
    "merchant": "好的，已按商户为您解答。请直接输入问题，例如“怎么报名参加活动”。",
}
EMPTY_QUERY = "请直接描述您的问题，例如“以旧换新补贴没到账”。回复“转人工”可联系客服。"
NON_TEXT = "暂时只能看懂文字哦。请用文字描述您的问题，例如“补贴怎么领”；需要帮助可回复“转人工”。"
# Photos, files and voice notes: kept with the sender's open ticket, or explained.
FILE_ADDED = "已收到您的{kind}“{name}”（{size}），已加入工单 {ref}，客服处理时会一并查看。"
FILE_TOO_BIG = (
    "这个{kind}有 {size}，超过了单个附件 {limit} 的上限，没有加入工单 {ref}。"
    "请压缩或截取关键部分后重新发送，或用文字说明。"
)
FILE_TOO_BIG_UNKNOWN = (
    "这个{kind}超过了单个附件 {limit} 的上限，没有加入工单 {ref}。"
    "请压缩或截取关键部分后重新发送，或用文字说明。"
)
FILE_TOO_MANY = (
    "工单 {ref} 已有 {limit} 个附件，达到上限，这个{kind}没有加入。"
    "如还有重要材料，请用文字说明，客服会与您联系。"
)
FILE_FAILED = "这个{kind}没有接收成功，请稍后重新发送；也可以用文字描述。"
FILE_NO_TICKET = (
    "暂时看不懂图片、文件和语音哦。请用文字描述您的问题，例如“补贴怎么领”。"
    "如需投诉或求助，请点“我要投诉”登记，登记后再发送照片或文件，会自动加入您的工单。"
)
FILE_DURING_INTAKE = (
    "请先用文字完成登记（回复“取消”可退出），登记成功后再发送照片或文件，会自动加入工单。"
)
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
FEEDBACK_ALREADY = "您对这条回答的评价已经记录过了，谢谢。还有其他问题可以直接输入。"
# A button of an earlier step (a choice no longer asked, an offer that has passed).
BUTTON_EXPIRED = (
    "这个按钮已过期，它属于之前的对话。请按最新一条消息的提示操作，或直接输入您的问题；"
    "回复“转人工”可联系客服。"
)
HANDOFF = "已为您转人工。为了让客服尽快处理，请先登记一下问题（约一分钟），随时回复“取消”可退出。"
HELP = (
    "我是{campaign}的智能客服。\n"
    "· 直接输入问题即可，例如“补贴怎么领”“退货后补贴怎么处理”；\n"
    "· /role 切换身份（消费者 / 商户）；\n"
    "· /human 或回复“转人工”联系人工客服，/complain 登记投诉；\n"
    "· /status 查看我的工单进度（或 /status 工单号 查询某一个）；\n"
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
# Instead of ASK_DESCRIPTION when the message that led here already said what happened.
CHOICE_KEEP_DESCRIPTION = "就用这段"
CONFIRM_DESCRIPTION = (
    "问题描述先记为您刚才说的：\n「{description}」\n"
    "没问题请点“就用这段”；要修改，直接发送新的描述。"
)
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
NO_TICKETS = "您名下还没有工单。需要登记问题，请点“我要投诉”；也可以回复“转人工”。"
MY_TICKETS_HEAD = "您最近的工单（{count} 个，最新的在前）："
TICKET_LINE = "{n}. {ref}｜{type}·{category}｜{status}｜更新于 {at}"
MY_TICKETS_HINT = "如需补充情况，直接发消息即可；换了账号的，请发“查询工单 工单号 登记的电话”。"
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

# In a new ticket's thread when a risky message shortly before it raised its priority.
RISK_LINK_NOTE = (
    "风险关联：客户 {at} 的消息判为{level}风险（{tags}）{alerted}，工单已按此定级。原话：{text}"
)
RISK_LINK_ALERTED = "，当时已预警主管"
RISK_LEVEL_NAMES = {"high": "高", "medium": "中"}

# ---------------------------------------------------------------- desk (agents in the chat)
DESK_REFUSED = "仅限登记的客服人员操作。如需开通，请联系主管执行 helpdesk agents add。"
DESK_USAGE = (
    "客服指令：\n"
    "/queue 待办队列（按 SLA 紧急程度）　/mine 我的工单\n"
    "/ticket 工单号 查看详情　/claim 工单号 认领\n"
    "/note 工单号 内容 内部备注（不发给客户）\n"
    "/pending 工单号 [需要客户补充的内容] 等待客户\n"
    "/close 工单号 处理结果 办结　/reopen 工单号 重新打开\n"
    "/kb [工单号] 关键词 查找知识库答案，一键发给客户\n"
    "回复工单卡片或工单消息，即把回复发给客户。\n"
    "应急事件：/incident [级别] 情况说明 上报（级别 Ⅰ/Ⅱ/Ⅲ/Ⅳ，默认Ⅳ）　/incidents 处置中的事件\n"
    "/update 事件号 进展　/eta 事件号 18:30 预计恢复　/resolve 事件号 [原因]\n"
    "/approve 事件号 审核并报送初报/终报（主管）"
)
DESK_BUTTON_GONE = "这个按钮已失效。"
DESK_UNCLAIMED = "未认领"
DESK_UNKNOWN_COMMAND = "没有这个指令。\n\n{usage}"
DESK_ASK_TICKET_REF = "请写上工单号，例如 {command} T20250602-0042。\n\n{usage}"
DESK_QUEUE_TITLE = "待办队列"
DESK_MINE_TITLE = "我的工单"
DESK_LIST_EMPTY = "{title}：暂无未办结的工单。"
DESK_LIST_HEAD = "{title}（{count}）："
DESK_DETAIL_HEAD = "工单 {ref} · {priority} · {type}·{category}"
DESK_DETAIL_STATUS = "状态：{status}　处理人：{assignee}"
DESK_CLOCK_USED = "，用时 {minutes:g} 工作分钟"
DESK_CLOCK_DUE = "· {name}：{state}，截止 {due}"
DESK_THREAD_HEAD = "记录："
DESK_KB_ASK_WORDS = "请写上关键词，例如 /kb T20250602-0042 退款。"
DESK_KB_NOTHING = "知识库里没有找到相关条目，换个关键词试试。"
DESK_KB_HEAD = "知识库（{words}）："
DESK_KB_SEND_BUTTON = "发送第 {n} 条给客户"
DESK_KB_HINT = "（带上工单号，或回复工单消息使用 /kb，可一键发给客户）"
DESK_KB_ENTRY_GONE = "这个知识库条目已不存在，请重新 /kb 查找。"
# A choice offered by a pressed card button (关闭's usual results), once chosen.
DESK_CHOICE_ASKED = "请在下方选择"
DESK_CHOSEN = "{done}\n{label}：{text}（{name}）"
DESK_CHOICE_CANCELLED = "已取消，工单 {ref} 未作改动。"
# Incidents, from the desk chat.
DESK_INCIDENT_DECLARED_AS = (
    "已上报{label}事件 {ref}：{title}。\n事件类别：{category}{inferred}\n情况说明：{detail}\n"
    "已按应急预案通知值班人员；级别可在事件卡片上升级或降级。"
)
DESK_INCIDENT_INFERRED = "（根据描述判断）"
DESK_INCIDENT_ASK_CATEGORY = (
    "上报{label}事件{about}：请选择事件类别（报送主管部门的报告需写明类别）。"
    "\n级别默认Ⅳ级（一般），也可写 /incident Ⅲ 情况说明。"
)
DESK_INCIDENT_ABOUT = "“{title}”"
DESK_INCIDENT_ASK_DETAIL = (
    "事件类别：{category}。请回复本消息，简要说明情况（发生了什么、影响多少用户或商户），"
    "例如：某商户拒收补贴，多人投诉。回复“取消”不上报。"
)
TG_DETAIL_PLACEHOLDER = "简要说明情况"
DESK_INCIDENT_DRAFT_CANCELLED = "已取消，未上报事件。"
DESK_INCIDENT_DRAFT_GONE = (
    "这次上报已完成、已取消、已过期，或不是您发起的；如需上报请发送 /incident。"
)
DESK_INCIDENT_DETAIL_EMPTY = "请写上情况说明，或回复“取消”。"
DESK_INCIDENTS_NONE = "目前没有处置中的应急事件。"
DESK_INCIDENTS_HEAD = "处置中的事件（{count}）："
DESK_INCIDENT_ASK_REF = "请写上事件编号，例如 {command} I20250602-01。"
DESK_INCIDENT_PRESSED = "{ref}：{status}（{label}）"

# ---------------------------------------------------------------- complaint intake defaults
INTAKE_DEFAULT_TYPE = "投诉"
INTAKE_DEFAULT_CATEGORY = "其他"

# ---------------------------------------------------------------- supervisors' risk alert
RISK_ALERT_TICKET = "（工单 {ref}）"

# ---------------------------------------------------------------- agents' web console
CONSOLE_NO_SUCH_FILE = "没有找到这个附件：它可能已按保存期限删除。请刷新工单详情。"
CONSOLE_SESSION_EXPIRED = "登录已过期，请重新登录。"
CONSOLE_NOT_SIGNED_IN = "未登录或登录已过期。"
CONSOLE_BODY_NOT_OBJECT = '请求需要是一个 JSON 对象，例如 {"text": "已联系商户"}。'
CONSOLE_BAD_REFERENCE = "没有找到这个{what}：编号应形如 {example}。"
CONSOLE_WHAT_TICKET = "工单"
CONSOLE_WHAT_INCIDENT = "事件"
CONSOLE_TEXT_NOT_STRING = '"text" 需要是字符串。'
CONSOLE_TEXT_TOO_LONG = "内容太长了（超过 {limit} 字），请精简后再发。"
CONSOLE_ASK_TOKEN = "请输入登录令牌（由主管执行 helpdesk agents token 生成）。"
CONSOLE_NOT_A_TOKEN = "这不是登录令牌：令牌是 32 位左右的字母和数字，请原样粘贴。"
CONSOLE_TOO_MANY_TRIES = "登录失败次数过多，请 {wait}后再试，或向主管索取新令牌。"
CONSOLE_WAIT_SECONDS = "{n} 秒"
CONSOLE_WAIT_MINUTES = "{n} 分钟"
CONSOLE_BAD_TOKEN = "令牌无效或已被更换，请向主管索取新令牌。"
CONSOLE_BAD_SCOPE = "scope 只能是 all 或 mine。"
CONSOLE_SUPERVISORS_ONLY = "主管视图仅限主管使用。"
CONSOLE_INCIDENT_ASK_LEVEL = '请填写级别和标题，例如 {"level": "Ⅲ", "title": "平台无法领取补贴"}。'
CONSOLE_BAD_CATEGORY = '"category" 需要是不超过 {limit} 字的字符串。'
CONSOLE_BAD_DETAIL = '"detail" 需要是不超过 {limit} 字的字符串。'
CONSOLE_TITLE_TOO_LONG = "标题太长了，请用一句话概括事件。"
CONSOLE_UNKNOWN_ACTION = "没有这个操作：{action}。"
CONSOLE_BAD_PARAM = "参数 {name} 不可用：请去掉其中的控制字符，或缩短到 200 字以内。"
CONSOLE_BAD_PAGE = "页码应是 1 到 {max} 之间的整数。"
CONSOLE_BAD_DATE = "日期 {name} 应形如 2025-06-02。"

# ---------------------------------------------------------------- web chat
WEB_NOT_FOUND = "没有这个页面或接口，请检查地址。网页客服在 /，客服工作台在 /console。"
WEB_METHOD_NOT_ALLOWED = "这个地址不接受 {method} 请求。"
WEB_HTTP_ERROR = "请求无法处理（HTTP {status}），请检查后重试。"
WEB_BODY_NOT_OBJECT = '请求格式不正确：需要一个 JSON 对象，含 "session" 和 "text"。'
WEB_BAD_SESSION = '"session" 需要是 1–64 位字母、数字、- 或 _ 组成的字符串。'
WEB_TEXT_NOT_STRING = '"text" 需要是字符串，即用户输入的内容。'
WEB_TEXT_TOO_LONG = "消息太长了（超过 {limit} 字），请精简后再发。"
WEB_BAD_PRESS = '"press"（可选）需要是 {"reply": 回复编号, "choice": 按钮序号} 形式的对象。'
WEB_UPLOAD_NOT_FORM = (
    '上传需要 multipart/form-data 格式，含 "session"、"id"（可选）、"caption"（可选）和 "file"。'
)
WEB_UPLOAD_NO_FILE = '没有收到文件：请在 "file" 字段里附上照片、PDF 或语音。'
WEB_UPLOAD_EMPTY = "这个文件是空的（0 字节），请重新选择后再发。"
WEB_UPLOAD_BAD_FIELD = '"{field}" 字段不正确：需要 UTF-8 文字，且不能太长。'
WEB_UPLOAD_TOO_BIG = (
    "文件太大了（超过单个附件 {limit} 的上限），没有收到。"
    "请压缩或截取关键部分后重新发送，或用文字说明。"
)
WEB_BAD_CLIENT_ID = '"id"（可选）需要是 1–63 位字母、数字、- 或 _ 组成的字符串。'

# ---------------------------------------------------------------- input errors (any HTTP body)
INPUT_TOO_LARGE = "请求内容太大（超过 {limit} KB），请精简后再发。"
INPUT_CHARSET = "请求只能用 UTF-8 编码：请发送 Content-Type: application/json; charset=utf-8。"
INPUT_NOT_UTF8 = "请求内容不是有效的 UTF-8 编码，请以 UTF-8 发送 JSON。"
INPUT_NOT_JSON = '请求格式不正确：请发送 JSON，例如 {"text": "补贴怎么领"}。'
INPUT_TOO_DEEP = "请求的 JSON 嵌套超过 {depth} 层，请按接口说明发送简单的对象。"
INPUT_NUMBER = (
    "请求中的数字太长（超过 {digits} 位）或不是有限数值（NaN、Infinity），请检查后重发。"
)
INPUT_UNCLEAN = "文字中含有无法处理的字符（控制字符或不成对的 \\ud800 类代理字符），请删除后重发。"
INPUT_UNREADABLE = "请求内容没有完整收到或无法解压，请重新发送。"

# ---------------------------------------------------------------- Telegram
TG_COMMAND_START = "开始 / 选择身份"
TG_COMMAND_ROLE = "切换身份（消费者 / 商户）"
TG_COMMAND_HELP = "帮助"
TG_COMMAND_HUMAN = "转人工客服"
TG_BUTTON_GONE = "这个按钮已失效，请直接输入您的问题。"

# ---------------------------------------------------------------- alerts and start-up
ALERT_DEFAULT_TITLE = "外部告警"
SERVE_STARTED = "网页客服已启动：{url}  （Ctrl+C 退出）"
SERVE_TELEGRAM_CONNECTED = "Telegram 机器人已连接。"
SERVE_TELEGRAM_RETRYING = (
    "暂时连不上 Telegram：网页客服照常运行，机器人会自动重试连接（详见日志）。"
)
