"""Sentiment risk (舆情) of one message: a level, a score and the tags that say why.

Rules from the domain, in three steps:

1. find candidate hits per tag in the normalised text (the table of rules in rules.py,
   over the lexicons in escalation/risk/data/lexicon.yaml), ambiguous nouns only with a
   verb that makes them a risk (a platform name with a publishing verb, an institution
   with an action);
2. check each hit against its context: a negation just before it (but not a conditional
   再不…就…), hearsay and news, "如果遇到…找谁" advice and information questions, a past
   issue resolved with thanks; reported speech of a real threat stays;
3. set the level from each tag's default severity with upgrade and downgrade rules
   (durations and sums parsed, repetition, business impact, scale, suspicion), and from
   the shape of the complaint for messages with no tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from escalation.risk.lexicon import Lexicon, load_lexicon
from escalation.risk.message import QUESTION_START, Hit, Message, parse_message
from escalation.risk.rules import CONTACT_REPEAT, ELAPSED, find_hits
from escalation.risk.tags import LEVELS, TAGS
from escalation.risk.text import normalise

# Where each level's scores lie; the score moves inside its band with the evidence.
_BAND = {0: (0.0, 0.2), 1: (0.25, 0.45), 2: (0.5, 0.7), 3: (0.75, 1.0)}

_MANY_TIMES = re.compile(
    r"(?<![分成])[三四五六七八九十3-9]+(?:次|遍)(?!才)|第[三四五六七八九十3-9]+回"
)
_EXCLAIM = re.compile(r"!{2,}|\?{2,}|!\?|\?!")
# Praise in quotation marks is sarcasm: 真是太"高效"了.
_SARCASM = re.compile(
    r'"(?:高效|方便|贴心|快|负责|专业|便民|惠民|优惠|给力|省心|简单|靠谱|良心)"'
    r"|(?:没抢到|没到账|不了|没用)[^.!?]{0,12}(?:真是|太)?(?:太感谢|谢谢你们|感谢)"
)
# 打不开 / 领不了 hold a 不 that is a verb's complement, not a negation of what follows.
_COMPLEMENT = re.compile(r"[\u4e00-\u9fff]不[了开到上去起动成好完住清出进]$")
_RHETORICAL_NOT = re.compile(r"不是[^,.!?]{0,10}吗|不就是")
_DECISION_ASKED = re.compile(r"(?:要不要|能不能|可不可以|需不需要|用不用|该不该|可以)$")
_DENIED_AFTER = re.compile(r".{0,3}(?:倒不至于|不至于|就算了|倒不必|倒不用)")
_REPORTING = re.compile(r"了|过|被|没|不|都|已经|太|一直|还是|又|才|说|要去|要告|准备|打算")
_OWN_CASE = re.compile(r"我(?:们)?(?:也)?(?:要|就|会|已经|被|准备|打算|的)")
_INTENT = re.compile(r"我(?:要|会|就|准备|打算|一定)|让他们|等着")


@dataclass(frozen=True, slots=True)
class RiskResult:
    """The verdict on one message."""

    level: str
    score: float
    tags: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "score": round(self.score, 3), "tags": list(self.tags)}


class RiskScorer:
    """Scores messages; thread-safe and without state between calls."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lex = lexicon or load_lexicon()

    # ---------------------------------------------------------------- public
    def score(self, text: str) -> RiskResult:
        msg = parse_message(normalise(text), self.lex)
        if not msg.text:
            return RiskResult("none", 0.0, ())
        find_hits(self.lex, msg)
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

    # ---------------------------------------------------------------- context
    def _stands(self, msg: Message, hit: Hit) -> bool:
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

    def _only_asks(self, msg: Message) -> bool:
        """Every clause asks, frames a question (想问下) or names its topic; none reports."""
        for i, is_question in enumerate(msg.questions):
            body = msg.clause_text(i).strip()
            if (
                is_question
                or QUESTION_START.search(body)
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
    def _shape_points(self, msg: Message) -> int:
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
            ELAPSED,
            CONTACT_REPEAT,
            _EXCLAIM,
        ):
            if pattern.search(t):
                points += 1
        return points

    def _level(self, msg: Message, tags: dict[str, int], points: int) -> int:
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
