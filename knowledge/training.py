"""Fitting the ranker and the answer gate, calibrating thresholds, and cross-validation.

Every number the gate learns from comes out of folds the ranker did not see, and folds
are split by expected entry, so a paraphrase of a held-out query never leaks into training.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.engine import Engine, Result, Scored, choices
from knowledge.evaluate import LabelledQuery, metrics
from knowledge.features import CANDIDATE_FEATURES
from knowledge.model import (
    DEFAULT_ANSWER_THRESHOLD,
    GATE_FEATURES,
    GATE_L2,
    Model,
    fit_logistic,
    fit_ranker,
)

# The most wrong answers the calibration accepts, as a share of all queries.
MAX_FALSE_ANSWER_RATE = 0.07
PLATEAU = 0.01  # thresholds within this much of the best accuracy count as equally good


@dataclass(frozen=True, slots=True)
class Sample:
    query: LabelledQuery
    scored: Scored
    latency_ms: float

    @property
    def target(self) -> int:
        """Index of the right candidate, -1 when it is absent or the query has none."""
        if self.query.expected is None:
            return -1
        try:
            return self.scored.entry_ids.index(self.query.expected)
        except ValueError:
            return -1

    @property
    def group(self) -> str:
        return self.query.expected or f"null:{self.query.line}:{self.query.query}"


def make_samples(engine: Engine, queries: Sequence[LabelledQuery]) -> list[Sample]:
    """Score every query once; training and evaluation reuse these."""
    out = []
    for q in queries:
        start = time.perf_counter()
        scored = engine.score(q.query, q.audience)
        engine.decide(scored)
        out.append(Sample(q, scored, (time.perf_counter() - start) * 1000))
    return out


def group_folds(samples: Sequence[Sample], k: int, seed: int) -> list[int]:
    """Assign each sample a fold so that all queries for one entry share a fold."""
    groups = sorted({s.group for s in samples})
    random.Random(seed).shuffle(groups)
    fold_of = {g: i % k for i, g in enumerate(groups)}
    return [fold_of[s.group] for s in samples]


def _ranker_groups(samples: Sequence[Sample]) -> list[tuple[Sequence[Sequence[float]], int]]:
    return [(s.scored.rows, s.target) for s in samples if s.scored.rows]


def _pointwise_data(samples: Sequence[Sample]) -> tuple[list[Sequence[float]], list[int]]:
    rows: list[Sequence[float]] = []
    labels: list[int] = []
    for s in samples:
        target = s.target
        for i, row in enumerate(s.scored.rows):
            rows.append(row)
            labels.append(int(i == target))
    return rows, labels


def _fit_stage1(train: Sequence[Sample]) -> Model:
    rows, labels = _pointwise_data(train)
    return Model(
        fit_ranker(_ranker_groups(train)),
        fit_logistic(rows, labels, CANDIDATE_FEATURES),
        fit_logistic([], [], GATE_FEATURES),
    )


def fit_model(samples: Sequence[Sample], *, folds: int = 5, seed: int = 0) -> Model:
    """Fit ranker and pointwise model, then the gate on their out-of-fold outputs, then
    choose thresholds on the gate's own out-of-fold confidences."""
    fold = group_folds(samples, folds, seed)
    ranked = [s for s in samples if s.scored.rows]
    ranked_fold = [f for s, f in zip(samples, fold, strict=True) if s.scored.rows]
    gate_rows: list[list[float]] = [[] for _ in ranked]
    gate_labels = [0] * len(ranked)
    top_ids = [""] * len(ranked)
    offered: list[tuple[str, ...]] = [() for _ in ranked]
    for f in range(folds):
        stage1 = _fit_stage1([s for s, sf in zip(ranked, ranked_fold, strict=True) if sf != f])
        for i, (s, sf) in enumerate(zip(ranked, ranked_fold, strict=True)):
            if sf == f:
                g = stage1.gate_row(s.scored.rows, s.scored.query_row)
                gate_rows[i] = g.features
                top_ids[i] = s.scored.entry_ids[g.order[0]]
                gate_labels[i] = int(top_ids[i] == s.query.expected)
                offered[i] = tuple(s.scored.entry_ids[j] for j in choices(g.order, g.probs))
    confidence = [0.0] * len(ranked)
    for f in range(folds):
        idx_train = [i for i, sf in enumerate(ranked_fold) if sf != f]
        gate = fit_logistic(
            [gate_rows[i] for i in idx_train],
            [gate_labels[i] for i in idx_train],
            GATE_FEATURES,
            l2=GATE_L2,
        )
        for i, sf in enumerate(ranked_fold):
            if sf == f:
                confidence[i] = 1 / (1 + math.exp(-max(-30.0, min(30.0, gate.raw(gate_rows[i])))))
    abstained_right = sum(1 for s in samples if not s.scored.rows and s.query.expected is None)
    expected = [s.query.expected for s in ranked]
    answer_t, _, curve = choose_thresholds(
        expected, top_ids, confidence, n_total=len(samples), abstained_right=abstained_right
    )
    suggest_t = choose_suggest_threshold(
        expected, top_ids, offered, confidence, answer_t, abstained_right=abstained_right
    )
    stage1 = _fit_stage1(samples)
    return Model(
        stage1.ranker,
        stage1.pointwise,
        fit_logistic(gate_rows, gate_labels, GATE_FEATURES, l2=GATE_L2),
        answer_t,
        suggest_t,
        {"samples": len(samples), "threshold_curve": curve},
    )


