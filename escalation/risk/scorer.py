"""Sentiment risk (舆情) of one message: a level, a score and the tags that say why.

Rules from the domain, in three steps:

1. find candidate hits per tag in the normalised text (lexicons in
   escalation/risk/data/lexicon.yaml), ambiguous nouns only with a verb that makes them
   a risk (a platform name with a publishing verb, an institution with an action);
2. check each hit against its context: a negation just before it (but not a conditional
   再不…就…), hearsay and news, "如果遇到…找谁" advice and information questions, a past
   issue resolved with thanks; reported speech of a real threat stays;
3. set the level from each tag's default severity with upgrade and downgrade rules
   (durations and sums parsed, repetition, business impact, scale, suspicion), and from
   the shape of the complaint for messages with no tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from escalation.risk.numbers import largest_sum, longest_days
from escalation.risk.tags import LEVELS, TAGS
from escalation.risk.text import normalise

# Where each level's scores lie; the score moves inside its band with the evidence.
_BAND = {0: (0.0, 0.2), 1: (0.25, 0.45), 2: (0.5, 0.7), 3: (0.75, 1.0)}

_CLAUSE_SPLIT = re.compile(r"[,.!?;:~…\n]+|\s{2,}")
# A clause asks when it ends with a question mark, a question particle or an interrogative,
# or opens with 请问 / 想问; an interrogative inside a statement (我就带几个人去) does not.
_QUESTION_END = re.compile(
    r"(?:吗|么|没有|不|啥|多少|几[点号天张次个时岁]?|哪里|哪儿|哪个|哪些|哪家|什么|什么时候|"
    r"怎么办|怎么弄|怎么用|怎么领|怎么样|怎么操作|如何|谁|多久|几时|是否)[啊呀呢吧哈]*$|呢$"
)
_QUESTION_START = re.compile(r"^(?:请问|想问|咨询|想了解|问下|问一下|我想问|麻烦问)")


@dataclass(frozen=True, slots=True)
class RiskResult:
    """The verdict on one message."""

    level: str
    score: float
    tags: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "score": round(self.score, 3), "tags": list(self.tags)}


@dataclass(slots=True)
class _Hit:
    tag: str
    start: int
    end: int
    severity: int


@dataclass(slots=True)
class _Message:
    text: str
    unasked: str  # the text with 有没有 / 能不能 / 是不是 blanked out, positions kept
    clauses: list[tuple[int, int]]
    questions: list[bool]
    asking: bool  # some clause asks, and not rhetorically (凭什么, 合理吗)
    hits: list[_Hit] = field(default_factory=list)
    # Read once per message, when a rule first needs them.
    _days: float | None = None
    _amount: float | None = None
    _severity: dict[str, int] = field(default_factory=dict)

    @property
    def days(self) -> float:
        """The longest span of time the message names, in days."""
        if self._days is None:
            self._days = longest_days(self.text)
        return self._days

    @property
    def amount(self) -> float:
        """The largest sum of money the message names, in yuan."""
        if self._amount is None:
            self._amount = largest_sum(self.text)
        return self._amount

    def clause_of(self, pos: int) -> int:
        for i, (a, b) in enumerate(self.clauses):
            if a <= pos < b:
                return i
        return len(self.clauses) - 1

    def clause_text(self, i: int) -> str:
        a, b = self.clauses[i]
        return self.text[a:b]


def _alt(items: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(items, key=len, reverse=True)) + ")"


class Lexicon:
    """The compiled lexicons."""

    def __init__(self, data: Mapping[str, list[str]]) -> None:
        def rx(*names: str) -> re.Pattern[str]:
            return re.compile(_alt(w for n in names for w in data[n]))

        self.money = rx("money")
        self.media_terms = rx("media_terms")
        self.media_platforms = rx("media_platforms")
        self.media_publish = rx("media_publish")
        self.media_shopping = rx("media_shopping")
        self.institutions = rx("institutions")
        self.escalate_verbs = rx("escalate_verbs")
        self.escalate_terms = rx("escalate_terms")
        self.mass_organise = rx("mass_organise")
        self.mass_many = rx("mass_many")
        self.funds_stolen = rx("funds_stolen")
        self.funds_wrong = rx("funds_wrong")
        self.funds_late = rx("funds_late")
        self.fraud_terms = rx("fraud_terms")
        self.fraud_suspect = rx("fraud_suspect")
        self.system_terms = rx("system_terms")
        self.system_weak = rx("system_weak")
        self.system_nouns = rx("system_nouns")
        self.system_business = rx("system_business")
        self.system_wide = rx("system_wide")
        self.privacy_terms = rx("privacy_terms")
        self.privacy_nouns = rx("privacy_nouns")
        self.safety_terms = rx("safety_terms")
        self.merchant_actor = rx("merchant_actor")
        self.merchant_terms = rx("merchant_terms")
        # What a merchant is reported to have said: 店家说不收券, 4S店说补贴不能在他们家用.
        self.merchant_said = re.compile(
            _alt(data["merchant_actor"]) + r"[^,.!?]{0,4}(?:说|讲|告诉我|表示|称)[^.!?]{0,12}"
            r"(?:用不了|不能.{0,6}用|不给.{0,4}用|不收|不参加|没参加|不让用|要另外|先付全款|先全款|"
            r"不给办|不给补|不能补|是假的|不认)"
        )
        self.anger_strong = rx("anger_strong")
        self.anger_mild = rx("anger_mild")
        self.negative_emoji = rx("negative_emoji")
        self.contrast = rx("contrast")
        self.intensifiers = rx("intensifiers")
        self.rhetorical = rx("rhetorical")
        self.negated_outcome = rx("negated_outcome")
        self.asking_forms = rx("asking_forms")
        self.resolved = rx("resolved")
        self.thanks = rx("thanks")
        self.hearsay = rx("hearsay")
        self.hypothetical = rx("hypothetical")
        self.advice = rx("advice")
        self.information = rx("information")
        negs = _alt(data["negations"])
        # A negation just before the hit, with at most a few characters between and no
        # conditional (不…就 is a threat, not a denial).
        self.negated_before = re.compile(negs + r"(?:(?!就|才|否则|不然|的话).){0,3}$")
        self.conditional = re.compile(
            r"再不|要是不|如果不|不[^,.!?;]{0,8}(?:就(?!是)|的话)|否则|不然"
        )
        self.strict_hypothetical = re.compile(r"如果|假如|万一|要是|假设|若是")


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    raw = resources.files("escalation.risk").joinpath("data/lexicon.yaml").read_text("utf-8")
    return Lexicon(yaml.safe_load(raw))


# Suspicion, not report: the message guesses (感觉是不是有黄牛).
_SUSPECT_FUNDS = re.compile(
    r"是不是算错|好像|一点点|还在核对|先跟你们说一声|不知道到没到|可能|也许|四舍五入|自己算错"
)
_WIDE_EXTRA = re.compile(r"都(?:打不开|进不去|登不上|核销不了|用不了)|全(?:是这样|都)")
_MANY_DAYS_REPEAT = re.compile(
    r"连续|每天|(?<![今明昨])天天|每次|从.{0,6}(?:开始|起)就|[三四五六七八九十]次|好几次|[3-9]次"
)
_CONTACT_REPEAT = re.compile(
    r"第[二三四五六七八九十几0-9]+(?:次|遍)|[三四五六七八九十3-9](?:次|遍)|好几次|问了[三四五几3-9]个|又.{0,4}又"
)
_MANY_TIMES = re.compile(
    r"(?<![分成])[三四五六七八九十3-9]+(?:次|遍)(?!才)|第[三四五六七八九十3-9]+回"
)
_ELAPSED = re.compile(
    r"(?:都|已经|等了|过了|拖了|快|现在|排了)[^,.!?]{0,6}(?:天|周|星期|礼拜|月|小时)"
)
_EXCLAIM = re.compile(r"!{2,}|\?{2,}|!\?|\?!")
_LONG_WAIT = re.compile(r"一直|迟迟|始终|至今")
_BUSINESS_FUNDS = re.compile(r"周转|倒闭|工资|发不出|资金链|垫付|供应商|扛不住")
_FRAUD_SCALE = re.compile(
    r"[0-9十百千]+多?(?:笔|单|台|部|个|张)|一伙|团伙|批量|大量|成批|一天就|几十台|好多张|发现有人|"
    r"串通|虚开|(?<!没有)(?<!没)证据|截图|录音|录像|作证|两次|重复"
)
_PRIVACY_SUSPECT = re.compile(r"不会是|会不会|是不是|怀疑|该不会|可能")
# Praise in quotation marks is sarcasm: 真是太"高效"了.
_SARCASM = re.compile(
    r'"(?:高效|方便|贴心|快|负责|专业|便民|惠民|优惠|给力|省心|简单|靠谱|良心)"'
    r"|(?:没抢到|没到账|不了|没用)[^.!?]{0,12}(?:真是|太)?(?:太感谢|谢谢你们|感谢)"
)
_MERCHANT_SUSPECT = re.compile(r"是我看错|是不是我|好像|感觉|不知道是不是|可能是")
# It worked in the end (刷新了好几次才进去): a nuisance, not an outage.
_WORKED_IN_THE_END = re.compile(
    r"才(?:进去|成功|好|过|行|上去|登上|传上去|领到|出来|有)|又好了|就好了|就有了|进去了|"
    r"又能用了|恢复了|重试就|最后还是|eventually"
)
# 打不开 / 领不了 hold a 不 that is a verb's complement, not a negation of what follows.
_COMPLEMENT = re.compile(r"[\u4e00-\u9fff]不[了开到上去起动成好完住清出进]$")
_RHETORICAL_NOT = re.compile(r"不是[^,.!?]{0,10}吗|不就是")
_DECISION_ASKED = re.compile(r"(?:要不要|能不能|可不可以|需不需要|用不用|该不该|可以)$")
_DENIED_AFTER = re.compile(r".{0,3}(?:倒不至于|不至于|就算了|倒不必|倒不用)")
_PAID_IN_THE_END = re.compile(r"才到(?!现在)|终于到|到是到了|已经到了|后来到了")
_REPORTING = re.compile(r"了|过|被|没|不|都|已经|太|一直|还是|又|才|说|要去|要告|准备|打算")
_WAITED = re.compile(r"[0-9一二两三四五六七八九十几半]+多?个?多?(?:天|周|星期|礼拜|月)了")
_OWN_CASE = re.compile(r"我(?:们)?(?:也)?(?:要|就|会|已经|被|准备|打算|的)")
_INTENT = re.compile(r"我(?:要|会|就|准备|打算|一定)|让他们|等着")
_PRAISE = re.compile(r"点赞|划算|巴适|真香|省了|太好了|很方便|好评")
_SAFETY_GUARD = re.compile(r"搞砸|砸了.{0,2}(?:锅|饭碗)")


class RiskScorer:
    """Scores messages; thread-safe and without state between calls."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lex = lexicon or load_lexicon()

    # ---------------------------------------------------------------- public
    def score(self, text: str) -> RiskResult:
        msg = self._parse(normalise(text))
        if not msg.text:
            return RiskResult("none", 0.0, ())
        self._find(msg)
        hits = [h for h in msg.hits if self._stands(msg, h)]
        tags: dict[str, int] = {}
        for h in hits:
            tags[h.tag] = max(tags.get(h.tag, 0), h.severity)
        points = self._shape_points(msg)
        level = self._level(msg, tags, points)
        if level == 0:
            tags = {}
        lo, hi = _BAND[level]
        score = lo + (hi - lo) * min(1.0, (points + sum(tags.values())) / 8)
        ordered = tuple(t for t in TAGS if t in tags)
        return RiskResult(LEVELS[level], round(score, 4), ordered)

    __call__ = score

    # ---------------------------------------------------------------- parsing
    def _parse(self, text: str) -> _Message:
        clauses: list[tuple[int, int]] = []
        questions: list[bool] = []
        pos = 0
        for m in [*list(_CLAUSE_SPLIT.finditer(text)), None]:
            end = m.start() if m else len(text)
            nxt = m.end() if m else len(text)
            if end > pos:
                body = text[pos:end].strip()
                mark = m.group(0) if m else ""
                clauses.append((pos, end))
                questions.append(
                    "?" in mark
                    or bool(_QUESTION_END.search(body))
                    or bool(_QUESTION_START.search(body))
                )
            pos = nxt
        if not clauses:
            clauses, questions = [(0, len(text))], [False]
        asking = any(questions) and not self.lex.rhetorical.search(text)
        return _Message(text, self._unask(text), clauses, questions, asking)

    def _unask(self, text: str) -> str:
        """The text with 有没有 / 能不能 / 是不是 blanked out, positions kept."""
        return self.lex.asking_forms.sub(lambda m: "？" * len(m.group(0)), text)

    # ---------------------------------------------------------------- hits
    def _add(self, msg: _Message, tag: str, m: re.Match[str], severity: int) -> None:
        msg.hits.append(_Hit(tag, m.start(), m.end(), severity))

    def _near(self, pattern: re.Pattern[str], text: str, a: int, b: int, span: int = 8) -> bool:
        return bool(pattern.search(text[max(0, a - span) : b + span]))

    def _find(self, msg: _Message) -> None:
        lx, t, unasked = self.lex, msg.text, msg.unasked

        # media-exposure
        for m in lx.media_terms.finditer(t):
            word = m.group(0)
            if word in ("记者", "媒体", "报纸", "电视台", "报社", "报道"):
                # These must act: be contacted, come, write, interview or ask about a grievance.
                around = t[max(0, m.start() - 10) : m.end() + 16]
                if not re.search(
                    r"找|联系|叫|让|打电话|来|采访|写|报道|曝|爆|拍|反映|投诉|监督|拒收|问.{0,8}事|"
                    r"发给|交给|给",
                    around.replace(word, ""),
                ):
                    continue
            self._add(msg, "media-exposure", m, 3)
        for m in lx.media_platforms.finditer(t):
            a, b = m.start(), m.end()
            around = t[max(0, a - 6) : b + 10]
            shopping = lx.media_shopping.search(t[max(0, a - 4) : b + 8])
            crowd = re.search(
                r"(?:好多人|很多人|几百人|上百人|大家|都|全)(?:在)?(?:说|骂|讨论|吐槽)", around
            )
            publish = lx.media_publish.search(around)
            if publish and m.group(0) == "朋友圈" and publish.group(0) in ("骂", "吐槽", "讨论"):
                publish = None
            if (publish and not shopping) or (crowd and self._grievance(t)):
                self._add(msg, "media-exposure", m, 3)

        # escalation-threat
        for m in lx.escalate_terms.finditer(t):
            self._add(msg, "escalation-threat", m, 3)
        for m in lx.institutions.finditer(t):
            a, b = m.start(), m.end()
            before = t[max(0, a - 6) : a]
            after = t[b : b + 10]
            if lx.escalate_verbs.search(before) or lx.escalate_verbs.search(after):
                if re.match(r"[的]?(?:电话|号码|热线)", after) and lx.information.search(t):
                    continue
                self._add(msg, "escalation-threat", m, 3)

        # funds-safety
        has_money = bool(lx.money.search(t))
        for m in lx.funds_stolen.finditer(t):
            self._add(msg, "funds-safety", m, 3)
        for m in re.finditer(r"(?:驳回|不通过|被拒|拒绝了?)", unasked):
            if has_money and msg.amount > 0:
                self._add(msg, "funds-safety", m, 2)
        for m in re.finditer(
            r"(?:结算|补贴|款|钱|到账)[^,.!?]{0,3}(?:出了?)?(?:问题|差错|出错)", t
        ):
            self._add(msg, "funds-safety", m, 2)
        for m in lx.funds_wrong.finditer(unasked):
            if m.group(0) in ("不见了", "没了", "消失") and _WORKED_IN_THE_END.search(t):
                continue  # 券不见了，重新登录又出来了
            if m.group(0) == "对不上" and "格式" in t:
                continue
            if _PRAISE.search(t) and not lx.anger_strong.search(t):
                continue  # 用券吃火锅少了好几十，点赞
            if self._near(lx.money, t, m.start(), m.end(), 12) or msg.amount > 0:
                sev = 1 if _SUSPECT_FUNDS.search(t) else 2
                self._add(msg, "funds-safety", m, sev)
        for m in lx.funds_late.finditer(unasked):
            if not (has_money and self._near(lx.money, t, m.start(), m.end(), 20)):
                continue
            sev = 1 if _PAID_IN_THE_END.search(t) else self._late_severity(msg)
            self._add(msg, "funds-safety", m, sev)
        # 说好48小时到账，这都第三天了: a promised payment and the time since.
        elapsed = _ELAPSED.search(t)
        # 验收完两个月了: a long wait for money, said as a fact.
        waited = _WAITED.search(t)
        if has_money and waited and msg.days >= 7:
            self._add(msg, "funds-safety", waited, 2)
        promised = lx.contrast.search(t) or re.search(r"还(?:没|是|在)", t)
        if elapsed and promised and re.search(r"到账|结算|退款|打款|补贴|回收款", t):
            self._add(msg, "funds-safety", elapsed, self._late_severity(msg))

        # fraud-cheating
        for m in lx.fraud_terms.finditer(t):
            if _FRAUD_SCALE.search(t):  # evidence of scale outweighs a hedge
                sev = 3
            elif lx.fraud_suspect.search(t):
                sev = 1
            else:
                sev = 2
            self._add(msg, "fraud-cheating", m, sev)

        # system-failure
        for m in lx.system_terms.finditer(unasked):
            self._add(msg, "system-failure", m, self._system_severity(msg))
        for m in lx.system_weak.finditer(unasked):
            a, b = msg.clauses[msg.clause_of(m.start())]
            if lx.system_nouns.search(t[a:b]):
                self._add(msg, "system-failure", m, self._system_severity(msg))
        if any(h.tag == "system-failure" and h.severity == 3 for h in msg.hits):
            wide = lx.system_wide.search(t)
            if wide:
                self._add(msg, "mass-complaint", wide, 3)
        for m in re.finditer(r"显示.{0,3}过期|变成?了.{0,2}待确认|一直.{0,2}待确认", t):
            self._add(msg, "system-failure", m, self._system_severity(msg))

        # privacy-leak
        for m in lx.privacy_terms.finditer(t):
            word = m.group(0)
            if word in ("骚扰电话", "推销电话") and not re.search(
                r"泄露|卖|报得出|都知道|名字|身份证|手机号", t
            ):
                continue
            if word == "发到群里" and not lx.privacy_nouns.search(t):
                continue
            weak = word in ("泄露", "泄漏", "骚扰电话", "推销电话", "外泄")
            evidence = re.search(r"报得出|都知道|里面有|诈骗|却|已经|被人", t)
            sev = 1 if weak and _PRIVACY_SUSPECT.search(t) and not evidence else 3
            self._add(msg, "privacy-leak", m, sev)
        for m in re.finditer(r"连.{1,14}都知道", t):
            self._add(msg, "privacy-leak", m, 3)

        # safety-extreme
        if not _SAFETY_GUARD.search(t):
            for m in lx.safety_terms.finditer(t):
                self._add(msg, "safety-extreme", m, 3)

        # merchant-violation
        for m in lx.merchant_terms.finditer(t):
            word = m.group(0)
            if word in ("服务费", "手续费", "套路", "补差价", "坑人", "白用了") and not (
                lx.merchant_actor.search(t)
            ):
                continue
            self._add(msg, "merchant-violation", m, 2)
        for m in lx.merchant_said.finditer(t):
            self._add(msg, "merchant-violation", m, 2)
        if _MERCHANT_SUSPECT.search(t):
            for h in msg.hits:
                if h.tag == "merchant-violation":
                    h.severity = 1

        # mass-complaint: organising others, or many people hurt by something above
        for m in lx.mass_organise.finditer(t):
            self._add(msg, "mass-complaint", m, 3)
        grievance = bool(msg.hits) or self._grievance(t)
        for m in lx.mass_many.finditer(t):
            if grievance:
                self._add(msg, "mass-complaint", m, 3)

    def _grievance(self, t: str) -> bool:
        """Whether the text complains at all (for nouns that need it: 好多人, 记者)."""
        lx = self.lex
        return bool(
            lx.negated_outcome.search(t)
            or lx.anger_strong.search(t)
            or lx.system_terms.search(t)
            or lx.funds_late.search(t)
            or lx.funds_wrong.search(t)
            or re.search(r"骂|投诉|抢光|外挂|黄牛|拒收|不解决|没人管|消失", t)
        )

    def _late_severity(self, msg: _Message) -> int:
        """How serious money not (yet) paid is: a week, 500 yuan, a business hurt, anger."""
        if "late" not in msg._severity:
            t = msg.text
            long = msg.days >= 7 or msg.amount >= 500
            long = long or bool(_BUSINESS_FUNDS.search(t) or _LONG_WAIT.search(t))
            angry = self.lex.anger_strong.search(t) or _CONTACT_REPEAT.search(t)
            msg._severity["late"] = 2 if long or angry else 1
        return msg._severity["late"]

    def _system_severity(self, msg: _Message) -> int:
        """How serious a failure is: once, repeated or blocking a business, platform-wide."""
        if "system" not in msg._severity:
            msg._severity["system"] = self._system_level(msg)
        return msg._severity["system"]

    def _system_level(self, msg: _Message) -> int:
        lx, t = self.lex, msg.text
        if _WORKED_IN_THE_END.search(t) and not lx.system_business.search(t):
            return 1
        sev = 1
        if msg.days >= 1 or _MANY_DAYS_REPEAT.search(t) or lx.system_business.search(t):
            sev = 2
        if _CONTACT_REPEAT.search(t) or lx.anger_strong.search(t):
            sev = 2
        if lx.system_wide.search(t) or (_WIDE_EXTRA.search(t) and lx.mass_many.search(t)):
            sev = 3
        return sev

    # ---------------------------------------------------------------- context
    def _stands(self, msg: _Message, hit: _Hit) -> bool:
        """Whether a hit survives its context."""
        lx, t = self.lex, msg.text
        ci = msg.clause_of(hit.start)
        a = msg.clauses[ci][0]
        # A negation just before it (没有被骗, 不打算曝光), unless a conditional threat.
        before = msg.unasked[a : hit.start]
        # Asked about, not reported: 要不要拒收, 能不能退.
        if _DECISION_ASKED.search(t[a : hit.start]) and hit.tag != "safety-extreme":
            return False
        # Denied just after: 曝光倒不至于.
        if _DENIED_AFTER.match(t, hit.end) and hit.tag in ("media-exposure", "escalation-threat"):
            return False
        if (
            lx.negated_before.search(before)
            and not _COMPLEMENT.search(before)
            and not _RHETORICAL_NOT.search(t, a)
            and not lx.conditional.search(t[max(a, hit.start - 8) : hit.end + 8])
        ):
            return False
        question = msg.asking
        if hit.tag == "safety-extreme":
            return not (question and lx.strict_hypothetical.search(t) and lx.advice.search(t))
        # "如果系统出故障了，券会不会作废？": a question about a case that did not happen.
        if (
            question
            and lx.strict_hypothetical.search(t)
            and self._only_asks(msg)
            and not _INTENT.search(t)
        ):
            return False
        # A message that only asks (补贴比例一样吗, 手机号有没有被泄露): nothing is reported.
        if (
            question
            and (msg.questions[ci] or lx.strict_hypothetical.search(msg.clause_text(ci)))
            and self._only_asks(msg)
            and not _INTENT.search(t)
            and not lx.anger_strong.search(t)
            and hit.tag != "funds-safety"
        ):
            return False
        # "如果遇到…应该找谁" and other advice: a question about what to do, nothing happened.
        if question and lx.hypothetical.search(t) and lx.advice.search(t):
            return False
        if question and lx.advice.search(t) and not self._happened(t):
            return False
        # Information questions only mention the word (12345电话是多少).
        if (
            (
                lx.information.search(msg.clause_text(ci))
                or (question and lx.information.search(t) and not self._happened(t))
            )
            and not _INTENT.search(t)
            and hit.tag in ("escalation-threat", "media-exposure")
        ):
            return False
        # Hearsay and news: 听说有黄牛, 新闻说有人用外挂被抓了.
        if lx.hearsay.search(t) and not _OWN_CASE.search(t):
            return False
        # A past issue, resolved and thanked for.
        resolved = lx.resolved.search(t)
        if resolved and t[max(0, resolved.start() - 2) : resolved.start()].endswith("显示"):
            resolved = None
        if resolved and (lx.thanks.search(t) or re.search(r"之前|上次|已经", t)):
            later = lx.resolved.search(t, hit.end)
            if later is not None and hit.tag in ("funds-safety", "system-failure"):
                return False
            if lx.thanks.search(t):
                return False
        return True

    def _only_asks(self, msg: _Message) -> bool:
        """Every clause asks, frames a question (想问下) or names its topic; none reports."""
        for i, is_question in enumerate(msg.questions):
            body = msg.clause_text(i).strip()
            if (
                is_question
                or _QUESTION_START.search(body)
                or re.search(r"想问|了解|咨询", body)
                or self.lex.strict_hypothetical.match(body)  # 如果系统出故障了, …吗
            ):
                continue
            if len(body) <= 14 and not _REPORTING.search(body):
                continue
            return False
        return True

    def _happened(self, t: str) -> bool:
        """Something did happen (过去 / 已经 / 了), not only asked about."""
        return bool(
            re.search(r"已经|刚刚?|今天|昨天|发现|(?<![为除])了(?!解)|说要|扬言|威胁|要去|要告", t)
        )

    # ---------------------------------------------------------------- level
    def _shape_points(self, msg: _Message) -> int:
        lx = self.lex
        t = msg.unasked
        points = 0
        strong = {
            m.group(0)
            for m in lx.anger_strong.finditer(t)
            if not lx.negated_before.search(t[max(0, m.start() - 6) : m.start()])
        }
        strong |= {m.group(0) for m in _SARCASM.finditer(t)}
        points += 2 * min(len(strong), 2)
        points += min(2, len({m.group(0) for m in lx.anger_mild.finditer(t)}))
        if _MANY_TIMES.search(t):  # 第三次, 问了三遍: asked again and again
            points += 1
        if msg.days >= 14 and lx.negated_outcome.search(t):  # 一个多月还没审
            points += 2
        for pattern in (
            lx.negative_emoji,
            lx.contrast,
            lx.intensifiers,
            lx.rhetorical,
            lx.negated_outcome,
            _ELAPSED,
            _CONTACT_REPEAT,
            _EXCLAIM,
        ):
            if pattern.search(t):
                points += 1
        return points

    def _level(self, msg: _Message, tags: dict[str, int], points: int) -> int:
        lx, t = self.lex, msg.text
        if points >= 5 or (points >= 3 and lx.anger_strong.search(t)):
            shape = 2
        elif points >= 1:
            shape = 1
        else:
            shape = 0
        if not tags:
            question = msg.asking
            sarcastic = _SARCASM.search(t)
            if (
                lx.thanks.search(t)
                and not lx.anger_strong.search(t)
                and points <= 2
                and not sarcastic
            ):
                return 0
            angry = lx.anger_strong.search(t) or lx.anger_mild.search(t)
            if question and ((points <= 1 and not angry) or lx.strict_hypothetical.search(t)):
                return 0
            if lx.hearsay.search(t) and (question or not lx.anger_strong.search(t)):
                return 0
            return shape
        level = max(tags.values())
        if level < 2 and shape >= 2:
            level = 2
        return max(level, 1)


@lru_cache(maxsize=1)
def load_scorer() -> RiskScorer:
    """The shared scorer with the bundled lexicons."""
    return RiskScorer()


def score(text: str) -> RiskResult:
    return load_scorer().score(text)
