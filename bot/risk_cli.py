"""`helpdesk risk`: the sentiment-risk verdict on a message, a file of them, or a labelled
file measured (docs/formats.md, risk files)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from escalation.risk import RiskResult

EXIT_USAGE = 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the risk command to the CLI."""
    risk = sub.add_parser(
        "risk",
        help="score the sentiment risk (舆情) of a message, a file, or measure on labels",
        description='Print {"level", "score", "tags"} for TEXT; with --batch one such object '
        "a line for a risk file (docs/formats.md) (labels ignored); with --eval the accuracy, "
        "macro-F1 over the four levels, recall and precision of high and tag micro-F1.",
    )
    risk.add_argument("text", nargs="?", help="the message")
    risk.add_argument("--json", action="store_true", help="print JSON")
    group = risk.add_mutually_exclusive_group()
    group.add_argument("--batch", type=Path, metavar="FILE", help="JSON Lines messages")
    group.add_argument("--eval", type=Path, metavar="FILE", help="labelled JSON Lines messages")


def run_risk(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    from escalation.risk import (
        RiskFileError,
        evaluate,
        load_scorer,
        read_labelled,
    )

    out = out or sys.stdout
    err = err or sys.stderr
    given = [x for x in (args.text, args.batch, args.eval) if x is not None]
    if len(given) != 1:
        print(
            "error: give one of TEXT, --batch FILE or --eval FILE "
            '(e.g. helpdesk risk --json "再不退款我就去12345投诉").',
            file=err,
        )
        return EXIT_USAGE
    scorer = load_scorer()
    try:
        if args.eval is not None:
            rows = read_labelled(args.eval)
            if not rows:
                print(f"error: {args.eval}: no labelled messages in the file.", file=err)
                return EXIT_USAGE
            metrics = evaluate(rows, scorer.score)
            if args.json:
                print(json.dumps(metrics), file=out)
            else:
                for key, value in metrics.items():
                    print(f"{key:15} {value:.3f}", file=out)
                print(f"{'messages':15} {len(rows)}", file=out)
            return 0
        if args.batch is not None:
            for row in read_labelled(args.batch, need_labels=False):
                print(_show(scorer.score(row.text), args.json), file=out)
            return 0
    except RiskFileError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    print(_show(scorer.score(args.text), args.json), file=out)
    return 0


def _show(result: RiskResult, as_json: bool) -> str:
    """One verdict: the JSON object, or a line in Chinese for people."""
    from escalation.risk import LEVEL_NAMES, TAG_NAMES

    if as_json:
        return json.dumps(result.as_json(), ensure_ascii=False)
    shown = "、".join(TAG_NAMES[t] for t in result.tags) or "无"
    return f"{LEVEL_NAMES[result.level]}风险 ({result.level}, {result.score:.2f})  标签：{shown}"
