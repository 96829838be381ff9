"""Measuring by campaign: train on every campaign but one, measure on the one left out.

A campaign is a knowledge base with its labelled queries. The learned parts (ranker,
pointwise model, gate, thresholds) are fitted on the other campaigns only, so the numbers
say what an operator bringing a new campaign's KB would see on day one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.engine import Engine, Kind, Result
from knowledge.evaluate import LabelledQuery, load_queries, metrics
from knowledge.kb import KbError, load_kb
from knowledge.model import Model
from knowledge.training import Sample, fit_model, make_samples

KB_FILE = "kb.yaml"
QUERIES_FILE = "queries.jsonl"

# The measures of one campaign the report gives the mean and the worst of; for each, which
# way is worse.
MEASURES: tuple[tuple[str, Callable[[Sequence[float]], float]], ...] = (
    ("overall_accuracy", min),
    ("false_answer_rate", max),
    ("in_scope_top1", min),
    ("in_scope_top3", min),
    ("one_step_resolution", min),
)


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    kb_path: Path
    queries_path: Path


@dataclass(frozen=True, slots=True)
class _Scored:
    campaign: Campaign
    engine: Engine
    samples: list[Sample]


def find_campaigns(corpus: Path) -> tuple[list[Campaign], list[str]]:
    """Return the campaigns of a corpus folder (one sub-folder each, with kb.yaml and
    queries.jsonl), and a line for every sub-folder that is not one yet."""
    if not corpus.is_dir():
        raise KbError(
            f"{corpus}: not a folder; give the corpus folder (one sub-folder a campaign)."
        )
    found: list[Campaign] = []
    skipped: list[str] = []
    for sub in sorted(p for p in corpus.iterdir() if p.is_dir()):
        missing = [f for f in (KB_FILE, QUERIES_FILE) if not (sub / f).is_file()]
        if missing:
            skipped.append(f"{sub.name}: no {' or '.join(missing)} yet")
            continue
        found.append(Campaign(sub.name, sub / KB_FILE, sub / QUERIES_FILE))
    return found, skipped


def campaign_of(kb_path: Path, queries_path: Path) -> Campaign:
    """A campaign given as two files; named after the KB file."""
    return Campaign(kb_path.stem, kb_path, queries_path)


def one_step_resolution(queries: Sequence[LabelledQuery], results: Sequence[Result]) -> float:
    """Share of queries resolved by the bot's first reply: the right answer given, the
    right entry among the 您是想问 choices, or, for a query no entry answers, no answer
    given (an abstention or choices, either of which puts a person one press away)."""
    if not queries:
        return 0.0
    done = 0
    for q, r in zip(queries, results, strict=True):
        if q.expected is None:
            done += r.entry_id is None
        elif r.entry_id == q.expected or (r.kind == Kind.SUGGEST and q.expected in r.suggestions):
            done += 1
    return round(done / len(queries), 4)


def _score(campaign: Campaign) -> _Scored:
    kb = load_kb(campaign.kb_path)
    queries = load_queries(campaign.queries_path, kb)
    # Features do not depend on the weights; score once with untrained ones.
    engine = Engine(kb, model=Model.untrained(), use_calibration=False)
    return _Scored(campaign, engine, make_samples(engine, queries))


def leave_one_out(
    campaigns: Sequence[Campaign],
    *,
    train_only: Sequence[Campaign] = (),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure each campaign with a model fitted on all the others (and `train_only`)."""
    if len(campaigns) + len(train_only) < 2:
        raise KbError("leave-one-out needs at least two campaigns (one to train on).")
    scored = []
    for c in [*campaigns, *train_only]:
        if progress:
            progress(f"scoring {c.name}")
        scored.append(_score(c))
    measured = scored[: len(campaigns)]
    rows: list[dict[str, Any]] = []
    for held in measured:
        start = time.perf_counter()
        train = [s for other in scored if other is not held for s in other.samples]
        model = fit_model(train)
        results = [held.engine.decide(s.scored, model) for s in held.samples]
        queries = [s.query for s in held.samples]
        row: dict[str, Any] = {"campaign": held.campaign.name}
        row.update(metrics(queries, results, [s.latency_ms for s in held.samples]))
        row["one_step_resolution"] = one_step_resolution(queries, results)
        row["answer_threshold"] = model.answer_threshold
        rows.append(row)
        if progress:
            took = time.perf_counter() - start
            progress(f"{held.campaign.name}: trained and measured in {took:.1f} s")
    return {
        "campaigns": rows,
        "mean": {k: round(sum(r[k] for r in rows) / len(rows), 4) for k, _ in MEASURES},
        "worst": {k: worse([r[k] for r in rows]) for k, worse in MEASURES},
        "trained_also_on": [c.name for c in train_only],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as a table: a row per campaign, then the mean and the worst."""
    cols = [k for k, _ in MEASURES]
    width = max([8, *(len(r["campaign"]) for r in report["campaigns"])])
    heads = ["queries", "overall", "false", "top1", "top3", "one-step"]
    lines = [f"{'campaign':<{width}}  " + "  ".join(f"{h:>8}" for h in heads)]

    def line(name: str, queries: str, values: dict[str, Any]) -> str:
        cells = [f"{queries:>8}", *(f"{values[k]:>8.3f}" for k in cols)]
        return f"{name:<{width}}  " + "  ".join(cells)

    lines.extend(line(r["campaign"], str(r["queries"]), r) for r in report["campaigns"])
    lines.append(line("mean", "", report["mean"]))
    lines.append(line("worst", "", report["worst"]))
    if report["trained_also_on"]:
        lines.append("also trained on: " + ", ".join(report["trained_also_on"]))
    return "\n".join(lines)
