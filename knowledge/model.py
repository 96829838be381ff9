"""The learned parts: a softmax ranker over candidates and a calibrated answer gate.

Inference is plain Python over a few dozen numbers; numpy is used only to fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.features import CANDIDATE_FEATURES, QUERY_FEATURES

MODEL_PATH = Path(__file__).parent / "model" / "model.json"

# The gate reads few inputs on purpose: with a few hundred labelled queries per campaign,
# a small gate transferred better to another campaign than one over every feature.
GATE_FEATURES: tuple[str, ...] = (
    "p1",
    "rel_top",
    "top_cov_all",
    "top_enc_max",
    "top_enc_lead",
    "p_margin",
    "top_best_q_both",
    "top_fuzz_token_set",
    "top_intent_agree",
    *QUERY_FEATURES,
)
_COV_ALL = CANDIDATE_FEATURES.index("cov_all")
_ENC_MAX = CANDIDATE_FEATURES.index("enc_max")
_ENC_LEAD = CANDIDATE_FEATURES.index("enc_lead")
_BEST_Q_BOTH = CANDIDATE_FEATURES.index("best_q_both")
_FUZZ_SET = CANDIDATE_FEATURES.index("fuzz_token_set")
_INTENT_AGREE = CANDIDATE_FEATURES.index("intent_agree")
GATE_L2 = 10.0

# Without a calibration of its own, the engine answers only when it is fairly sure.
DEFAULT_ANSWER_THRESHOLD = 0.5
DEFAULT_SUGGEST_THRESHOLD = 0.2


@dataclass(frozen=True, slots=True)
class Linear:
    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float = 0.0

    def raw(self, x: Sequence[float]) -> float:
        s = self.bias
        for xi, m, sc, w in zip(x, self.mean, self.scale, self.weights, strict=True):
            s += (xi - m) / sc * w
        return s

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Linear:
        return cls(
            tuple(raw["names"]),
            tuple(float(v) for v in raw["mean"]),
            tuple(float(v) for v in raw["scale"]),
            tuple(float(v) for v in raw["weights"]),
            float(raw.get("bias", 0.0)),
        )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True, slots=True)
class Model:
    """The ranker orders candidates; the pointwise model says how relevant each is on an
    absolute scale (it also learns from unanswerable queries); the gate combines both."""

    ranker: Linear
    pointwise: Linear
    gate: Linear
    answer_threshold: float = DEFAULT_ANSWER_THRESHOLD
    suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD
    meta: dict[str, Any] = field(default_factory=dict)

    def rank(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Return the softmax probability of each candidate row."""
        if not rows:
            return []
        logits = [self.ranker.raw(r) for r in rows]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def gate_row(self, rows: Sequence[Sequence[float]], query_row: Sequence[float]) -> GateRow:
        """Rank the candidates and compute the gate's inputs."""
        probs = self.rank(rows)
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        top = order[0]
        rel_top = _sigmoid(self.pointwise.raw(rows[top]))
        p2 = probs[order[1]] if len(order) > 1 else 0.0
        return GateRow(order, probs, gate_features(probs[top], rel_top, rows[top], query_row, p2))

    def confidence(self, features: Sequence[float]) -> float:
        """Return P(the top-ranked entry is right) from gate features."""
        return _sigmoid(self.gate.raw(features))

    def with_thresholds(self, answer: float, suggest: float, **meta: Any) -> Model:
        return Model(
            self.ranker, self.pointwise, self.gate, answer, suggest, {**self.meta, **meta}
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = {
            "ranker": self.ranker.to_json(),
            "pointwise": self.pointwise.to_json(),
            "gate": self.gate.to_json(),
            "answer_threshold": self.answer_threshold,
            "suggest_threshold": self.suggest_threshold,
            "meta": self.meta,
        }
        path.write_text(json.dumps(raw, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def untrained(cls) -> Model:
        """Return a hand-set model: rank by coverage and BM25, gate on the top probability."""
        d = len(CANDIDATE_FEATURES)
        weights = [0.0] * d
        for name, w in (("cov_q", 3.0), ("bm25_qw_norm", 2.0), ("best_q_both", 2.0)):
            weights[CANDIDATE_FEATURES.index(name)] = w
        g = len(GATE_FEATURES)
        gate = [0.0] * g
        gate[GATE_FEATURES.index("top_cov_all")] = 2.0
        ranker = Linear(CANDIDATE_FEATURES, (0.0,) * d, (1.0,) * d, tuple(weights))
        return cls(
            ranker,
            ranker,
            Linear(GATE_FEATURES, (0.0,) * g, (1.0,) * g, tuple(gate), -1.0),
            meta={"untrained": True},
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        raw = json.loads(path.read_text(encoding="utf-8"))
        ranker = Linear.from_json(raw["ranker"])
        pointwise = Linear.from_json(raw["pointwise"])
        gate = Linear.from_json(raw["gate"])
        if (
            ranker.names != CANDIDATE_FEATURES
            or pointwise.names != CANDIDATE_FEATURES
            or gate.names != GATE_FEATURES
        ):
            raise ValueError(
                f"{path}: the model was trained on other features than this code computes; "
                "retrain it with `helpdesk kb train` (docs/engine.md, 'Training')."
            )
        return cls(
            ranker,
            pointwise,
            gate,
            float(raw["answer_threshold"]),
            float(raw["suggest_threshold"]),
            dict(raw.get("meta", {})),
        )


@dataclass(frozen=True, slots=True)
class GateRow:
    order: list[int]  # candidate indexes, best first
    probs: list[float]  # ranker probability of each candidate (input order)
    features: list[float]


def gate_features(
    p1: float,
    rel_top: float,
    top_row: Sequence[float],
    query_row: Sequence[float],
    p2: float = 0.0,
) -> list[float]:
    """Return the gate's inputs, in GATE_FEATURES order."""
    return [
        p1,
        rel_top,
        top_row[_COV_ALL],
        top_row[_ENC_MAX],
        top_row[_ENC_LEAD],
        p1 - p2,
        top_row[_BEST_Q_BOTH],
        top_row[_FUZZ_SET],
        top_row[_INTENT_AGREE],
        *query_row,
    ]


# ------------------------------------------------------------------ fitting


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def feature_sign(name: str) -> int:
    """Return the sign a feature's weight is held to: +1, -1, or 0 for free.

    More overlap with the query can only speak for an entry, an unmatched word only against
    it. Holding weights to these signs keeps correlated features from cancelling out in
    ways that fit one campaign and fail on the next.
    """
    if any(bad in name for bad in ("unmatched", "intent_extra", "unknown")):
        return -1
    return 1


def _adam(
    grad_fn: Callable[[np.ndarray], np.ndarray], signs: np.ndarray, steps: int, lr: float = 0.05
) -> np.ndarray:
    """Minimise by Adam, projecting weights onto their allowed signs after each step."""
    w = np.zeros(len(signs))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    b1, b2 = 0.9, 0.999
    for t in range(1, steps + 1):
        g = grad_fn(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
        w = np.where(signs > 0, np.maximum(w, 0.0), np.where(signs < 0, np.minimum(w, 0.0), w))
    return w


def fit_ranker(
    groups: Sequence[tuple[Sequence[Sequence[float]], int]], *, l2: float = 1.0, steps: int = 300
) -> Linear:
    """Fit a conditional-logit ranker: each group is (candidate rows, index of the right one)."""
    usable = [(np.asarray(rows, dtype=float), y) for rows, y in groups if y >= 0 and len(rows) > 1]
    d = len(CANDIDATE_FEATURES)
    if not usable:
        return Linear(CANDIDATE_FEATURES, (0.0,) * d, (1.0,) * d, (0.0,) * d)
    c = max(len(rows) for rows, _ in usable)
    x = np.zeros((len(usable), c, d))
    mask = np.zeros((len(usable), c), dtype=bool)
    y = np.zeros(len(usable), dtype=int)
    for i, (rows, yi) in enumerate(usable):
        x[i, : len(rows)] = rows
        mask[i, : len(rows)] = True
        y[i] = yi
    mean, scale = _standardize(x[mask])
    xs = (x - mean) / scale
    xs[~mask] = 0.0
    n = len(usable)
    target = np.zeros((n, c))
    target[np.arange(n), y] = 1.0

    def grad(w: np.ndarray) -> np.ndarray:
        logits = xs @ w
        logits[~mask] = -1e9
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g: np.ndarray = np.einsum("gc,gcd->d", p - target, xs) / n + l2 * w / n
        return g

    signs = np.array([feature_sign(name) for name in CANDIDATE_FEATURES])
    w = _adam(grad, signs, steps)
    return Linear(
        CANDIDATE_FEATURES,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w),
    )


def fit_logistic(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    names: tuple[str, ...],
    *,
    l2: float = 1.0,
    steps: int = 300,
) -> Linear:
    """Fit an L2-regularised logistic regression with sign-held weights."""
    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    d = len(names)
    if len(x) == 0 or y.min() == y.max():
        prior = float(y.mean()) if len(y) else 0.5
        prior = min(max(prior, 1e-3), 1 - 1e-3)
        return Linear(names, (0.0,) * d, (1.0,) * d, (0.0,) * d, math.log(prior / (1 - prior)))
    mean, scale = _standardize(x)
    xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    n = len(x)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0

    def grad(w: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-np.clip(xs @ w, -30, 30)))
        g: np.ndarray = (xs.T @ (p - y) + reg * w) / n
        return g

    signs = np.array([feature_sign(name) for name in names] + [0])
    w = _adam(grad, signs, steps)
    return Linear(
        names,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w[:-1]),
        float(w[-1]),
    )
