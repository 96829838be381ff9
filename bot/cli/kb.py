"""`helpdesk ask|eval|kb`: answering queries, measuring the engine, and the knowledge-base
tools (check, train, calibrate)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from bot.cli.command import EXIT_USAGE, Command
from bot.config import load_settings
from knowledge.kb import Audience, KbError, KnowledgeBase, load_kb


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ask, eval and kb commands to the CLI."""
    _add_ask_parser(sub)
    _add_eval_parser(sub)
    _add_kb_parser(sub)


def _add_ask_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ask = sub.add_parser(
        "ask",
        help="answer one query, or a file of queries",
        description="Answer a query. With --json prints "
        '{"id", "score", "answer", "suggestions"}; id is null when the engine abstains, '
        "suggestions are offered in the middle band.",
    )
    ask.add_argument("text", nargs="?", help="the query")
    ask.add_argument("--kb", type=Path, help="knowledge base YAML (default: the bundled one)")
    ask.add_argument(
        "--audience", choices=["consumer", "merchant"], default="consumer", help="who asks"
    )
    ask.add_argument("--json", action="store_true", help="print JSON (one object a line)")
    ask.add_argument("--batch", type=Path, help="JSON Lines queries file (docs/formats.md)")


def _add_eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser(
        "eval",
        help="measure the engine on labelled queries",
        description="Report in-scope top-1/top-3, abstention on unanswerable queries, "
        "false-answer rate, overall accuracy and latency. With --cv K the learned parts are "
        "re-fitted K times on folds split by entry, so no query is judged by a model that saw it.",
    )
    ev.add_argument("--kb", type=Path, help="knowledge base YAML")
    ev.add_argument("--queries", type=Path, help="labelled JSON Lines queries")
    ev.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="with --leave-one-out: a folder of campaigns, one sub-folder each with kb.yaml "
        "and queries.jsonl",
    )
    ev.add_argument(
        "--leave-one-out",
        action="store_true",
        help="measure each campaign with a model trained on all the others",
    )
    ev.add_argument(
        "--no-encoder",
        action="store_true",
        help="with --leave-one-out: without the learned encoder, to see what it adds",
    )
    ev.add_argument(
        "--campaign",
        nargs=2,
        action="append",
        default=[],
        metavar=("KB", "QUERIES"),
        help="with --leave-one-out: one more campaign, measured in turn like the corpus's",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation")
    ev.add_argument(
        "--model", type=Path, help="evaluate this model file instead of the shipped one"
    )
    ev.add_argument("--repeats", type=int, default=1, help="repeat the K-fold split R times")
    ev.add_argument(
        "--train-with",
        nargs=2,
        action="append",
        default=[],
        metavar=("KB", "QUERIES"),
        help="with --cv or --leave-one-out: another labelled set always added to training, "
        "never measured",
    )


def _add_kb_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser("kb", help="knowledge-base tools: check, train, calibrate")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    check = kb_sub.add_parser("check", help="validate a knowledge base and summarise it")
    check.add_argument("file", type=Path)
    train = kb_sub.add_parser(
        "train",
        help="fit the encoder, ranker and answer gate from labelled campaigns",
        description="Fit the learned parts from campaigns (a corpus folder and/or KB + queries "
        "pairs): the encoder on every campaign, the ranker and gate on features read by "
        "encoders that did not see the campaign. Writes the model and the encoder the project "
        "ships unless given --out / --encoder-out.",
    )
    train.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="a folder of campaigns, one sub-folder each with kb.yaml and queries.jsonl",
    )
    train.add_argument(
        "--set",
        nargs=2,
        action="append",
        default=[],
        metavar=("KB", "QUERIES"),
        dest="sets",
        help="a knowledge base and its labelled queries; repeat for several",
    )
    train.add_argument("--out", type=Path, help="where to write the model JSON")
    train.add_argument("--encoder-out", type=Path, help="where to write the encoder (.npz)")
    cal = kb_sub.add_parser(
        "calibrate",
        help="re-fit the answer threshold for a KB from 50-100 labelled queries",
        description="Choose the answer and suggestion thresholds for this KB from an "
        "operator's labelled queries and store them beside the KB file "
        "(<name>.calibration.json), where the engine picks them up.",
    )
    cal.add_argument("--kb", type=Path, required=True)
    cal.add_argument("--queries", type=Path, required=True)


