"""Knowledge-base views, candidate generation and the features the learned models read.

Every feature is independent of the knowledge base's size and wording: BM25 is divided by
what the query could attain, or by the best candidate's score; coverage is weighted by
general-language word weights, not by the KB's own statistics.
"""

from __future__ import annotations

import heapq
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from knowledge.index import Bm25, char_grams, pinyin_grams
from knowledge.intent import NAMES as INTENT_NAMES
from knowledge.intent import intents
from knowledge.kb import Audience, Entry
from knowledge.segment import Analysis, Segmenter, word_pinyin
from knowledge.thesaurus import NO_CODES, codes_of, synonym_codes

FIELDS = ("q", "a", "k", "m")  # all questions+keywords, answer, keywords+category, one question
KINDS = ("w", "c", "p")  # words, character n-grams, pinyin bigrams
GEN_FIELDS = (("q", "w"), ("q", "c"), ("q", "p"), ("a", "w"), ("k", "w"))
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
SYNONYM_MATCH = 0.7  # a thesaurus synonym counts for less than the word itself
POSTINGS_READ = 48  # per term and field: bounds the cost of a query, whatever the KB size
CANDIDATES = 24

CANDIDATE_FEATURES: tuple[str, ...] = (
    *(f"bm25_{f}{k}_norm" for f in FIELDS for k in KINDS),
    *(f"bm25_{f}{k}_rel" for f in FIELDS for k in KINDS),
    "cov_q",
    "cov_all",
    "syn_cov_q",
    "syn_cov_all",
    "syn_unmatched_max_abs",
    "disc_cov_q",
    "disc_cov_all",
    "key_cov",
    "unmatched_max_rel",
    "unmatched_max_abs",
    "unmatched_count",
    "best_q_cov",
    "best_q_rev",
    "best_q_both",
    "fuzz_ratio",
    "fuzz_partial",
    "fuzz_token_set",
    "kw_frac",
    "kw_any",
    "answer_sentence_cov",
    "tail_cov",
    "gen_rank_inv",
    "gen_score_rel",
    *(f"intent_{n}" for n in INTENT_NAMES),
    "intent_agree",
    "intent_extra",
    # the learned encoder (knowledge.encoder): similarity to the entry's closest question,
    # its lead over the other candidates, and its gap to the best of them
    "enc_max",
    "enc_lead",
    "enc_gap",
)

QUERY_FEATURES: tuple[str, ...] = ("q_known", "q_unknown_max")


@dataclass(frozen=True, slots=True)
class Doc:
    """One text of an entry, as bags of terms of each kind."""

    w: Counter[str]
    c: Counter[str]
    p: Counter[str]


def make_doc(analyses: Sequence[Analysis]) -> Doc:
    w: Counter[str] = Counter()
    c: Counter[str] = Counter()
    p: Counter[str] = Counter()
    for a in analyses:
        # Interned: the same few thousand terms recur across every entry of a large KB.
        w.update(map(sys.intern, a.search))
        c.update(map(sys.intern, char_grams(a.joined)))
        p.update(map(sys.intern, pinyin_grams(a.joined)))
    return Doc(w, c, p)


@dataclass(frozen=True, slots=True)
class Question:
    analysis: Analysis
    words: frozenset[str]
    weight: float
    text: str  # content words joined by spaces, for token-set similarity
    intents: frozenset[str]


@dataclass(frozen=True, slots=True)
class EntryDoc:
    entry: Entry
    q: Doc
    a: Doc
    k: Doc
    questions: tuple[Question, ...]
    words_q: frozenset[str]
    words_all: frozenset[str]
    pinyin_q: frozenset[str]
    pinyin_all: frozenset[str]
    chars_q: frozenset[str]
    chars_all: frozenset[str]
    codes_q: frozenset[str]  # thesaurus synonym groups of the question words
    codes_all: frozenset[str]
    keywords: tuple[str, ...]
    intents: frozenset[str]  # question forms any of its questions shows
    sentences: tuple[frozenset[str], ...]  # the answer's sentences, as word sets


