"""Step 1 of the scorer: the candidate hits, as a table of rules read in order.

Each `Rule` names a tag, the pattern whose matches are candidates (a lexicon of
escalation/risk/data/lexicon.yaml by name, or a fixed pattern here), the severity of a hit
(a number, or a function of the message when it depends on durations, sums, scale or
doubt) and, for ambiguous words, the condition a match must meet to count (a platform name
with a publishing verb, an institution with an action). The order matters in two places
only: a platform-wide outage needs a severe system failure found before it, and "many
people" counts only once some grievance has been found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from escalation.risk.lexicon import Lexicon
from escalation.risk.message import Hit, Message

Check = Callable[[Lexicon, Message, re.Match[str]], bool]
Severity = Callable[[Lexicon, Message, re.Match[str]], int]

# Suspicion, not report: the message guesses (感觉是不是有黄牛).
_SUSPECT_FUNDS = re.compile(
    r"是不是算错|好像|一点点|还在核对|先跟你们说一声|不知道到没到|可能|也许|四舍五入|自己算错"
)
_WIDE_EXTRA = re.compile(r"都(?:打不开|进不去|登不上|核销不了|用不了)|全(?:是这样|都)")
_MANY_DAYS_REPEAT = re.compile(
    r"连续|每天|(?<![今明昨])天天|每次|从.{0,6}(?:开始|起)就|[三四五六七八九十]次|好几次|[3-9]次"
)
CONTACT_REPEAT = re.compile(
    r"第[二三四五六七八九十几0-9]+(?:次|遍)|[三四五六七八九十3-9](?:次|遍)|好几次|问了[三四五几3-9]个|又.{0,4}又"
)
ELAPSED = re.compile(
    r"(?:都|已经|等了|过了|拖了|快|现在|排了)[^,.!?]{0,6}(?:天|周|星期|礼拜|月|小时)"
)
_LONG_WAIT = re.compile(r"一直|迟迟|始终|至今")
_BUSINESS_FUNDS = re.compile(r"周转|倒闭|工资|发不出|资金链|垫付|供应商|扛不住")
_FRAUD_SCALE = re.compile(
    r"[0-9十百千]+多?(?:笔|单|台|部|个|张)|一伙|团伙|批量|大量|成批|一天就|几十台|好多张|发现有人|"
    r"串通|虚开|(?<!没有)(?<!没)证据|截图|录音|录像|作证|两次|重复"
)
_PRIVACY_SUSPECT = re.compile(r"不会是|会不会|是不是|怀疑|该不会|可能")
_MERCHANT_SUSPECT = re.compile(r"是我看错|是不是我|好像|感觉|不知道是不是|可能是")
# It worked in the end (刷新了好几次才进去): a nuisance, not an outage.
WORKED_IN_THE_END = re.compile(
    r"才(?:进去|成功|好|过|行|上去|登上|传上去|领到|出来|有)|又好了|就好了|就有了|进去了|"
    r"又能用了|恢复了|重试就|最后还是|eventually"
)
_PAID_IN_THE_END = re.compile(r"才到(?!现在)|终于到|到是到了|已经到了|后来到了")
_WAITED = re.compile(r"[0-9一二两三四五六七八九十几半]+多?个?多?(?:天|周|星期|礼拜|月)了")
_PRAISE = re.compile(r"点赞|划算|巴适|真香|省了|太好了|很方便|好评")
_SAFETY_GUARD = re.compile(r"搞砸|砸了.{0,2}(?:锅|饭碗)")
_REJECTED = re.compile(r"(?:驳回|不通过|被拒|拒绝了?)")
_PAYMENT_FAULT = re.compile(r"(?:结算|补贴|款|钱|到账)[^,.!?]{0,3}(?:出了?)?(?:问题|差错|出错)")
_STATUS_STUCK = re.compile(r"显示.{0,3}过期|变成?了.{0,2}待确认|一直.{0,2}待确认")
_KNOWN_EVEN = re.compile(r"连.{1,14}都知道")
_PROMISED = re.compile(r"还(?:没|是|在)")
_PAYMENT_WORDS = re.compile(r"到账|结算|退款|打款|补贴|回收款")
_GRIEVANCE_WORDS = re.compile(r"骂|投诉|抢光|外挂|黄牛|拒收|不解决|没人管|消失")
# These media words must act: be contacted, come, write, interview or ask about a grievance.
_MEDIA_NOUNS = frozenset(("记者", "媒体", "报纸", "电视台", "报社", "报道"))
_MEDIA_ACTION = re.compile(
    r"找|联系|叫|让|打电话|来|采访|写|报道|曝|爆|拍|反映|投诉|监督|拒收|问.{0,8}事|发给|交给|给"
)
_CROWD_TALK = re.compile(r"(?:好多人|很多人|几百人|上百人|大家|都|全)(?:在)?(?:说|骂|讨论|吐槽)")
_CONTACT_NUMBER = re.compile(r"[的]?(?:电话|号码|热线)")
_VANISHED = frozenset(("不见了", "没了", "消失"))
_CALLS = frozenset(("骚扰电话", "推销电话"))
_CALLS_EVIDENCE = re.compile(r"泄露|卖|报得出|都知道|名字|身份证|手机号")
_WEAK_PRIVACY = frozenset(("泄露", "泄漏", "骚扰电话", "推销电话", "外泄"))
_PRIVACY_EVIDENCE = re.compile(r"报得出|都知道|里面有|诈骗|却|已经|被人")
# Words that are a merchant's fault only when a merchant is named.
_MERCHANT_WORDS = frozenset(("服务费", "手续费", "套路", "补差价", "坑人", "白用了"))


def _always(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """Every match of `pattern` that passes `when` is a hit of `tag` with `severity`."""

    tag: str
    pattern: str | re.Pattern[str]  # a lexicon's name, or a fixed pattern
    severity: int | Severity
    when: Check = _always
    unasked: bool = False  # read the text with 有没有 / 能不能 / 是不是 blanked out
    first_only: bool = False  # only the first match is a candidate

    def apply(self, lx: Lexicon, msg: Message) -> None:
        """Add this rule's hits to the message."""
        pattern = getattr(lx, self.pattern) if isinstance(self.pattern, str) else self.pattern
        text = msg.unasked if self.unasked else msg.text
        matches = [pattern.search(text)] if self.first_only else pattern.finditer(text)
        for m in matches:
            if m is None or not self.when(lx, msg, m):
                continue
            sev = self.severity if isinstance(self.severity, int) else self.severity(lx, msg, m)
            msg.hits.append(Hit(self.tag, m.start(), m.end(), sev))


