"""Segmentation: jieba with the domain lexicon, synonyms, word weights and typo repair."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jieba
from pypinyin import Style, lazy_pinyin

from knowledge.lexicon import Lexicon
from knowledge.normalize import Normalizer

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"^[a-z]+$")
_DIGITS = re.compile(r"^[0-9.+-]+$")

# General-language weights are -log(frequency) in jieba's dictionary, shifted so that
# the commonest words weigh about nothing and a rare content word about ten.
_WEIGHT_SHIFT = 7.0
_OOV_WEIGHT = 7.0  # a word jieba does not know: a name, a term, or a typo
_LATIN_WEIGHT = 5.0
_NUMBER_WEIGHT = 3.0
_MIN_WEIGHT = 0.2
# Negations and sentence particles are what the user meant to type, not misspellings.
_NOT_TYPOS = frozenset("不没别未无非吗呢吧啊呀么嘛了的着过得地")
_MAX_WEIGHT = 8.0  # beyond this, rarity in general text says little more about the topic

# Southern-accent confusions users make when typing by sound (zh/z, n/l, in/ing...).
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("r", "l"), ("f", "h"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("iang", "ian"), ("uang", "uan"))


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Return the toneless pinyin of one character (the character itself if none)."""
    if not _CJK.match(ch):
        return ch
    return lazy_pinyin(ch, style=Style.NORMAL, errors="default")[0]


@lru_cache(maxsize=65536)
def fuzzy_syllable(syllable: str) -> str:
    """Map a toneless syllable to its accent-tolerant form."""
    for full, short in _FUZZY_INITIALS:
        if syllable.startswith(full):
            syllable = short + syllable[len(full) :]
            break
    for full, short in _FUZZY_FINALS:
        if syllable.endswith(full):
            syllable = syllable[: -len(full)] + short
            break
    return syllable


@lru_cache(maxsize=65536)
def word_pinyin(word: str) -> str:
    """Return the toneless pinyin of a word, syllables joined without spaces."""
    return "".join(char_pinyin(ch) for ch in word)