def analyze_entry(entry: Entry, seg: Segmenter) -> EntryDoc:
    """Analyse an entry's texts once, for every view that holds it."""
    qs = [seg.analyze(q) for q in entry.questions]
    kws = [seg.analyze(k) for k in entry.keywords]
    cat = [seg.analyze(entry.category)] if entry.category else []
    ans = [seg.analyze(entry.answer)]
    sentences = tuple(
        frozenset(seg.analyze(part).search)
        for part in _SENTENCE_END.split(entry.answer)
        if part.strip()
    )
    words_q = frozenset(w for a in (*qs, *kws) for w in a.search)
    words_all = words_q | frozenset(w for a in (*ans, *cat) for w in a.search)
    keywords = tuple(dict.fromkeys(w for a in kws for w in a.content))
    questions = tuple(
        Question(
            a, frozenset(a.search), sum(a.weights) or 1.0, " ".join(a.content), intents(a.text)
        )
        for a in qs
        if a.content
    )
    return EntryDoc(
        entry=entry,
        q=make_doc([*qs, *kws]),
        a=make_doc(ans),
        k=make_doc([*kws, *cat]),
        questions=questions,
        words_q=words_q,
        words_all=words_all,
        pinyin_q=frozenset(word_pinyin(w) for w in words_q),
        pinyin_all=frozenset(word_pinyin(w) for w in words_all),
        chars_q=frozenset("".join(a.joined for a in (*qs, *kws))),
        chars_all=frozenset("".join(a.joined for a in (*qs, *kws, *ans, *cat))),
        codes_q=codes_of(words_q),
        codes_all=codes_of(words_all),
        keywords=keywords,
        intents=frozenset(i for q in questions for i in q.intents),
        sentences=sentences,
    )


class View:
    """The entries one audience may see, indexed for retrieval."""

    def __init__(self, audience: Audience, docs: Sequence[EntryDoc]) -> None:
        self.audience = audience
        self.docs = [d for d in docs if audience.sees(d.entry.audience)]
        self.index: dict[tuple[str, str], Bm25] = {}
        for field in ("q", "a", "k"):
            for kind in KINDS:
                bags = [getattr(getattr(d, field), kind) for d in self.docs]
                keep = POSTINGS_READ if (field, kind) in GEN_FIELDS else 0
                self.index[(field, kind)] = Bm25(bags, keep_postings=keep)
        self.question_owner: list[int] = []
        question_docs: list[Doc] = []
        for i, d in enumerate(self.docs):
            for q in d.questions:
                question_docs.append(make_doc([q.analysis]))
                self.question_owner.append(i)
        self.questions_of: list[list[int]] = [[] for _ in self.docs]
        for qi, owner in enumerate(self.question_owner):
            self.questions_of[owner].append(qi)
        for kind in KINDS:
            self.index[("m", kind)] = Bm25([getattr(d, kind) for d in question_docs])
        self.vocabulary = frozenset(w for d in self.docs for w in d.words_all)
        self.vocabulary_pinyin = frozenset(p for d in self.docs for p in d.pinyin_all)
        self.vectors: list[np.ndarray] | None = None

    def use_encoder(self, vectors_of: dict[str, np.ndarray] | None) -> None:
        """Take each entry's question vectors (by entry id), or none to drop the encoder."""
        self.vectors = None if vectors_of is None else [vectors_of[d.entry.id] for d in self.docs]


@dataclass(frozen=True, slots=True)
class Query:
    analysis: Analysis
    terms: dict[str, frozenset[str]]
    tail: Analysis  # the last clause, where a long message usually asks its question

    @classmethod
    def of(cls, analysis: Analysis, tail: Analysis | None = None) -> Query:
        return cls(
            analysis,
            {
                "w": frozenset(analysis.search),
                "c": frozenset(char_grams(analysis.joined)),
                "p": frozenset(pinyin_grams(analysis.joined)),
            },
            tail if tail is not None and tail.content else analysis,
        )