def choose_thresholds(
    expected: Sequence[str | None],
    top_ids: Sequence[str],
    confidence: Sequence[float],
    *,
    n_total: int,
    abstained_right: int,
) -> tuple[float, float, list[dict[str, float]]]:
    """Return (answer, suggest) thresholds: the middle of the flat top of the accuracy curve,
    among thresholds whose false-answer rate stays within MAX_FALSE_ANSWER_RATE."""
    curve = []
    for step in range(5, 96):
        t = step / 100
        right = abstained_right
        wrong_answers = 0
        for exp, top, conf in zip(expected, top_ids, confidence, strict=True):
            if conf >= t:
                if top == exp:
                    right += 1
                else:
                    wrong_answers += 1
            elif exp is None:
                right += 1
        curve.append(
            {"t": t, "accuracy": right / n_total, "false_answer_rate": wrong_answers / n_total}
        )
    allowed = [c for c in curve if c["false_answer_rate"] <= MAX_FALSE_ANSWER_RATE] or [
        min(curve, key=lambda c: c["false_answer_rate"])
    ]
    best = max(c["accuracy"] for c in allowed)
    flat = [c["t"] for c in allowed if c["accuracy"] >= best - PLATEAU]
    answer_t = flat[len(flat) // 2] if flat else DEFAULT_ANSWER_THRESHOLD
    suggest_t = max(0.1, round(answer_t * 0.5, 2))
    return answer_t, suggest_t, [c for c in curve if round(c["t"] * 100) % 5 == 0]


def choose_suggest_threshold(
    expected: Sequence[str | None],
    top_ids: Sequence[str],
    offered: Sequence[Sequence[str]],
    confidence: Sequence[float],
    answer_t: float,
    *,
    abstained_right: int,
) -> float:
    """Return the suggestion threshold that resolves the most queries in one step: below the
    answer threshold, choices help a query whose entry they hold, and cost an unanswerable
    one the abstention that would have offered a person at once. The middle of the flat top,
    as for the answer threshold."""
    scores = []
    for step in range(5, max(6, round(answer_t * 100) + 1)):
        t = step / 100
        resolved = abstained_right
        for exp, top, picks, conf in zip(expected, top_ids, offered, confidence, strict=True):
            if conf >= answer_t:
                resolved += top == exp
            elif conf >= t:
                resolved += exp is not None and exp in picks
            else:
                resolved += exp is None
        scores.append((t, resolved))
    best = max(r for _, r in scores)
    flat = [t for t, r in scores if r >= best - PLATEAU * max(1, len(expected))]
    return min(flat[len(flat) // 2], answer_t)


def cross_validate(
    engine: Engine,
    samples: Sequence[Sample],
    *,
    k: int,
    repeats: int = 1,
    extra: Sequence[Sample] = (),
    seed: int = 0,
) -> dict[str, Any]:
    """Repeated group k-fold: train on k-1 folds (plus `extra`), predict the held-out fold."""
    runs = []
    for r in range(repeats):
        fold = group_folds(samples, k, seed + 1000 * r)
        results: list[Result | None] = [None] * len(samples)
        for f in range(k):
            train = [s for s, sf in zip(samples, fold, strict=True) if sf != f]
            model = fit_model([*train, *extra], seed=seed + r)
            for i, sf in enumerate(fold):
                if sf == f:
                    results[i] = engine.decide(samples[i].scored, model)
        done = [res for res in results if res is not None]
        runs.append(metrics([s.query for s in samples], done, [s.latency_ms for s in samples]))
    keys = runs[0].keys()
    out: dict[str, Any] = {
        key: round(sum(float(run[key]) for run in runs) / len(runs), 4) for key in keys
    }
    out["queries"] = len(samples)
    if repeats > 1:
        out["repeats"] = repeats
    return out


def calibrate(engine: Engine, queries: Sequence[LabelledQuery]) -> tuple[float, float]:
    """Choose thresholds for this KB from labelled queries, keeping the learned weights."""
    expected: list[str | None] = []
    top_ids: list[str] = []
    confidence: list[float] = []
    abstained_right = 0
    for q in queries:
        result = engine.answer(q.query, q.audience)
        if not result.ranked:
            abstained_right += q.expected is None
            continue
        expected.append(q.expected)
        top_ids.append(result.ranked[0][0])
        confidence.append(result.score)
    answer_t, suggest_t, _ = choose_thresholds(
        expected, top_ids, confidence, n_total=len(queries), abstained_right=abstained_right
    )
    return answer_t, suggest_t
