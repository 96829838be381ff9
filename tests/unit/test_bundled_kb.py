"""The bundled knowledge base and its query set, and a regression floor on the shipped model.

The shipped model was trained on these queries, so the floors below are in-sample: they
catch a broken pipeline or model file, not generalisation (README, "How the engine decides").
"""

import time
from collections import Counter

from knowledge.engine import Engine
from knowledge.evaluate import load_queries, metrics
from knowledge.kb import BUNDLED_KB, BUNDLED_QUERIES, load_kb


def test_bundled_kb_is_valid_and_large_enough() -> None:
    kb = load_kb(BUNDLED_KB)
    counts = kb.summary()["audience"]
    assert len(kb.entries) >= 80
    assert counts["consumer"] > 0
    assert counts["merchant"] > 0


def test_bundled_queries_cover_every_entry_and_unanswerable_ones() -> None:
    kb = load_kb(BUNDLED_KB)
    queries = load_queries(BUNDLED_QUERIES, kb)
    covered = Counter(q.expected for q in queries if q.expected)
    assert {e.id for e in kb.entries} <= set(covered)
    assert sum(1 for q in queries if q.expected is None) >= 40
    for q in queries:
        if q.expected:
            assert q.audience.sees(kb.entry(q.expected).audience), q.line


def test_shipped_model_on_bundled_queries_meets_its_floor(bundled_engine: Engine) -> None:
    queries = load_queries(BUNDLED_QUERIES, bundled_engine.kb)
    results, lat = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append(bundled_engine.answer(q.query, q.audience))
        lat.append((time.perf_counter() - t0) * 1000)
    report = metrics(queries, results, lat)
    assert report["in_scope_top3"] >= 0.9
    assert report["false_answer_rate"] <= 0.08
    assert report["overall_accuracy"] >= 0.65
    assert report["null_abstained"] >= 0.75
