"""Everything a consumer or merchant reads, in one place so wording is reviewed together."""

from __future__ import annotations

WELCOME = "您好！我是{campaign}的智能客服。"
ASK_ROLE = "请问您是？"
ROLE_CHOICES = ("我是消费者", "我是商户")
ROLE_SET = {
    "consumer": "好的，已按消费者为您解答。请直接输入问题，例如“补贴怎么领”。",
    "merchant": "好的，已按商户为您解答。请直接输入问题，例如“怎么报名参加活动”。",
}
ROLE_UNCLEAR = "请回复 1（消费者）或 2（商户），也可以直接输入“我是消费者”或“我是商户”。"
EMPTY_QUERY = "请直接描述您的问题，例如“以旧换新补贴没到账”。回复“人工”可转客服。"
DID_YOU_MEAN = "没有完全理解您的问题，您是想问："
DID_YOU_MEAN_FOOTER = "回复序号查看答案；都不是的话请换个说法，或回复“人工”转客服。"
NO_ANSWER = (
    "抱歉，这个问题我暂时回答不了，不想给您不准确的答复。"
    "回复“人工”可转人工客服，我们会尽快联系您。"
)
# Hand-offs are not recorded yet (the conversation store and tickets come next), so the
# reply only tells the user how to reach a person; it promises no call-back.
HANDOFF = "需要人工帮助的话，请输入“客服电话”查看活动热线与服务时间，或在活动页面联系在线客服。"
ANSWER_FOOTER = "以上回答是否有帮助？如需人工帮助请回复“人工”。"
BYE = "感谢使用，再见！"
TERMINAL_HINT = "（输入问题后回车；输入 /role 切换身份，/quit 退出）"