def fuzzy_pinyin(word: str) -> str:
    """Return the accent-tolerant pinyin of a word, syllables joined by '-'."""
    return "-".join(fuzzy_syllable(char_pinyin(ch)) for ch in word)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text after normalisation and segmentation; tokens are canonical synonyms."""

    text: str
    content: tuple[str, ...]  # content words in order, stop words removed
    weights: tuple[float, ...]  # general-language weight of each content word
    search: tuple[str, ...]  # content words plus their dictionary sub-words, for BM25
    repaired: tuple[tuple[str, str], ...] = ()  # (as typed, repaired to)
    joined: str = field(init=False)  # content words run together, for character matching

    def __post_init__(self) -> None:
        object.__setattr__(self, "joined", "".join(self.content))


class Segmenter:
    """Owns a jieba tokenizer loaded with the lexicon and a knowledge base's own words."""

    def __init__(
        self,
        lexicon: Lexicon,
        *,
        kb_words: Iterable[str] = (),
        kb_synonyms: Sequence[Sequence[str]] = (),
    ) -> None:
        self.normalize = Normalizer(lexicon.colloquial)
        self.stopwords = lexicon.stopwords
        self._english = dict(lexicon.english)
        self._tok = jieba.Tokenizer()
        self._tok.initialize()
        self._total = float(self._tok.total)
        kb_words = [self.normalize(w).replace(" ", "") for w in kb_words]
        groups = [
            [self.normalize(w).replace(" ", "") for w in g]
            for g in (*kb_synonyms, *lexicon.synonyms)
        ]
        self.canonical = _canonical_map(groups)
        added: dict[str, int | None] = {}
        for word, freq in lexicon.words:
            added[self.normalize(word).replace(" ", "")] = freq
        for word in (*kb_words, *(w for g in groups for w in g)):
            added.setdefault(word, None)
        self._base_freq: dict[str, int] = {}
        for word, freq in added.items():
            if not word or word in self.stopwords:
                continue
            base = self._tok.FREQ.get(word, 0)
            if base:
                self._base_freq[word] = base
            if _CJK.search(word):
                self._tok.add_word(word, freq)
        self._added = frozenset(added)
        self._group_weight = _group_weights(self.canonical, self.general_weight, self._known)
        self._repair_exact: dict[str, str] = {}
        self._repair_fuzzy: dict[str, str] = {}
        self._vocab: set[str] = set()

    # --------------------------------------------------------------- weights
    def _known(self, word: str) -> bool:
        return word in self._base_freq or (
            word not in self._added and bool(self._tok.FREQ.get(word))
        )

    def general_weight(self, word: str) -> float:
        """Return how much a word says, from its frequency in general Chinese."""
        if not word or word in self.stopwords:
            return 0.0
        if _DIGITS.match(word):
            return _NUMBER_WEIGHT
        freq = self._base_freq.get(word) or (
            self._tok.FREQ.get(word, 0) if word not in self._added else 0
        )
        if freq:
            return min(_MAX_WEIGHT, max(_MIN_WEIGHT, math.log(self._total / freq) - _WEIGHT_SHIFT))
        if _LATIN.match(word):
            return _LATIN_WEIGHT
        if len(word) == 1:
            return 2.0
        return _OOV_WEIGHT

    def weight(self, token: str) -> float:
        """Return the weight of a canonical token."""
        cached = self._group_weight.get(token)
        return cached if cached is not None else self.general_weight(token)

    # --------------------------------------------------------------- vocabulary
    def learn_vocabulary(self, words: Iterable[str]) -> None:
        """Register the KB's own words, the targets of typo and pinyin repair."""
        for word in words:
            if len(word) < 2 or word in self.stopwords or not _CJK.search(word):
                continue
            if _DIGITS.match(word):
                continue
            self._vocab.add(word)
            self._repair_exact.setdefault(word_pinyin(word), word)
            self._repair_fuzzy.setdefault(fuzzy_pinyin(word), word)

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self._vocab)

    # --------------------------------------------------------------- analysis
    def raw_tokens(self, text: str) -> list[str]:
        """Cut normalised text into jieba tokens (spaces dropped)."""
        # No HMM: it glues unknown characters into pseudo-words (咋领, 号领) that match nothing;
        # single characters still match through character n-grams and repair.
        tokens = [t for t in self._tok.cut(text, HMM=False) if t.strip()]
        return [self._english.get(t, t) if _LATIN.match(t) else t for t in tokens]

    def analyze(self, text: str, *, repair: bool = False) -> Analysis:
        """Normalise, segment, repair typos (queries only), map synonyms, drop stop words."""
        norm = self.normalize(text)
        tokens = self.raw_tokens(norm)
        repaired: list[tuple[str, str]] = []
        if repair and self._vocab:
            tokens, repaired = self._repair(tokens)
        content: list[str] = []
        search: list[str] = []
        for token in tokens:
            if token in self.stopwords:
                continue
            canon = self.canonical.get(token, token)
            content.append(canon)
            search.append(canon)
            if canon == token and len(token) > 2 and _CJK.match(token):
                search.extend(self._subwords(token))
        weights = tuple(self.weight(t) for t in content)
        return Analysis(norm, tuple(content), weights, tuple(search), tuple(repaired))

    def _subwords(self, token: str) -> list[str]:
        out = []
        for n in (2, 3):
            for i in range(len(token) - n + 1):
                gram = token[i : i + n]
                if gram != token and (self._tok.FREQ.get(gram) or gram in self._vocab):
                    out.append(self.canonical.get(gram, gram))
        return out

    def _is_known(self, token: str) -> bool:
        return token in self._vocab or token in self.canonical or token in self.stopwords

    def _repair(self, tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Replace runs jieba could not make into known words with KB words that sound alike.

        Only runs of single characters, unknown words or Latin letters are touched, so a
        correct word is never rewritten into a different one.
        """
        out: list[str] = []
        repaired: list[tuple[str, str]] = []
        i = 0
        while i < len(tokens):
            j = i
            while j < len(tokens) and self._repairable(tokens[j]):
                j += 1
            if j == i:
                out.append(tokens[i])
                i += 1
                continue
            fixed, fixes = self._repair_run(tokens[i:j])
            out.extend(fixed)
            repaired.extend(fixes)
            i = j
        return out, repaired

    def _repairable(self, token: str) -> bool:
        if len(token) == 1 and _CJK.match(token):
            return True  # a typo often sits next to a particle (能孝 is 能 + 孝)
        if self._is_known(token):
            return False
        if _LATIN.match(token):
            return True
        if not _CJK.match(token):
            return False
        return len(token) == 1 or (token not in self._base_freq and not self._tok.FREQ.get(token))

    def _repair_run(self, run: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        out: list[str] = []
        fixes: list[tuple[str, str]] = []
        k = 0
        while k < len(run):
            match = None
            for span in range(min(4, len(run) - k), 0, -1):
                piece = "".join(run[k : k + span])
                target = self._repair_target(piece)
                if target is not None:
                    match = (span, piece, target)
                    break
            if match is None:
                out.append(run[k])
                k += 1
                continue
            span, piece, target = match
            out.append(target)
            fixes.append((piece, target))
            k += span
        return out, fixes

    def _repair_target(self, piece: str) -> str | None:
        if _LATIN.match(piece):
            if len(piece) < 4:
                return None
            return self._repair_exact.get(piece)
        if len(piece) < 2 or not all(_CJK.match(c) for c in piece):
            return None
        if any(c in _NOT_TYPOS for c in piece):
            return None  # 发不 is "cannot send", 券吗 a question: neither is a typo
        target = self._repair_exact.get(word_pinyin(piece))
        if target is None and len(piece) >= 3:
            # Two syllables that merely sound alike are too often two other words (说有/所有).
            target = self._repair_fuzzy.get(fuzzy_pinyin(piece))
        # A homophone typo keeps at least one character of the word it stands for.
        if target is not None and target != piece and set(target) & set(piece):
            return target
        return None


def _canonical_map(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Merge overlapping synonym groups; the canonical form is the first word of the first
    group (the KB's groups come first, so an operator's choice wins)."""
    parent: dict[str, str] = {}

    def find(w: str) -> str:
        while parent[w] != w:
            parent[w] = parent[parent[w]]
            w = parent[w]
        return w

    order: dict[str, int] = {}
    for gi, group in enumerate(groups):
        words = [w for w in group if w]
        if len(words) < 2:
            continue
        for w in words:
            if w not in parent:
                parent[w] = w
                order[w] = gi * 1000 + len(order)
        head = words[0]
        for w in words[1:]:
            a, b = find(head), find(w)
            if a != b:
                # Keep the root that was seen first, so the first group names the set.
                if order[a] <= order[b]:
                    parent[b] = a
                else:
                    parent[a] = b
    return {w: find(w) for w in parent}


def _group_weights(
    canonical: dict[str, str], weight: Callable[[str], float], known: Callable[[str], bool]
) -> dict[str, float]:
    """Weigh a synonym set by its canonical word when general Chinese knows it, else by the
    median of the members it knows (a set of rare spellings is not a rare concept)."""
    members: dict[str, list[float]] = {}
    for word, canon in canonical.items():
        if known(word):
            members.setdefault(canon, []).append(weight(word))
    out = {}
    for canon in set(canonical.values()):
        if known(canon):
            out[canon] = weight(canon)
        elif canon in members:
            ws = sorted(members[canon])
            out[canon] = ws[len(ws) // 2]
    return out
