"""Labelled query files and the metrics the project reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.engine import Result
from knowledge.kb import Audience, KbError, KnowledgeBase


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    query: str
    audience: Audience
    expected: str | None
    line: int = 0


def load_queries(path: Path | str, kb: KnowledgeBase | None = None) -> list[LabelledQuery]:
    """Read a JSON Lines query file; with a KB, check that every expected id exists."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KbError(f"{path}: file not found.") from None
    except UnicodeDecodeError as exc:
        raise KbError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    ids = {e.id for e in kb.entries} if kb is not None else None
    out: list[LabelledQuery] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KbError(f"{path}, line {n}: not valid JSON ({exc.msg}).") from None
        if not isinstance(raw, dict):
            raise KbError(f"{path}, line {n}: must be an object with query and audience.")
        query = raw.get("query")
        if not isinstance(query, str):
            raise KbError(f"{path}, line {n}: field 'query' must be a text.")
        try:
            audience = Audience(raw.get("audience", "consumer"))
        except ValueError:
            raise KbError(
                f"{path}, line {n}: audience {raw.get('audience')!r} is not one of "
                "consumer, merchant, all."
            ) from None
        expected = raw.get("expected")
        if expected is not None and not isinstance(expected, str):
            raise KbError(f"{path}, line {n}: field 'expected' must be an entry id or null.")
        if expected is not None and ids is not None and expected not in ids:
            raise KbError(f"{path}, line {n}: expected id {expected!r} is not in the KB.")
        out.append(LabelledQuery(query, audience, expected, n))
    return out


def metrics(
    queries: Sequence[LabelledQuery], results: Sequence[Result], latencies_ms: Sequence[float]
) -> dict[str, float | int]:
    """Return the project's retrieval metrics (rates as fractions)."""
    n = len(queries)
    in_scope = [(q, r) for q, r in zip(queries, results, strict=True) if q.expected is not None]
    nulls = [(q, r) for q, r in zip(queries, results, strict=True) if q.expected is None]
    top1 = sum(1 for q, r in in_scope if r.ranked and r.ranked[0][0] == q.expected)
    top3 = sum(1 for q, r in in_scope if q.expected in [i for i, _ in r.ranked[:3]])
    right_answers = sum(1 for q, r in in_scope if r.entry_id == q.expected)
    false_answers = sum(
        1 for q, r in zip(queries, results, strict=True) if r.entry_id and r.entry_id != q.expected
    )
    null_abstained = sum(1 for _, r in nulls if r.entry_id is None)
    lat = sorted(latencies_ms)
    return {
        "in_scope_top1": _rate(top1, len(in_scope)),
        "in_scope_top3": _rate(top3, len(in_scope)),
        "null_abstained": _rate(null_abstained, len(nulls)),
        "false_answer_rate": _rate(false_answers, n),
        "overall_accuracy": _rate(right_answers + null_abstained, n),
        "p50_ms": round(_percentile(lat, 50), 3),
        "p99_ms": round(_percentile(lat, 99), 3),
        "queries": n,
    }


def _rate(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