def generate(view: View, query: Query, limit: int = CANDIDATES) -> list[tuple[int, float]]:
    """Return up to `limit` (doc index, generation score), best first."""
    acc: dict[int, float] = {}
    for field, kind in GEN_FIELDS:
        index = view.index[(field, kind)]
        terms = query.terms[kind]
        best = index.attainable(terms)
        if best <= 0:
            continue
        for term in terms:
            for impact, doc in index.top(term, POSTINGS_READ):
                acc[doc] = acc.get(doc, 0.0) + impact / best
    return heapq.nlargest(limit, acc.items(), key=lambda kv: kv[1])


def _match(
    word: str, pinyin: str, words: frozenset[str], pinyins: frozenset[str], chars: frozenset[str]
) -> float:
    if word in words:
        return 1.0
    if len(word) > 1:
        if pinyin in pinyins:
            return 0.8
        return 0.5 * sum(ch in chars for ch in word) / len(word)
    return 0.0


def query_features(view: View, query: Query) -> list[float]:
    """Return features of the query alone: how much of it the knowledge base knows at all."""
    a = query.analysis
    total = sum(a.weights)
    known = 0.0
    unknown_max = 0.0
    for word, wt in zip(a.content, a.weights, strict=True):
        if word in view.vocabulary or (
            len(word) > 1 and word_pinyin(word) in view.vocabulary_pinyin
        ):
            known += wt
        else:
            unknown_max = max(unknown_max, wt)
    return [known / total if total else 0.0, unknown_max / 10.0]


@dataclass(frozen=True, slots=True)
class _Asked:
    """What every candidate is compared against: the query's words, once per query."""

    analysis: Analysis
    content: tuple[tuple[str, float, str], ...]  # (word, weight, pinyin or the word)
    codes: tuple[frozenset[str], ...]  # each content word's thesaurus synonym groups
    total_w: float
    max_w: float
    words: frozenset[str]
    text: str  # content words joined by spaces, for token-set similarity
    intents: frozenset[str]
    key_words: frozenset[int]  # positions of the two heaviest content words

    @classmethod
    def of(cls, query: Query) -> _Asked:
        a = query.analysis
        content = tuple(
            (w, wt, word_pinyin(w) if len(w) > 1 else w)
            for w, wt in zip(a.content, a.weights, strict=True)
        )
        table = synonym_codes()
        return cls(
            a,
            content,
            tuple(table.get(w, NO_CODES) for w, _, _ in content),
            sum(a.weights) or 1.0,
            max(a.weights, default=0.0) or 1.0,
            frozenset(a.search),
            " ".join(a.content),
            intents(a.text),
            frozenset(sorted(range(len(content)), key=lambda k: -content[k][1])[:2]),
        )


_WordMatch = tuple[float, float, float, float]  # in the questions, anywhere, with synonyms


def _bm25_rows(
    view: View, query: Query, candidates: Sequence[tuple[int, float]]
) -> tuple[list[list[float]], list[float]]:
    """Return each candidate's raw BM25 per field and kind, and what the query can attain."""
    prepared = [
        (
            field == "m",
            view.index[(field, kind)],
            view.index[(field, kind)].prepare(query.terms[kind]),
        )
        for field in FIELDS
        for kind in KINDS
    ]
    attainable = [sum(idf for _, idf in terms) or 1.0 for _, _, terms in prepared]
    raw: list[list[float]] = []
    for doc_idx, _ in candidates:
        row = []
        for per_question, index, terms in prepared:
            if not terms:
                row.append(0.0)
            elif per_question:
                row.append(
                    max((index.score(terms, qi) for qi in view.questions_of[doc_idx]), default=0.0)
                )
            else:
                row.append(index.score(terms, doc_idx))
        raw.append(row)
    return raw, attainable


