"""Normalisation for risk scoring: one form for what users type, punctuation kept.

NFKC (full-width to half-width), the dialect table the answer engine reads too
(knowledge.dialect: Cantonese only where it shows, before OpenCC would turn 係 into 系;
Southwestern, Northeastern and Wu words after), traditional to simplified, lower case, and
homophone repair of one character only against the risk terms (暴光 → 曝光, 投述 → 投诉,
with the accent confusions of knowledge.segment),
never of a word the dictionary knows well nor of function characters (急着 stays).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import jieba
import opencc
from pypinyin import Style, pinyin

from knowledge.dialect import builtin_dialects
from knowledge.segment import fuzzy_syllable

jieba.setLogLevel(logging.WARNING)

# Past this a message is a story: its head and tail carry the threat, the middle the detail.
MAX_CHARS = 1200

# Variant spellings that are not typos (到帐 is old usage) and spacing inside numbers.
_VARIANTS = (
    (re.compile("(?<=[到对结转])帐|帐(?=[户号单])"), "账"),
    (re.compile(r"\s+"), " "),
)

# Terms worth repairing: a one-character slip in these changes what a supervisor sees.
RISK_TERMS = (
    "曝光",
    "投诉",
    "补贴",
    "到账",
    "举报",
    "维权",
    "泄露",
    "记者",
    "媒体",
    "核销",
    "消费券",
    "外挂",
    "黄牛",
    "套现",
    "骗补",
    "结算",
    "退款",
    "冻结",
    "盗刷",
    "起诉",
    "信访",
    "报警",
    "热搜",
    "市监局",
    "消委会",
    "跳楼",
    "涨价",
)
# Characters a writer means as typed: negations, particles, pronouns.
_NOT_TYPOS = frozenset("不没别未无非吗呢吧啊呀么嘛了的着过得地我你他她它们是在有和就都也还要")
# A window that is a word this common in general text was meant (投宿 is not 投诉).
_KNOWN_WORD_FREQ = 50


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _sounds(ch: str) -> frozenset[str]:
    """Toneless readings of one character (every reading of a heteronym)."""
    if not ("\u3400" <= ch <= "\u9fff"):
        return frozenset()
    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=65536)
def _fuzzy_sounds(ch: str) -> frozenset[str]:
    """The readings with southern-accent confusions folded (shu ~ su, zhi ~ zi, nan ~ lan)."""
    return frozenset(fuzzy_syllable(s) for s in _sounds(ch))


def _word_freq(word: str) -> int:
    return int(jieba.dt.FREQ.get(word, 0) or 0)


class Repairer:
    """One-character homophone repair against a fixed list of terms."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(dict.fromkeys(terms))
        # (length, position of the slip, the other characters) → term.
        self._index: dict[tuple[int, int, str], list[str]] = {}
        for term in self.terms:
            for i in range(len(term)):
                key = (len(term), i, term[:i] + "\0" + term[i + 1 :])
                self._index.setdefault(key, []).append(term)
        self._lengths = sorted({len(t) for t in self.terms})
        jieba.initialize()

    def __call__(self, text: str) -> str:
        if not text:
            return text
        out = list(text)
        for n in self._lengths:
            for start in range(len(out) - n + 1):
                window = "".join(out[start : start + n])
                if window in self.terms:
                    continue
                before = out[start - 1] if start else ""
                after = out[start + n] if start + n < len(out) else ""
                repaired = self._repair(window, n, before, after)
                if repaired is not None:
                    out[start : start + n] = list(repaired)
        return "".join(out)

    def _repair(self, window: str, n: int, before: str = "", after: str = "") -> str | None:
        # A window whose edge makes a word with its neighbour is two words (活动结束 has no
        # 冻结 in it): leave it.
        if before and _word_freq(before + window[0]) >= _KNOWN_WORD_FREQ:
            return None
        if after and _word_freq(window[-1] + after) >= _KNOWN_WORD_FREQ:
            return None
        for i in range(n):
            slip = window[i]
            if slip in _NOT_TYPOS:
                continue
            key = (n, i, window[:i] + "\0" + window[i + 1 :])
            for term in self._index.get(key, ()):
                if (
                    _fuzzy_sounds(slip) & _fuzzy_sounds(term[i])
                    and _word_freq(window) < _KNOWN_WORD_FREQ
                ):
                    return term
        return None


@lru_cache(maxsize=1)
def _repairer() -> Repairer:
    return Repairer(RISK_TERMS)


def normalise(text: str) -> str:
    """Return the canonical form risk rules read: simplified, lower case, half-width."""
    text = unicodedata.normalize("NFKC", text or "")
    if len(text) > MAX_CHARS:
        half = MAX_CHARS // 2
        text = text[:half] + "。" + text[-half:]
    dialects = builtin_dialects()
    text = dialects.before_conversion(text)
    text = dialects.after_conversion(_t2s().convert(text).lower())
    for pattern, repl in _VARIANTS:
        text = pattern.sub(repl, text)
    text = text.replace("“", '"').replace("”", '"').replace("。", ".").replace("、", ",")
    return _repairer()(text.strip())