def _load(path: Path | None) -> KnowledgeBase:
    return load_kb(path or load_settings().kb_path)


def _engine(kb: KnowledgeBase, model_path: Path | None = None) -> Any:
    from knowledge.encoder import Encoder, encoder_beside
    from knowledge.engine import Engine  # heavy: jieba and the model load only when needed
    from knowledge.model import Model

    if model_path is None:
        return Engine(kb)
    try:
        model = Model.load(model_path)
    except FileNotFoundError:
        raise KbError(f"{model_path}: model file not found.") from None
    except (ValueError, KeyError) as exc:
        raise KbError(f"{model_path}: not a model this version can use ({exc}).") from None
    beside = encoder_beside(model_path)
    if not beside.exists():
        return Engine(kb, model=model)
    try:
        encoder = Encoder.load(beside)
    except (ValueError, KeyError, OSError) as exc:
        raise KbError(f"{beside}: not an encoder this version can use ({exc}).") from None
    return Engine(kb, model=model, encoder=encoder)


def _ask(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from knowledge.evaluate import load_queries

    kb = _load(args.kb)
    engine = _engine(kb)
    if args.batch:
        for q in load_queries(args.batch):
            _print_result(engine.answer(q.query, q.audience), args.json, sys.stdout)
        return 0
    if args.text is None:
        parser.error("ask needs a TEXT or --batch FILE")
    _print_result(engine.answer(args.text, Audience(args.audience)), args.json, sys.stdout)
    return 0


def _print_result(result: Any, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        return
    if result.answer:
        out.write(f"[{result.entry_id or result.kind}] ({result.score:.2f})\n{result.answer}\n")
    elif result.suggestions:
        out.write(f"({result.score:.2f}) 您是想问: {', '.join(result.suggestions)}\n")
    else:
        out.write(f"({result.score:.2f}) abstain: no entry answers this; offer a person.\n")


def _eval(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from knowledge.evaluate import load_queries, metrics
    from knowledge.training import cross_validate, make_samples

    if args.leave_one_out:
        return _leave_one_out(args, parser)
    if args.corpus or args.campaign or args.no_encoder:
        parser.error("--corpus, --campaign and --no-encoder go with --leave-one-out")
    if args.kb is None or args.queries is None:
        parser.error("eval needs --kb FILE --queries FILE, or --corpus DIR --leave-one-out")
    kb = load_kb(args.kb)
    queries = load_queries(args.queries, kb)
    engine = _engine(kb, args.model)
    if args.cv:
        if args.cv < 2:
            raise KbError(f"--cv {args.cv}: K must be 2 or more.")
        samples = make_samples(engine, queries)
        extra = []
        for kb_path, q_path in args.train_with:
            other_kb = load_kb(kb_path)
            extra.extend(make_samples(_engine(other_kb), load_queries(q_path, other_kb)))
        report = cross_validate(engine, samples, k=args.cv, repeats=args.repeats, extra=extra)
    else:
        results, latencies = [], []
        for q in queries:
            start = time.perf_counter()
            results.append(engine.answer(q.query, q.audience))
            latencies.append((time.perf_counter() - start) * 1000)
        report = dict(metrics(queries, results, latencies))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")
    return 0


def _leave_one_out(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from knowledge.transfer import (
        Campaign,
        campaign_of,
        find_campaigns,
        format_report,
        leave_one_out,
    )

    if args.kb or args.queries or args.cv or args.model:
        parser.error("--leave-one-out trains its own models; drop --kb, --queries, --cv, --model")
    campaigns: list[Campaign] = []
    if args.corpus:
        campaigns, skipped = find_campaigns(args.corpus)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
    campaigns += [campaign_of(Path(k), Path(q)) for k, q in args.campaign]
    if not campaigns:
        parser.error("--leave-one-out needs --corpus DIR (or --campaign KB QUERIES)")
    names = [c.name for c in campaigns]
    if len(set(names)) != len(names):
        raise KbError(f"two campaigns share a name ({', '.join(names)}); rename a KB file.")
    train_only = [campaign_of(Path(k), Path(q)) for k, q in args.train_with]

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = leave_one_out(
        campaigns, train_only=train_only, encoder=not args.no_encoder, progress=progress
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


def _kb(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.kb_command == "check":
        kb = load_kb(args.file)
        summary = kb.summary()
        print(f"{args.file}: OK — {kb.name} (version {kb.version or '-'})")
        print(
            f"  {len(kb.entries)} entries, {len(kb.synonyms)} synonym groups, "
            f"{len(kb.words)} extra words"
        )
        print(
            "  by audience: "
            + ", ".join(f"{k} {v}" for k, v in sorted(summary["audience"].items()))
        )
        print("  by category:")
        for cat, count in summary["category"].most_common():
            print(f"    {cat or '(none)'}: {count}")
        return 0
    if args.kb_command == "train":
        return _train(args)
    if args.kb_command == "calibrate":
        return _calibrate(args)
    print(
        "helpdesk kb needs a command: check, train or calibrate (see helpdesk kb --help).",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _train(args: argparse.Namespace) -> int:
    from knowledge.encoder import ENCODER_PATH, encoder_beside
    from knowledge.model import MODEL_PATH
    from knowledge.transfer import Campaign, campaign_of, find_campaigns, train_shipped

    campaigns: list[Campaign] = []
    if args.corpus:
        campaigns, skipped = find_campaigns(args.corpus)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
    campaigns += [campaign_of(Path(k), Path(q)) for k, q in args.sets]
    if not campaigns:
        raise KbError("kb train needs campaigns: --corpus DIR and/or --set KB QUERIES.")
    if len(campaigns) == 1:
        print(
            "note: with one campaign no encoder can read it unseen, so the model gives the "
            "encoder's similarities no weight; train on two or more campaigns.",
            file=sys.stderr,
        )

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    model, encoder = train_shipped(campaigns, progress=progress)
    model = model.with_thresholds(
        model.answer_threshold,
        model.suggest_threshold,
        trained_on=[f"{c.kb_path.parent.name}/{c.kb_path.name}" for c in campaigns],
    )
    out = args.out or MODEL_PATH
    # A model written elsewhere keeps its encoder beside it, where --model finds it.
    encoder_out = args.encoder_out or (encoder_beside(out) if args.out else ENCODER_PATH)
    model.save(out)
    encoder.save(encoder_out)
    queries = model.meta.get("samples", 0)
    print(
        f"wrote {out}: {len(campaigns)} campaigns, {queries} queries, answer threshold "
        f"{model.answer_threshold}, suggest threshold {model.suggest_threshold}"
    )
    print(f"wrote {encoder_out}: {encoder.meta.get('pairs', 0)} training pairs")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from knowledge.engine import Engine, calibration_path
    from knowledge.evaluate import load_queries
    from knowledge.training import calibrate

    kb = load_kb(args.kb)
    queries = load_queries(args.queries, kb)
    if len(queries) < 20:
        raise KbError(
            f"{args.queries}: {len(queries)} queries are too few to calibrate on; "
            "label 50-100 real queries (docs/formats.md) and try again."
        )
    engine = Engine(kb, use_calibration=False)
    answer_t, suggest_t = calibrate(engine, queries)
    path = calibration_path(args.kb)
    payload = {
        "answer_threshold": answer_t,
        "suggest_threshold": suggest_t,
        "queries": len(queries),
        "queries_file": str(args.queries),
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}: answer threshold {answer_t}, suggest threshold {suggest_t}")
    return 0


COMMANDS: dict[str, Command] = {
    "ask": _ask,
    "eval": _eval,
    "kb": _kb,
}