def _word_matches(asked: _Asked, d: EntryDoc) -> list[_WordMatch]:
    """Return how well an entry covers each query word, in its questions and anywhere."""
    per_word = []
    for (word, _, pinyin), codes in zip(asked.content, asked.codes, strict=True):
        mq = _match(word, pinyin, d.words_q, d.pinyin_q, d.chars_q)
        ma = (
            mq
            if mq >= 1.0
            else max(mq, _match(word, pinyin, d.words_all, d.pinyin_all, d.chars_all))
        )
        sq = max(mq, SYNONYM_MATCH) if codes and codes & d.codes_q else mq
        sa = max(ma, SYNONYM_MATCH) if codes and codes & d.codes_all else ma
        per_word.append((mq, ma, sq, sa))
    return per_word


def _discrimination(asked: _Asked, matches: Sequence[Sequence[_WordMatch]]) -> list[float]:
    """Weigh each query word by how few candidates hold it: a shared word tells none apart."""
    n_cand = len(matches)
    return [
        wt * math.log((n_cand + 1) / (1 + sum(1 for m in matches if m[k][1] >= 0.8)))
        for k, (_, wt, _) in enumerate(asked.content)
    ]


def _coverage(asked: _Asked, matches: Sequence[_WordMatch], disc: Sequence[float]) -> list[float]:
    """Return the coverage features, cov_q to unmatched_count, of one candidate."""
    cov_q = cov_all = disc_q = disc_all = key_cov = syn_q = syn_all = 0.0
    unmatched_max = syn_unmatched_max = 0.0
    unmatched_count = 0
    key_words = asked.key_words
    for k, (_, wt, _) in enumerate(asked.content):
        mq, ma, sq, sa = matches[k]
        syn_q += wt * sq
        syn_all += wt * sa
        syn_unmatched_max = max(syn_unmatched_max, wt * (1 - sa))
        disc_q += disc[k] * mq
        disc_all += disc[k] * ma
        if k in key_words:
            key_cov += ma / len(key_words)
        cov_q += wt * mq
        cov_all += wt * ma
        if mq < 0.8:
            unmatched_max = max(unmatched_max, wt * (1 - mq))
            if wt >= 1.0:
                unmatched_count += 1
    total_w, disc_total = asked.total_w, sum(disc) or 1.0
    return [
        cov_q / total_w,
        cov_all / total_w,
        syn_q / total_w,
        syn_all / total_w,
        syn_unmatched_max / 10.0,
        disc_q / disc_total,
        disc_all / disc_total,
        key_cov,
        unmatched_max / asked.max_w,
        unmatched_max / 10.0,
        min(unmatched_count, 5) / 5.0,
    ]


def _question_similarity(asked: _Asked, d: EntryDoc) -> tuple[list[float], float]:
    """Return best_q_cov to fuzz_token_set against the entry's closest questions, and how
    far the question forms agree (intent_agree)."""
    a = asked.analysis
    best_cov = best_rev = best_both = 0.0
    agree = 0.0
    f_ratio = f_partial = f_set = 0.0
    for q in d.questions:
        qa = q.analysis
        cov = (
            sum(wt for w, wt in zip(a.content, a.weights, strict=True) if w in q.words)
            / asked.total_w
        )
        rev = (
            sum(wt for w, wt in zip(qa.content, qa.weights, strict=True) if w in asked.words)
            / q.weight
        )
        best_cov = max(best_cov, cov)
        best_rev = max(best_rev, rev)
        best_both = max(best_both, 2 * cov * rev / (cov + rev) if cov + rev else 0.0)
        if asked.intents or q.intents:
            agree = max(agree, len(asked.intents & q.intents) / len(asked.intents | q.intents))
        f_ratio = max(f_ratio, fuzz.ratio(a.joined, qa.joined))
        f_partial = max(f_partial, fuzz.partial_ratio(a.joined, qa.joined))
        f_set = max(f_set, fuzz.token_set_ratio(asked.text, q.text))
    features = [best_cov, best_rev, best_both, f_ratio / 100.0, f_partial / 100.0, f_set / 100.0]
    return features, agree


