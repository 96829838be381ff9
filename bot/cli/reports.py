"""`helpdesk stats import`, `helpdesk report daily|weekly` and `helpdesk risk`: the T+1 subsidy
statistics in, the bureau's reports out, for audits and the bureau's own archive, and the
sentiment-risk verdict on messages."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from bot.cli.command import Command
from bot.config import load_settings
from bot.risk_cli import add_parser as add_risk_parser
from bot.risk_cli import run_risk

FORMATS = ("md", "html", "csv", "png", "json")
MAX_PERIODS = 400  # a little over a year of days: a typo in --to should not run for hours


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the stats, report and risk commands to the CLI."""
    stats = sub.add_parser("stats", help="T+1 subsidy statistics: import the platform's CSV")
    stats_sub = stats.add_subparsers(dest="stats_command", metavar="STATS_COMMAND")
    imp = stats_sub.add_parser(
        "import",
        help="load a daily export (one row per day and industry); nothing loads from a bad file",
        description="Load the platform's daily export: a CSV (UTF-8, with or without a BOM) "
        "with one row per day and industry, a header row first. Nothing loads from a file "
        "with any error; every error is listed with its line.",
        epilog=_columns_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path, help="the CSV file")
    report = sub.add_parser("report", help="write the daily or weekly report to files")
    kinds = report.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, what in (
        ("daily", "one day, 00:00-24:00 Beijing time"),
        ("weekly", "one week, Monday to Sunday, Beijing time"),
    ):
        one = kinds.add_parser(
            kind, help=f"the {kind} report: {what}", description=f"The {kind} report: {what}."
        )
        _report_options(one, kind)
    add_risk_parser(sub)


def _columns_help() -> str:
    from escalation.digests.stats import COLUMNS

    lines = ["columns (the Chinese header, or the English name; in any order):"]
    lines += [f"  {c.key:<20}{c.header}, e.g. {c.example}" for c in COLUMNS]
    lines.append("Money is in yuan; thousands separators are allowed.")
    return "\n".join(lines)


def _report_options(report: argparse.ArgumentParser, kind: str) -> None:
    day = "the day" if kind == "daily" else "any day of the week"
    report.add_argument(
        "--date", required=True, type=date.fromisoformat, help=f"YYYY-MM-DD: {day}"
    )
    report.add_argument(
        "--to", type=date.fromisoformat, help="YYYY-MM-DD: write every period up to this one"
    )
    report.add_argument("--format", choices=FORMATS, default="md")
    report.add_argument("--out", type=Path, default=Path("."), help="directory for the files")


def periods(kind: str, first: date, last: date | None) -> list[date]:
    """Return the first days of the periods a report command covers, oldest first."""
    step = timedelta(days=1 if kind == "daily" else 7)
    if kind == "weekly":
        first -= timedelta(days=first.weekday())
        if last is not None:
            last -= timedelta(days=last.weekday())
    last = first if last is None else last
    if last < first:
        raise ValueError(f"--to {last} is before --date {first}.")
    days = [first + step * n for n in range((last - first) // step + 1)]
    if len(days) > MAX_PERIODS:
        raise ValueError(f"{len(days)} periods asked for; write at most {MAX_PERIODS} at once.")
    return days


def progress(done: int, total: int, name: str, out: TextIO) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = width * done // total
    end = "\n" if done == total else ""
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name}{end}")
    out.flush()


async def run_stats(args: argparse.Namespace) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.digests.stats import import_stats, read_stats_file

    if args.stats_command != "import":
        print("helpdesk stats needs a command: import FILE.", file=sys.stderr)
        return 2
    rows = read_stats_file(args.file)  # StatsError names row and column; nothing is written
    settings = load_settings()
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        per_day = await import_stats(make_sessions(engine), rows, utc_now())
    finally:
        await engine.dispose()
    for day, count in per_day.items():
        print(f"{day}: {count} 个行业")
    print(f"已导入 {sum(per_day.values())} 行（{len(per_day)} 天）。")
    return 0


async def run_report(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.digests.chart import render_chart
    from escalation.digests.model import Period, daily_period, weekly_period
    from escalation.digests.render import render_csv, render_html, render_markdown, report_json
    from escalation.digests.report import build_report
    from escalation.incidents.plan import load_plan
    from knowledge.kb import load_kb

    try:
        days = periods(args.kind, args.date, args.to)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = load_settings()
    categories = {e.id: e.category for e in load_kb(settings.kb_path).entries}
    plan = load_plan(settings.plan_path)
    make: Callable[[date], Period] = daily_period if args.kind == "daily" else weekly_period
    args.out.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = make_engine(settings.database_url)
    written: list[Path] = []
    try:
        sessions = make_sessions(engine)
        for n, day in enumerate(days, 1):
            report = await build_report(sessions, make(day), categories=categories, plan=plan)
            path = args.out / f"{args.kind}-{day.isoformat()}.{args.format}"
            if args.format == "png":
                path.write_bytes(render_chart(report))
            elif args.format == "json":
                import json

                path.write_text(
                    json.dumps(report_json(report), ensure_ascii=False, indent=2), "utf-8"
                )
            else:
                render = {"md": render_markdown, "html": render_html, "csv": render_csv}
                # Excel opens a CSV as UTF-8 only when it starts with a byte-order mark.
                encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
                path.write_text(render[args.format](report), encoding)
            written.append(path)
            if len(days) > 1:
                progress(n, len(days), path.name, sys.stderr)
    finally:
        await engine.dispose()
    for path in written:
        print(path)
    return 0


def _stats(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return asyncio.run(run_stats(args))


def _report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return asyncio.run(run_report(args))


def _risk(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return run_risk(args)


COMMANDS: dict[str, Command] = {"stats": _stats, "report": _report, "risk": _risk}
