"""A small sentence encoder learned here from the corpus: hashed character n-grams and words,
summed and normalised (DSSM-style), trained so that a user's message lands near the
questions of the entry that answers it, across campaigns.

No pretrained Chinese model with offline weights is available, so the meaning of the
domain's phrasings (几时 ≈ 什么时候, 钱没到 ≈ 未到账) is learned from the corpus's
(message → entry) pairs and from the paraphrases every KB holds (the questions of one
entry). Run time is numpy: one sparse sum and a few dot products per query.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.segment import Analysis

ENCODER_PATH = Path(__file__).parent / "model" / "encoder.npz"
BUCKETS = 1 << 16
DIM = 96
# What each kind of feature weighs in the sum.
_W_WORD = 1.0
_W_UNI = 0.35
_W_BI = 1.0
_W_TRI = 0.5


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) & (BUCKETS - 1)


def featurize(analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Return (bucket ids, weights) of a text: its content words and the character 1-3-grams
    of the normalised text (question words and particles included: they say what is asked)."""
    feats: dict[int, float] = {}

    def add(key: str, w: float) -> None:
        b = _bucket(key)
        feats[b] = feats.get(b, 0.0) + w

    for word in analysis.content:
        add("w" + word, _W_WORD)
    for run in analysis.text.split(" "):
        for i, ch in enumerate(run):
            add("u" + ch, _W_UNI)
            if i + 1 < len(run):
                add("b" + run[i : i + 2], _W_BI)
            if i + 2 < len(run):
                add("t" + run[i : i + 3], _W_TRI)
    if not feats:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    ids = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
    weights = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
    return ids, weights / math.sqrt(float(np.dot(weights, weights)))