def _answer_overlap(asked: _Asked, tail: Analysis, d: EntryDoc) -> list[float]:
    """Return kw_frac to tail_cov: the entry's keywords, answer sentences and the tail."""
    a = asked.analysis
    sent_cov = max(
        (
            sum(wt for w, wt, _ in asked.content if w in sentence) / asked.total_w
            for sentence in d.sentences
        ),
        default=0.0,
    )
    tail_total = sum(tail.weights) or 1.0
    tail_cov = (
        sum(wt for w, wt in zip(tail.content, tail.weights, strict=True) if w in d.words_all)
        / tail_total
    )
    kw_hits = sum(1 for k in d.keywords if k in asked.words or (len(k) > 1 and k in a.joined))
    return [
        kw_hits / len(d.keywords) if d.keywords else 0.0,
        1.0 if kw_hits else 0.0,
        sent_cov,
        tail_cov,
    ]


def encoder_columns(
    view: View, candidates: Sequence[tuple[int, float]], qvec: np.ndarray | None
) -> list[list[float]]:
    """Return enc_max, enc_lead and enc_gap of each candidate (zeros without an encoder)."""
    if view.vectors is None or qvec is None or not candidates:
        return [[0.0, 0.0, 0.0] for _ in candidates]
    sims = []
    for doc_idx, _ in candidates:
        vecs = view.vectors[doc_idx]
        sims.append(max(0.0, float((vecs @ qvec).max())) if len(vecs) else 0.0)
    # The best of the others is the runner-up for the top candidate, the top for the rest.
    top = max(range(len(sims)), key=sims.__getitem__)
    best = sims[top]
    runner_up = max((x for j, x in enumerate(sims) if j != top), default=0.0)
    out = []
    for i, sim in enumerate(sims):
        others = runner_up if i == top else best
        out.append([sim, max(0.0, sim - others), sim - best])
    return out


def candidate_features(
    view: View,
    query: Query,
    candidates: Sequence[tuple[int, float]],
    qvec: np.ndarray | None = None,
) -> list[list[float]]:
    """Return one feature row per candidate, in CANDIDATE_FEATURES order; `qvec` is the
    query's encoder vector, when the engine has an encoder."""
    asked = _Asked.of(query)
    raw_bm, attainable = _bm25_rows(view, query, candidates)
    n_bm = len(FIELDS) * len(KINDS)
    best_bm = [max((r[j] for r in raw_bm), default=0.0) or 1.0 for j in range(n_bm)]
    best_gen = candidates[0][1] if candidates else 1.0
    matches = [_word_matches(asked, view.docs[doc_idx]) for doc_idx, _ in candidates]
    disc = _discrimination(asked, matches)
    encoded = encoder_columns(view, candidates, qvec)
    rows: list[list[float]] = []
    for rank, ((doc_idx, gen_score), raw) in enumerate(zip(candidates, raw_bm, strict=True)):
        d = view.docs[doc_idx]
        similarity, agree = _question_similarity(asked, d)
        rows.append(
            [
                *(raw[j] / attainable[j] for j in range(n_bm)),
                *(raw[j] / best_bm[j] for j in range(n_bm)),
                *_coverage(asked, matches[rank], disc),
                *similarity,
                *_answer_overlap(asked, query.tail, d),
                1.0 / (rank + 1),
                gen_score / best_gen if best_gen else 0.0,
                *(1.0 if n in asked.intents and n in d.intents else 0.0 for n in INTENT_NAMES),
                agree,
                len(asked.intents - d.intents) / 3.0,
                *encoded[rank],
            ]
        )
    return rows
