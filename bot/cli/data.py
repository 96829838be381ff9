"""`helpdesk data purge|export|erase`: retention and the data subject's rights (PIPL)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.command import EXIT_USAGE, Command
from bot.config import load_settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the data command to the CLI."""
    data = sub.add_parser(
        "data",
        help="retention and the data subject's rights: purge, export, erase",
        description="Personal data in the record (PIPL): purge what is past the retention "
        "period, export everything stored about one person, or erase it. Tickets are "
        "anonymised, not deleted, so statistics and reports keep their numbers.",
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    purge = data_sub.add_parser(
        "purge",
        help="delete conversations and anonymise closed tickets older than the retention",
        description="Delete messages, feedback and hand-offs older than DAYS and anonymise "
        "tickets closed before then; users with open tickets keep everything. Prints the "
        "counts; writes a privacy_audit row.",
    )
    purge.add_argument(
        "--older-than",
        type=int,
        metavar="DAYS",
        help="the cut-off in days (default: HELPDESK_RETENTION_DAYS)",
    )
    purge.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    export = data_sub.add_parser(
        "export",
        help="everything stored about one person, as JSON",
        description="Write the person's profile, messages, feedback, hand-offs and tickets "
        "with their threads as UTF-8 JSON.",
    )
    export.add_argument(
        "--user", required=True, help="telegram:5512, web:SESSION, or a bare Telegram id"
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    erase = data_sub.add_parser(
        "erase",
        help="delete one person's record and anonymise their tickets",
        description="Delete the person's messages, feedback, hand-offs and chat state, and "
        "anonymise their tickets (statistics kept); refused while a ticket of theirs is "
        "open. Asks first, unless --yes.",
    )
    erase.add_argument(
        "--user", required=True, help="telegram:5512, web:SESSION, or a bare Telegram id"
    )
    erase.add_argument("--yes", action="store_true", help="do not ask (scripts, CI)")


COUNT_LABELS = {  # key: (what, done to it)
    "messages": ("messages", "deleted"),
    "feedback": ("feedback", "deleted"),
    "handoffs": ("hand-offs", "deleted"),
    "outbox_deleted": ("outbox copies", "deleted"),
    "outbox_cleared": ("outbox copies", "cleared"),
    "tickets": ("tickets", "anonymised"),
    "files": ("attached files", "deleted"),
    "users_deleted": ("users", "deleted"),
    "users_anonymised": ("users", "anonymised"),
    "states_cleared": ("chat states", "cleared"),
}


def _operator() -> str:
    """Name who ran a command in the privacy audit: the OS account, when there is one."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no such user in a bare container
        return "cli"


def _print_counts(counts: dict[str, int], *, would: bool = False) -> None:
    for key, (what, done) in COUNT_LABELS.items():
        print(f"  {what} {'would be ' if would else ''}{done}: {counts.get(key, 0)}")


def _data(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from escalation.privacy.subject import subject_key

    if args.data_command not in {"purge", "export", "erase"}:
        print("helpdesk data needs a command: purge, export or erase.", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    if args.data_command == "purge":
        days = settings.retention_days if args.older_than is None else args.older_than
        if days <= 0:
            print(
                "error: HELPDESK_RETENTION_DAYS is 0 (keep forever), so nothing is past it; "
                "give --older-than DAYS to purge anyway.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return asyncio.run(
            _data_purge(settings.database_url, days, args.dry_run, settings.attachments_folder)
        )
    subject = subject_key(args.user)  # a malformed identity is refused before anything
    if args.data_command == "export":
        from escalation.privacy.subject import export_counts

        export = asyncio.run(_data_export(settings.database_url, subject))
        text = json.dumps(export, ensure_ascii=False, indent=2) + "\n"
        summary = ", ".join(f"{n} {key}" for key, n in export_counts(export).items())
        if args.out is None:
            sys.stdout.write(text)
            print(f"{subject}: {summary}", file=sys.stderr)
        else:
            args.out.write_text(text, encoding="utf-8")
            print(f"wrote {args.out}: {subject}: {summary}")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                f"error: erasing {subject} cannot be undone; add --yes to confirm "
                "(there is no terminal to ask on).",
                file=sys.stderr,
            )
            return EXIT_USAGE
        answer = input(f"Erase everything stored about {subject}? It cannot be undone. [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing erased.")
            return 1
    return asyncio.run(_data_erase(settings.database_url, subject, settings.attachments_folder))


def _beijing(at: datetime) -> str:
    return f"{at.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} Beijing time"


async def _data_purge(url: str, days: int, dry_run: bool, folder: Path) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.privacy.purge import purge
    from storage.attachments import AttachmentFolder

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        report = await purge(
            make_sessions(engine),
            days,
            utc_now(),
            dry_run=dry_run,
            actor=_operator(),
            files=AttachmentFolder(folder),
        )
    finally:
        await engine.dispose()
    print(
        f"{'dry run: ' if dry_run else ''}data older than {days} days "
        f"(before {_beijing(report.cutoff)})"
    )
    _print_counts(report.counts.as_dict(), would=dry_run)
    if dry_run:
        print("nothing was changed.")
    return 0


async def _data_export(url: str, subject: str) -> dict[str, Any]:
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.privacy.subject import export_user

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        return await export_user(make_sessions(engine), subject)  # UnknownSubject: exit 2
    finally:
        await engine.dispose()


async def _data_erase(url: str, subject: str, folder: Path) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.privacy.subject import ErasureRefused, erase_user
    from storage.attachments import AttachmentFolder

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:  # UnknownSubject, like any PrivacyError, reaches main: exit 2
        erased = await erase_user(
            make_sessions(engine), subject, utc_now(), _operator(), AttachmentFolder(folder)
        )
    except ErasureRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if erased.already_erased_at is not None:
        print(
            f"{subject} was already erased on {_beijing(erased.already_erased_at)}; nothing to do."
        )
        return 0
    print(f"erased {subject}:")
    _print_counts(erased.counts.as_dict())
    return 0


COMMANDS: dict[str, Command] = {"data": _data}
