"""The answering engine: answer when sure, offer choices when close, abstain otherwise."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from knowledge.encoder import Encoder, shipped_encoder
from knowledge.features import (
    Query,
    View,
    analyze_entry,
    candidate_features,
    encoder_columns,
    generate,
    query_features,
)
from knowledge.kb import Audience, KnowledgeBase
from knowledge.lexicon import Lexicon, builtin_lexicon
from knowledge.model import MODEL_PATH, Model
from knowledge.segment import Analysis, Segmenter
from knowledge.smalltalk import smalltalk_intent

log = logging.getLogger(__name__)

MAX_SUGGESTIONS = 3
# A runner-up is offered in the "您是想问" band only when it is at least this close to the top.
RUNNER_UP_RATIO = 0.25


class Kind:
    ANSWER = "answer"
    SUGGEST = "suggest"
    ABSTAIN = "abstain"
    SMALLTALK = "smalltalk"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Scored:
    """Everything the learned models read for one query; the unit of training and answering."""

    analysis: Analysis
    entry_ids: tuple[str, ...]  # candidates, in generation order
    rows: tuple[tuple[float, ...], ...]
    query_row: tuple[float, ...]
    smalltalk: str | None  # the small-talk reply, when the message is only that


@dataclass(frozen=True, slots=True)
class Result:
    kind: str
    entry_id: str | None
    score: float
    answer: str | None
    suggestions: tuple[str, ...] = ()
    ranked: tuple[tuple[str, float], ...] = ()  # (entry id, ranker probability), best first

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.entry_id,
            "score": round(self.score, 4),
            "answer": self.answer,
            "suggestions": list(self.suggestions),
        }


def choices(order: list[int], probs: list[float]) -> list[int]:
    """The candidates a 您是想问 reply offers: the best three, each close enough to the top."""
    p1 = probs[order[0]]
    return [i for i in order[:MAX_SUGGESTIONS] if probs[i] >= p1 * RUNNER_UP_RATIO]


def calibration_path(kb_path: Path) -> Path:
    """Return where an operator's calibration for this KB file is stored."""
    return kb_path.with_name(kb_path.stem + ".calibration.json")


