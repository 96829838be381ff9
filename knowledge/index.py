"""Inverted indexes with BM25, postings ordered by impact so a query reads a bounded prefix."""

from __future__ import annotations

import heapq
import itertools
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
    return [f"{a}_{b}" for a, b in itertools.pairwise(syllables)]


class Bm25:
    """BM25 over a fixed list of documents (bags of terms)."""

    def __init__(self, docs: Sequence[Counter[str]], *, keep_postings: int = 0) -> None:
        self.docs = docs
        self.n = len(docs)
        lengths = [sum(d.values()) for d in docs]
        self.avgdl = (sum(lengths) / self.n) if self.n else 1.0
        self._norm = [K1 * (1 - B + B * length / (self.avgdl or 1.0)) for length in lengths]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.idf = {t: math.log(1 + (self.n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        # Candidate generation reads only the `keep_postings` highest-impact documents of a
        # term, so only those are kept: memory and query cost stay bounded as the KB grows.
        self.postings: dict[str, list[tuple[float, int]]] = {}
        if keep_postings:
            postings: dict[str, list[tuple[float, int]]] = {}
            for doc_id, d in enumerate(docs):
                for term, tf in d.items():
                    postings.setdefault(term, []).append((self._term(term, tf, doc_id), doc_id))
            self.postings = {
                t: heapq.nlargest(keep_postings, p, key=lambda x: x[0])
                for t, p in postings.items()
            }

    def _term(self, term: str, tf: int, doc_id: int) -> float:
        return self.idf[term] * tf * (K1 + 1) / (tf + self._norm[doc_id])

    def prepare(self, terms: Iterable[str]) -> list[tuple[str, float]]:
        """Return the query terms this index knows, with their IDF (once per query)."""
        idf = self.idf
        return [(t, idf[t]) for t in terms if t in idf]

    def score(self, prepared: Sequence[tuple[str, float]], doc_id: int) -> float:
        """Return the BM25 score of one document for prepared query terms."""
        doc = self.docs[doc_id]
        norm = self._norm[doc_id]
        total = 0.0
        for term, idf in prepared:
            tf = doc.get(term)
            if tf:
                total += idf * tf * (K1 + 1) / (tf + norm)
        return total

    def attainable(self, terms: Iterable[str]) -> float:
        """Return what a document holding each term once, at average length, would score."""
        return sum(self.idf.get(t, 0.0) for t in terms)

    def top(self, term: str, limit: int) -> list[tuple[float, int]]:
        """Return the `limit` highest-impact postings of a term."""
        return self.postings.get(term, [])[:limit]
