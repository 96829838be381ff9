"""`helpdesk plan check`: validate an emergency plan (应急预案) and summarise it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.command import EXIT_USAGE, Command
from escalation.incidents.plan import PlanError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the plan command to the CLI."""
    plan = sub.add_parser("plan", help="emergency-plan (应急预案) tools: check")
    plan_sub = plan.add_subparsers(dest="plan_command", metavar="PLAN_COMMAND")
    plan_check = plan_sub.add_parser(
        "check",
        help="validate an emergency plan and summarise it",
        description="Validate an emergency-plan YAML file (levels, escalation chains, "
        "triggers, report templates) and print its levels, triggers and chains; exit 2 "
        "naming the file and field when it cannot be used.",
    )
    plan_check.add_argument("file", type=Path)


def _plan(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from escalation.incidents.plan import LEVEL_KEYS, load_plan, short_duration

    if args.plan_command != "check":
        print("helpdesk plan needs a command: check.", file=sys.stderr)
        return EXIT_USAGE
    try:
        plan = load_plan(args.file)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{args.file}: OK — {len(plan.levels)} levels, {len(plan.triggers)} triggers, "
        f"keywords for {len(plan.keywords)} categories, chats: {', '.join(plan.chats)}"
    )
    for key in LEVEL_KEYS:
        level = plan.levels[key]
        *steps, last = level.chain
        chain = " → ".join([f"{s.notify} {short_duration(s.wait)}" for s in steps] + [last.notify])
        again = (
            f"repeat {level.repeat}× after {short_duration(last.wait)}"
            if level.repeat
            else "no repeat"
        )
        print(
            f"  {key:<3} {level.label} {level.colour}: acknowledge "
            f"{short_duration(level.acknowledge)}, 初报 {short_duration(level.first_report)}"
            f" ({'automatic' if level.auto_report else 'supervisor approves'}), 续报 every "
            f"{short_duration(level.follow_up)}, 终报 {short_duration(level.final_report)}, "
            f"reminder {short_duration(level.reminder)}"
        )
        print(f"      chain: {chain}; {again}")
    print("  triggers:")
    for t in plan.triggers:
        if t.merchant:
            what = "tickets about one merchant"
        else:
            noun = "ticket" if t.count == 1 else "tickets"
            what = f"{noun} of {t.category}" if t.category else noun.replace("ticket", "message")
            if t.risk:
                what = f"high-risk {what} tagged {'/'.join(t.risk)}"
            if t.phrases:
                what += f" saying {'/'.join(t.phrases[:3])}" + ("/…" if len(t.phrases) > 3 else "")
        print(
            f"    {t.name or '(unnamed)'}: {t.count} {what} within "
            f"{short_duration(t.within)} → {plan.levels[t.level].label}"
        )
    return 0


COMMANDS: dict[str, Command] = {"plan": _plan}