def find_hits(lx: Lexicon, msg: Message) -> None:
    """Add every candidate hit of the message, rule by rule."""
    for rule in RULES:
        rule.apply(lx, msg)


def grievance(lx: Lexicon, t: str) -> bool:
    """Whether the text complains at all (for nouns that need it: 好多人, 记者)."""
    return bool(
        lx.negated_outcome.search(t)
        or lx.anger_strong.search(t)
        or lx.system_terms.search(t)
        or lx.funds_late.search(t)
        or lx.funds_wrong.search(t)
        or _GRIEVANCE_WORDS.search(t)
    )


def _near(pattern: re.Pattern[str], text: str, a: int, b: int, span: int = 8) -> bool:
    return bool(pattern.search(text[max(0, a - span) : b + span]))


# ---------------------------------------------------------------- severities
def late_severity(lx: Lexicon, msg: Message) -> int:
    """How serious money not (yet) paid is: a week, 500 yuan, a business hurt, anger."""
    if "late" not in msg.severity:
        t = msg.text
        long = msg.days >= 7 or msg.amount >= 500
        long = long or bool(_BUSINESS_FUNDS.search(t) or _LONG_WAIT.search(t))
        angry = lx.anger_strong.search(t) or CONTACT_REPEAT.search(t)
        msg.severity["late"] = 2 if long or angry else 1
    return msg.severity["late"]


def _system_level(lx: Lexicon, msg: Message) -> int:
    t = msg.text
    if WORKED_IN_THE_END.search(t) and not lx.system_business.search(t):
        return 1
    sev = 1
    if msg.days >= 1 or _MANY_DAYS_REPEAT.search(t) or lx.system_business.search(t):
        sev = 2
    if CONTACT_REPEAT.search(t) or lx.anger_strong.search(t):
        sev = 2
    if lx.system_wide.search(t) or (_WIDE_EXTRA.search(t) and lx.mass_many.search(t)):
        sev = 3
    return sev


def system_severity(lx: Lexicon, msg: Message, m: re.Match[str] | None = None) -> int:
    """How serious a failure is: once, repeated or blocking a business, platform-wide."""
    if "system" not in msg.severity:
        msg.severity["system"] = _system_level(lx, msg)
    return msg.severity["system"]


