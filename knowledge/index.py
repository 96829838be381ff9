"""Inverted indexes with BM25, postings ordered by impact so a query reads a bounded prefix."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from knowledge.segment import char_pinyin

K1 = 1.2
B = 0.75


def char_grams(joined: str) -> list[str]:
    """Return the character 2- and 3-grams of a text (the text itself when shorter)."""
    if len(joined) < 2:
        return [joined] if joined else []
    grams = [joined[i : i + 2] for i in range(len(joined) - 1)]
    grams.extend(joined[i : i + 3] for i in range(len(joined) - 2))
    return grams


def pinyin_grams(joined: str) -> list[str]:
    """Return toneless-pinyin syllable bigrams, which match homophone typos."""
    syllables = [char_pinyin(ch) for ch in joined if "\u3400" <= ch <= "\u9fff"]
    if len(syllables) < 2:
        return syllables
    return [f"{a}_{b}" for a, b in zip(syllables, syllables[1:], strict=False)]


class Bm25:
    """BM25 over a fixed list of documents (bags of terms)."""

    def __init__(self, docs: Sequence[Counter[str]]) -> None:
        self.docs = docs
        self.n = len(docs)
        lengths = [sum(d.values()) for d in docs]
        self.avgdl = (sum(lengths) / self.n) if self.n else 1.0
        self._norm = [K1 * (1 - B + B * length / (self.avgdl or 1.0)) for length in lengths]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.idf = {t: math.log(1 + (self.n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        postings: dict[str, list[tuple[float, int]]] = {}
        for doc_id, d in enumerate(docs):
            for term, tf in d.items():
                postings.setdefault(term, []).append((self._term(term, tf, doc_id), doc_id))
        # Highest impact first: candidate generation reads only a prefix of each list.
        self.postings = {t: sorted(p, key=lambda x: -x[0]) for t, p in postings.items()}

    def _term(self, term: str, tf: int, doc_id: int) -> float:
        return self.idf[term] * tf * (K1 + 1) / (tf + self._norm[doc_id])

    def score(self, terms: Iterable[str], doc_id: int) -> float:
        """Return the BM25 score of one document for a set of query terms."""
        doc = self.docs[doc_id]
        total = 0.0
        for term in terms:
            tf = doc.get(term)
            if tf:
                total += self._term(term, tf, doc_id)
        return total

    def attainable(self, terms: Iterable[str]) -> float:
        """Return what a document holding each term once, at average length, would score."""
        return sum(self.idf.get(t, 0.0) for t in terms)

    def top(self, term: str, limit: int) -> list[tuple[float, int]]:
        """Return the `limit` highest-impact postings of a term."""
        return self.postings.get(term, [])[:limit]
