"""Normalisation for risk scoring: one form for what users type, punctuation kept.

NFKC (full-width to half-width), a Cantonese map only where Cantonese markers appear
(before OpenCC, which would turn 係 into 系), traditional to simplified, lower case, and
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

from knowledge.segment import fuzzy_syllable

jieba.setLogLevel(logging.WARNING)

# Past this a message is a story: its head and tail carry the threat, the middle the detail.
MAX_CHARS = 1200

# Characters seen only in written Cantonese (traditional or simplified forms).
_CANTONESE_MARKERS = re.compile(
    "[唔冇係嘅咗佢哋喺俾畀嚟睇搵啲嗰攞咩噉乜嘢咁嚿]|點解|点解|而家|今朝|琴日|聽日|听日"
)
# Longest first; the traditional forms are mapped before OpenCC converts the rest.
_CANTONESE = {
    "點解": "为什么",
    "点解": "为什么",
    "而家": "现在",
    "今朝": "今天早上",
    "琴日": "昨天",
    "聽日": "明天",
    "听日": "明天",
    "有冇": "有没有",
    "可唔可以": "可不可以",
    "係咪": "是不是",
    "系咪": "是不是",
    "唔該": "请",
    "唔该": "请",
    "乜嘢": "什么",
    "同埋": "和",
    "舖頭": "店",
    "铺头": "店",
    "俾人": "被人",
    "畀人": "被人",
    "幾時": "什么时候",
    "點樣": "怎么样",
    "点样": "怎么样",
    "搶晒": "抢完",
    "一齊": "一起",
    "一齐": "一起",
    "成個": "整个",
    "成个": "整个",
    "話": "说",
    "话": "说",
    "抢晒": "抢完",
    "唔": "不",
    "冇": "没",
    "係": "是",
    "嘅": "的",
    "咗": "了",
    "佢": "他",
    "哋": "们",
    "喺": "在",
    "俾": "给",
    "畀": "给",
    "嚟": "来",
    "睇": "看",
    "搵": "找",
    "啲": "些",
    "嗰": "那",
    "攞": "拿",
    "咩": "什么",
    "噉": "这样",
    "咁": "这么",
    "晒": "完",
    "仲": "还",
}
_CANTONESE_RE = re.compile(
    "|".join(re.escape(k) for k in sorted(_CANTONESE, key=len, reverse=True))
)
# 關係 / 联系 keep their 係.
_KEEP_XI = re.compile("(?<=[關关聯联干維维])係")

# Southwestern Mandarin (四川话 / 重庆话) words with one plain reading, mapped everywhere.
_SOUTHWEST = {"莫得": "没有", "啥子": "什么", "咋个": "怎么", "晓得": "知道", "要得": "好的"}
_SOUTHWEST_RE = re.compile("|".join(_SOUTHWEST))

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


def is_cantonese(text: str) -> bool:
    return bool(_CANTONESE_MARKERS.search(text))


def normalise(text: str) -> str:
    """Return the canonical form risk rules read: simplified, lower case, half-width."""
    text = unicodedata.normalize("NFKC", text or "")
    if len(text) > MAX_CHARS:
        half = MAX_CHARS // 2
        text = text[:half] + "。" + text[-half:]
    if is_cantonese(text):
        text = _KEEP_XI.sub("\uffff", text)
        text = _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group(0)], text)
        text = text.replace("\uffff", "係")
    text = _t2s().convert(text).lower()
    text = _SOUTHWEST_RE.sub(lambda m: _SOUTHWEST[m.group(0)], text)
    for pattern, repl in _VARIANTS:
        text = pattern.sub(repl, text)
    text = text.replace("“", '"').replace("”", '"').replace("。", ".").replace("、", ",")
    return _repairer()(text.strip())
