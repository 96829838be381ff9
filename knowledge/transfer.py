"""Measuring by campaign: train on every campaign but one, measure on the one left out.

A campaign is a knowledge base with its labelled queries. The learned parts (encoder,
ranker, pointwise model, gate, thresholds) are fitted on the other campaigns only, so the numbers
say what an operator bringing a new campaign's KB would see on day one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.encoder import Encoder, Pair, featurize
from knowledge.encoder import train as train_encoder
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


@dataclass(slots=True)
class _Scored:
    campaign: Campaign
    engine: Engine
    samples: list[Sample]
    pairs: list[Pair]  # what an encoder learns from this campaign: KB paraphrases, labels

    def reencoded(self, encoder: Encoder) -> list[Sample]:
        """The samples with the encoder's features from this encoder."""
        self.engine.use_encoder(encoder)
        return [
            Sample(s.query, self.engine.reencode(s.scored, s.query.audience), s.latency_ms)
            for s in self.samples
        ]


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
    """A campaign given as two files; named after the KB file, or its folder when the file
    is called kb.yaml."""
    name = kb_path.parent.resolve().name if kb_path.name == KB_FILE else kb_path.stem
    return Campaign(name, kb_path, queries_path)


def one_step_resolution(queries: Sequence[LabelledQuery], results: Sequence[Result]) -> float:
    """Share of queries resolved by the bot's first reply: the right answer given, the
    right entry among the 您是想问 choices, or, for a query no entry answers, an abstention
    (no answer and no choices: the reply offers a person at once)."""
    if not queries:
        return 0.0
    done = 0
    for q, r in zip(queries, results, strict=True):
        if q.expected is None:
            done += r.entry_id is None and not r.suggestions
        elif r.entry_id == q.expected or (r.kind == Kind.SUGGEST and q.expected in r.suggestions):
            done += 1
    return round(done / len(queries), 4)


def error_classes(queries: Sequence[LabelledQuery], results: Sequence[Result]) -> dict[str, int]:
    """Count what happened to each query, by kind, so a shortfall can be read by its cause."""
    out = dict.fromkeys(
        (
            "answered_right",
            "right_among_choices",
            "right_top1_withheld",
            "answered_wrong_entry",
            "misranked_in_top3",
            "ranked_below_top3",
            "not_a_candidate",
            "null_abstained",
            "null_offered_choices",
            "null_answered",
        ),
        0,
    )
    for q, r in zip(queries, results, strict=True):
        ranked = [i for i, _ in r.ranked]
        if q.expected is None:
            kind = (
                "null_answered"
                if r.entry_id
                else "null_offered_choices"
                if r.suggestions
                else "null_abstained"
            )
            out[kind] += 1
        elif r.entry_id == q.expected:
            out["answered_right"] += 1
        elif r.kind == Kind.SUGGEST and q.expected in r.suggestions:
            out["right_among_choices"] += 1
        elif r.entry_id is not None:
            out["answered_wrong_entry"] += 1
        elif ranked and ranked[0] == q.expected:
            out["right_top1_withheld"] += 1
        elif q.expected in ranked[:3]:
            out["misranked_in_top3"] += 1
        elif q.expected in ranked:
            out["ranked_below_top3"] += 1
        else:
            out["not_a_candidate"] += 1
    return out


def campaign_pairs(engine: Engine, samples: Sequence[Sample]) -> list[Pair]:
    """What an encoder learns from one campaign: each pair of questions of one entry
    (the paraphrases every KB holds) and each labelled message with each question of its
    entry."""
    group = engine.kb.name
    questions = {d.entry.id: [featurize(q.analysis) for q in d.questions] for d in engine.docs}
    pairs = [
        Pair(a, b, group, entry_id)
        for entry_id, feats in questions.items()
        for i, a in enumerate(feats)
        for j, b in enumerate(feats)
        if i != j
    ]
    for s in samples:
        expected = s.query.expected
        if expected is None or not s.scored.analysis.content:
            continue
        query = featurize(s.scored.analysis)
        pairs.extend(Pair(query, b, group, expected) for b in questions.get(expected, ()))
    return pairs