def _late_hit(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    return late_severity(lx, msg)


def _paid_late(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    return 1 if _PAID_IN_THE_END.search(msg.text) else late_severity(lx, msg)


def _wrong_sum(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    return 1 if _SUSPECT_FUNDS.search(msg.text) else 2


def _fraud(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    if _FRAUD_SCALE.search(msg.text):  # evidence of scale outweighs a hedge
        return 3
    return 1 if lx.fraud_suspect.search(msg.text) else 2


def _privacy(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    t = msg.text
    weak = m.group(0) in _WEAK_PRIVACY
    return 1 if weak and _PRIVACY_SUSPECT.search(t) and not _PRIVACY_EVIDENCE.search(t) else 3


def _merchant(lx: Lexicon, msg: Message, m: re.Match[str]) -> int:
    return 1 if _MERCHANT_SUSPECT.search(msg.text) else 2


# ---------------------------------------------------------------- conditions
def _media_noun_acts(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    word, t = m.group(0), msg.text
    if word not in _MEDIA_NOUNS:
        return True
    around = t[max(0, m.start() - 10) : m.end() + 16]
    return bool(_MEDIA_ACTION.search(around.replace(word, "")))


def _platform_published(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    t, a, b = msg.text, m.start(), m.end()
    around = t[max(0, a - 6) : b + 10]
    shopping = lx.media_shopping.search(t[max(0, a - 4) : b + 8])
    crowd = _CROWD_TALK.search(around)
    publish = lx.media_publish.search(around)
    if publish and m.group(0) == "朋友圈" and publish.group(0) in ("骂", "吐槽", "讨论"):
        publish = None
    return bool((publish and not shopping) or (crowd and grievance(lx, t)))


def _institution_acted_on(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    t, a, b = msg.text, m.start(), m.end()
    after = t[b : b + 10]
    if not (lx.escalate_verbs.search(t[max(0, a - 6) : a]) or lx.escalate_verbs.search(after)):
        return False
    return not (_CONTACT_NUMBER.match(after) and lx.information.search(t))


def _names_a_sum(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return bool(lx.money.search(msg.text)) and msg.amount > 0


def _sum_gone_wrong(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    word, t = m.group(0), msg.text
    if word in _VANISHED and WORKED_IN_THE_END.search(t):
        return False  # 券不见了，重新登录又出来了
    if word == "对不上" and "格式" in t:
        return False
    if _PRAISE.search(t) and not lx.anger_strong.search(t):
        return False  # 用券吃火锅少了好几十，点赞
    return _near(lx.money, t, m.start(), m.end(), 12) or msg.amount > 0


def _money_near(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    t = msg.text
    return bool(lx.money.search(t)) and _near(lx.money, t, m.start(), m.end(), 20)


def _long_wait_for_money(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return bool(lx.money.search(msg.text)) and msg.days >= 7


def _promised_payment(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    t = msg.text
    promised = lx.contrast.search(t) or _PROMISED.search(t)
    return bool(promised and _PAYMENT_WORDS.search(t))


def _system_noun_in_clause(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    a, b = msg.clauses[msg.clause_of(m.start())]
    return bool(lx.system_nouns.search(msg.text[a:b]))


def _severe_outage_found(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return any(h.tag == "system-failure" and h.severity == 3 for h in msg.hits)


def _privacy_term_counts(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    word, t = m.group(0), msg.text
    if word in _CALLS:
        return bool(_CALLS_EVIDENCE.search(t))
    return word != "发到群里" or bool(lx.privacy_nouns.search(t))


def _not_a_figure_of_speech(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return not _SAFETY_GUARD.search(msg.text)


def _merchant_named(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return m.group(0) not in _MERCHANT_WORDS or bool(lx.merchant_actor.search(msg.text))


def _grievance_found(lx: Lexicon, msg: Message, m: re.Match[str]) -> bool:
    return bool(msg.hits) or grievance(lx, msg.text)


RULES: tuple[Rule, ...] = (
    Rule("media-exposure", "media_terms", 3, _media_noun_acts),
    Rule("media-exposure", "media_platforms", 3, _platform_published),
    Rule("escalation-threat", "escalate_terms", 3),
    Rule("escalation-threat", "institutions", 3, _institution_acted_on),
    Rule("funds-safety", "funds_stolen", 3),
    Rule("funds-safety", _REJECTED, 2, _names_a_sum, unasked=True),
    Rule("funds-safety", _PAYMENT_FAULT, 2),
    Rule("funds-safety", "funds_wrong", _wrong_sum, _sum_gone_wrong, unasked=True),
    Rule("funds-safety", "funds_late", _paid_late, _money_near, unasked=True),
    # 验收完两个月了: a long wait for money, said as a fact.
    Rule("funds-safety", _WAITED, 2, _long_wait_for_money, first_only=True),
    # 说好48小时到账，这都第三天了: a promised payment and the time since.
    Rule("funds-safety", ELAPSED, _late_hit, _promised_payment, first_only=True),
    Rule("fraud-cheating", "fraud_terms", _fraud),
    Rule("system-failure", "system_terms", system_severity, unasked=True),
    Rule("system-failure", "system_weak", system_severity, _system_noun_in_clause, unasked=True),
    Rule("mass-complaint", "system_wide", 3, _severe_outage_found, first_only=True),
    Rule("system-failure", _STATUS_STUCK, system_severity),
    Rule("privacy-leak", "privacy_terms", _privacy, _privacy_term_counts),
    Rule("privacy-leak", _KNOWN_EVEN, 3),
    Rule("safety-extreme", "safety_terms", 3, _not_a_figure_of_speech),
    Rule("merchant-violation", "merchant_terms", _merchant, _merchant_named),
    Rule("merchant-violation", "merchant_said", _merchant),
    # Organising others, or many people hurt by something above.
    Rule("mass-complaint", "mass_organise", 3),
    Rule("mass-complaint", "mass_many", 3, _grievance_found),
)
