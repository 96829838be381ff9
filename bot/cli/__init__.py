"""The `helpdesk` command line: each module of this package adds its group of commands and
handles them; `main` parses and dispatches."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.cli import data, kb, ops, plan, reports
from bot.cli.command import EXIT_USAGE, Command
from bot.config import ConfigError
from escalation.digests.stats import StatsError
from escalation.incidents.plan import PlanError
from escalation.privacy.scope import PrivacyError
from escalation.tickets.calendar import CalendarError
from escalation.tickets.sla import SlaError
from knowledge.kb import KbError

EXIT_PIPE = 141  # what a shell reports for a command stopped by a closed pipe (128 + SIGPIPE)
# In the order `helpdesk --help` lists them.
GROUPS = (ops, kb, plan, reports, data)
COMMANDS: dict[str, Command] = {
    name: handler for group in GROUPS for name, handler in group.COMMANDS.items()
}


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="helpdesk",
        description="Helpdesk for consumption-subsidy campaigns (专项促消费活动): answers "
        "consumers and merchants from a Chinese knowledge base, or says it cannot.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler = COMMANDS.get(args.command)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = handler(args, parser)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
    except BrokenPipeError:
        # The reader went away (`helpdesk ... | head`): stop quietly, as other tools do,
        # and keep Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except (
        KbError,
        ConfigError,
        CalendarError,
        SlaError,
        PlanError,
        StatsError,
        PrivacyError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