def _score(campaign: Campaign) -> _Scored:
    kb = load_kb(campaign.kb_path)
    queries = load_queries(campaign.queries_path, kb)
    # Features do not depend on the weights; score once with untrained ones. The encoder's
    # columns are filled in per fold, by an encoder that never saw this campaign.
    engine = Engine(kb, model=Model.untrained(), encoder=None, use_calibration=False)
    samples = make_samples(engine, queries)
    return _Scored(campaign, engine, samples, campaign_pairs(engine, samples))


def _encoder_for(scored: Sequence[_Scored], seed: int) -> Encoder:
    return train_encoder([p for s in scored for p in s.pairs], seed=seed)


def _cross_fitted(scored: Sequence[_Scored], folds: int, seed: int) -> list[Sample]:
    """Every campaign's samples with encoder features from an encoder trained without it:
    campaigns are split into `folds` groups, and each group read by an encoder trained on
    the others, as the model will meet a campaign no encoder saw."""
    out: list[Sample] = []
    for k in range(min(folds, len(scored))):
        part = scored[k::folds]
        rest = [s for s in scored if s not in part]
        enc = _encoder_for(rest, seed=seed) if rest else None
        for s in part:
            out.extend(s.reencoded(enc) if enc else s.samples)
    return out


def train_shipped(
    campaigns: Sequence[Campaign],
    *,
    folds: int = 3,
    progress: Callable[[str], None] | None = None,
) -> tuple[Model, Encoder]:
    """The encoder and model the project ships: the encoder trained on every campaign, the
    model on features read by cross-fitted encoders (so its weights expect a campaign the
    encoder has not seen)."""
    scored = []
    for c in campaigns:
        if progress:
            progress(f"scoring {c.name}")
        scored.append(_score(c))
    if progress:
        progress("training the encoder")
    encoder = _encoder_for(scored, seed=0)
    if progress:
        progress(f"training the model on {folds} cross-fitted folds")
    model = fit_model(_cross_fitted(scored, folds, seed=0))
    return model, encoder


def leave_one_out(
    campaigns: Sequence[Campaign],
    *,
    train_only: Sequence[Campaign] = (),
    encoder: bool = True,
    folds: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure each campaign with a model fitted on all the others (and `train_only`).

    With `encoder`, the held-out campaign is read by an encoder trained on the others, and
    each training campaign by one trained without it (cross-fitted in `folds` groups), so
    no campaign's features come from an encoder that saw it, as on a new deployment."""
    if len(campaigns) + len(train_only) < 2:
        raise KbError("leave-one-out needs at least two campaigns (one to train on).")
    scored = []
    for c in [*campaigns, *train_only]:
        if progress:
            progress(f"scoring {c.name}")
        scored.append(_score(c))
    measured = scored[: len(campaigns)]
    rows: list[dict[str, Any]] = []
    for n, held in enumerate(measured):
        start = time.perf_counter()
        others = [s for s in scored if s is not held]
        if encoder:
            test = held.reencoded(_encoder_for(others, seed=n))
            train = _cross_fitted(others, folds, seed=n)
        else:
            test = held.samples
            train = [s for other in others for s in other.samples]
        model = fit_model(train)
        results = [held.engine.decide(s.scored, model) for s in test]
        queries = [s.query for s in test]
        row: dict[str, Any] = {"campaign": held.campaign.name}
        row.update(metrics(queries, results, [s.latency_ms for s in held.samples]))
        row["one_step_resolution"] = one_step_resolution(queries, results)
        row["answer_threshold"] = model.answer_threshold
        row["errors"] = error_classes(queries, results)
        rows.append(row)
        if progress:
            took = time.perf_counter() - start
            progress(f"{held.campaign.name}: trained and measured in {took:.1f} s")
    errors = {k: sum(r["errors"][k] for r in rows) for k in rows[0]["errors"]}
    return {
        "campaigns": rows,
        "errors": errors,
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
    lines.append(
        "what happened to the queries, all campaigns: "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report["errors"].items())
    )
    return "\n".join(lines)