class Engine:
    """Retrieval over one knowledge base, for both audiences."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        lexicon: Lexicon | None = None,
        model: Model | None = None,
        encoder: Encoder | Literal["shipped"] | None = "shipped",
        use_calibration: bool = True,
    ) -> None:
        self.kb = kb
        self.lexicon = lexicon or builtin_lexicon()
        self.segmenter = Segmenter(self.lexicon, kb_words=kb.words, kb_synonyms=kb.synonyms)
        docs = [analyze_entry(e, self.segmenter) for e in kb.entries]
        self.segmenter.learn_vocabulary(
            [
                *(w for d in docs for w in d.words_all),
                *self.segmenter.canonical,
                *(w for w, _ in self.lexicon.words),
            ]
        )
        self.docs = docs  # every entry's analysis, for any audience's view
        self.views = {
            Audience.CONSUMER: View(Audience.CONSUMER, docs),
            Audience.MERCHANT: View(Audience.MERCHANT, docs),
        }
        self._entries = {e.id: e for e in kb.entries}
        self.encoder: Encoder | None = None
        self.use_encoder(shipped_encoder() if encoder == "shipped" else encoder)
        if model is None:
            if MODEL_PATH.exists():
                model = Model.load(MODEL_PATH)
            else:
                log.warning("no trained model at %s; using untrained weights", MODEL_PATH)
                model = Model.untrained()
        self.model = model
        if use_calibration and kb.path is not None:
            self.model = _apply_calibration(self.model, calibration_path(kb.path))

    def use_encoder(self, encoder: Encoder | None) -> None:
        """Answer with this encoder's similarities (None: without; their features read 0)."""
        self.encoder = encoder
        vectors = None
        if encoder is not None:
            vectors = {
                d.entry.id: encoder.encode_many([q.analysis for q in d.questions])
                for d in self.docs
            }
        for view in self.views.values():
            view.use_encoder(vectors)
        self._vectors = vectors

    def reencode(self, scored: Scored, audience: Audience) -> Scored:
        """The same candidates with the encoder's columns computed by the current encoder."""
        if not scored.rows:
            return scored
        view = self._view(audience)
        position = {d.entry.id: i for i, d in enumerate(view.docs)}
        candidates = [(position[e], 0.0) for e in scored.entry_ids]
        qvec = self.encoder.encode(scored.analysis) if self.encoder is not None else None
        columns = encoder_columns(view, candidates, qvec)
        width = len(columns[0])
        rows = tuple(
            (*row[:-width], *cols) for row, cols in zip(scored.rows, columns, strict=True)
        )
        return Scored(scored.analysis, scored.entry_ids, rows, scored.query_row, scored.smalltalk)

    def _view(self, audience: Audience) -> View:
        if audience not in self.views:  # an operator asking as "all" sees every entry
            view = View(audience, self.docs)
            view.use_encoder(self._vectors)
            self.views[audience] = view
        return self.views[audience]

    def score(self, text: str, audience: Audience) -> Scored:
        """Compute candidates and features for a query (no learned weights involved)."""
        analysis = self.segmenter.analyze(text, repair=True)
        intent = smalltalk_intent(analysis.text, self.lexicon.smalltalk)
        if intent is not None:
            return Scored(analysis, (), (), (), intent.reply)
        view = self._view(audience)
        if not analysis.content:
            return Scored(analysis, (), (), (), None)
        clauses = analysis.text.split(" ")
        tail = self.segmenter.analyze(clauses[-1], repair=True) if len(clauses) > 1 else None
        query = Query.of(analysis, tail)
        candidates = generate(view, query)
        qvec = self.encoder.encode(analysis) if self.encoder is not None else None
        rows = candidate_features(view, query, candidates, qvec)
        return Scored(
            analysis,
            tuple(view.docs[i].entry.id for i, _ in candidates),
            tuple(tuple(r) for r in rows),
            tuple(query_features(view, query)),
            None,
        )

    def decide(self, scored: Scored, model: Model | None = None) -> Result:
        """Turn scores into an answer, choices or an abstention."""
        model = model or self.model
        if scored.smalltalk is not None:
            return Result(Kind.SMALLTALK, None, 1.0, scored.smalltalk)
        if not scored.rows:
            kind = Kind.EMPTY if not scored.analysis.content else Kind.ABSTAIN
            return Result(kind, None, 0.0, None)
        gate = model.gate_row(scored.rows, scored.query_row)
        probs, order = gate.probs, gate.order
        ranked = tuple((scored.entry_ids[i], probs[i]) for i in order)
        top = order[0]
        confidence = model.confidence(gate.features)
        if confidence >= model.answer_threshold:
            entry = self._entries[scored.entry_ids[top]]
            return Result(Kind.ANSWER, entry.id, confidence, entry.answer, (), ranked)
        if confidence >= model.suggest_threshold:
            picks = choices(order, probs)
            return Result(
                Kind.SUGGEST,
                None,
                confidence,
                None,
                tuple(scored.entry_ids[i] for i in picks),
                ranked,
            )
        return Result(Kind.ABSTAIN, None, confidence, None, (), ranked)

    def answer(self, text: str, audience: Audience = Audience.CONSUMER) -> Result:
        """Answer one query for an asker of this audience."""
        return self.decide(self.score(text, audience))

    def entry_question(self, entry_id: str) -> str:
        """Return the question that names an entry in a '您是想问' choice."""
        return self._entries[entry_id].questions[0]


def _apply_calibration(model: Model, path: Path) -> Model:
    if not path.exists():
        return model
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return model.with_thresholds(
            float(raw["answer_threshold"]),
            float(raw["suggest_threshold"]),
            calibration=str(path),
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring calibration %s: %s", path, exc)
        return model