@dataclass(frozen=True)
class Encoder:
    table: np.ndarray  # BUCKETS x DIM, float32
    meta: dict[str, Any]

    def encode(self, analysis: Analysis) -> np.ndarray:
        """Return the unit vector of a text (zeros for an empty one)."""
        ids, weights = featurize(analysis)
        return self.encode_features(ids, weights)

    def encode_features(self, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros(self.table.shape[1], dtype=np.float32)
        h: np.ndarray = weights @ self.table[ids]
        norm = float(np.linalg.norm(h))
        return h / norm if norm > 0 else h

    def encode_many(self, analyses: Sequence[Analysis]) -> np.ndarray:
        if not analyses:
            return np.zeros((0, self.table.shape[1]), dtype=np.float32)
        return np.stack([self.encode(a) for a in analyses])

    def save(self, path: Path = ENCODER_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            table=self.table.astype(np.float16),
            meta=np.array(json.dumps(self.meta, ensure_ascii=False)),
        )

    @classmethod
    def load(cls, path: Path = ENCODER_PATH) -> Encoder:
        with np.load(path) as raw:
            table = raw["table"].astype(np.float32)
            meta = json.loads(str(raw["meta"]))
        if table.shape != (BUCKETS, DIM):
            raise ValueError(f"{path}: table is {table.shape}, this code reads {(BUCKETS, DIM)}")
        return cls(table, meta)


def encoder_beside(model_path: Path) -> Path:
    """Where the encoder of a model file written with `kb train --out` lives."""
    if model_path.resolve() == (ENCODER_PATH.parent / "model.json").resolve():
        return ENCODER_PATH
    return model_path.with_name(model_path.stem + ".encoder.npz")


@cache
def shipped_encoder() -> Encoder | None:
    """The encoder the project ships, or None when there is none yet (read once)."""
    if not ENCODER_PATH.exists():
        return None
    return Encoder.load(ENCODER_PATH)


@dataclass(frozen=True, slots=True)
class Pair:
    """Two texts that mean the same need; `group` keeps pairs of one KB in one batch, so the
    other entries of the same campaign are the negatives, as at answer time."""

    a: tuple[np.ndarray, np.ndarray]
    b: tuple[np.ndarray, np.ndarray]
    group: str
    target: str  # the entry both sides belong to: two pairs of one entry are no negatives


def train(
    pairs: Sequence[Pair],
    *,
    epochs: int = 8,
    batch: int = 64,
    temperature: float = 0.07,
    lr: float = 0.05,
    seed: int = 0,
) -> Encoder:
    """Fit the table by in-batch contrastive learning (InfoNCE, both directions) with
    per-row Adagrad on the rows a batch touches."""
    rng = np.random.default_rng(seed)
    table = (rng.standard_normal((BUCKETS, DIM)) * 0.1).astype(np.float32)
    accum = np.full(BUCKETS, 1e-3, dtype=np.float32)
    by_group: dict[str, list[Pair]] = {}
    for p in pairs:
        by_group.setdefault(p.group, []).append(p)
    shuffle = random.Random(seed)
    for _ in range(epochs):
        batches: list[list[Pair]] = []
        for group in by_group.values():
            items = list(group)
            shuffle.shuffle(items)
            batches.extend(items[i : i + batch] for i in range(0, len(items), batch))
        shuffle.shuffle(batches)
        for chunk in batches:
            if len(chunk) > 1:
                _step(table, accum, chunk, temperature, lr)
    return Encoder(table, {"pairs": len(pairs), "epochs": epochs, "dim": DIM})


@dataclass(frozen=True, slots=True)
class _Side:
    unit: np.ndarray  # n x DIM, the normalised sums
    norm: np.ndarray  # n x 1, their lengths before normalising
    ids: np.ndarray  # every feature of the batch, concatenated
    owner: np.ndarray  # which text each feature belongs to
    weights: np.ndarray


def _encode_batch(table: np.ndarray, sides: Sequence[tuple[np.ndarray, np.ndarray]]) -> _Side:
    lengths = np.array([len(ids) for ids, _ in sides])
    ids = np.concatenate([ids for ids, _ in sides])
    weights = np.concatenate([w for _, w in sides])
    owner = np.repeat(np.arange(len(sides)), lengths)
    h = np.zeros((len(sides), table.shape[1]), dtype=np.float32)
    filled = lengths > 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[filled]
    if len(ids):
        h[filled] = np.add.reduceat(weights[:, None] * table[ids], starts, axis=0)
    norm = np.linalg.norm(h, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return _Side(h / norm, norm, ids, owner, weights)


def _softmax_rows(m: np.ndarray) -> np.ndarray:
    e = np.exp(m - m.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _step(
    table: np.ndarray, accum: np.ndarray, chunk: Sequence[Pair], temperature: float, lr: float
) -> None:
    n = len(chunk)
    a = _encode_batch(table, [p.a for p in chunk])
    b = _encode_batch(table, [p.b for p in chunk])
    targets = [p.target for p in chunk]
    same = np.array([[x == y for y in targets] for x in targets]) & ~np.eye(n, dtype=bool)
    # Two pairs of the same entry are not negatives of one another.
    s = np.where(same, -1e9, (a.unit @ b.unit.T) / temperature)
    eye = np.eye(n)
    grad_s = (_softmax_rows(s) - eye) + (_softmax_rows(s.T) - eye).T
    grad_s /= 2 * n * temperature
    for side, d in ((a, grad_s @ b.unit), (b, grad_s.T @ a.unit)):
        dh = (d - side.unit * np.sum(side.unit * d, axis=1, keepdims=True)) / side.norm
        rows = side.weights[:, None] * dh[side.owner]
        order = np.argsort(side.ids, kind="stable")
        sorted_ids = side.ids[order]
        first = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
        uniq = sorted_ids[first]
        grad = np.add.reduceat(rows[order], first, axis=0)
        accum[uniq] += np.mean(grad * grad, axis=1)
        table[uniq] -= lr * grad / np.sqrt(accum[uniq])[:, None]
