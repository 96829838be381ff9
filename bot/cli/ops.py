"""`helpdesk serve|chat|db|config|agents|sla`: running the helpdesk and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.command import EXIT_USAGE, Command
from bot.config import load_settings
from knowledge.kb import KbError, load_kb


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the serve, chat, db, config, agents and sla commands to the CLI."""
    sub.add_parser(
        "serve",
        help="run the web chat (and Telegram when HELPDESK_TELEGRAM_TOKEN is set)",
        description="Serve the web chat at http://HELPDESK_WEB_HOST:HELPDESK_WEB_PORT/ and, "
        "with a token, the Telegram bot (polling, or webhook mode with HELPDESK_WEBHOOK_URL). "
        "Migrates the database first.",
    )
    chat = sub.add_parser("chat", help="talk to the bot in this terminal (stored like any chat)")
    chat.add_argument("--kb", type=Path, help="knowledge base YAML (default: HELPDESK_KB_PATH)")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply the migrations to HELPDESK_DATABASE_URL")
    sub.add_parser("config", help="print the effective settings, secrets masked")
    agents = sub.add_parser("agents", help="register the people who work tickets")
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="AGENTS_COMMAND")
    add = agents_sub.add_parser("add", help="register (or update) an agent or supervisor")
    add.add_argument("telegram_user_id", type=int, help="their numeric Telegram user id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    agents_sub.add_parser("list", help="list everyone registered")
    rm = agents_sub.add_parser("remove", help="unregister someone")
    rm.add_argument("telegram_user_id", type=int)
    tok = agents_sub.add_parser(
        "token", help="print a new web console sign-in token for someone (the old one stops)"
    )
    tok.add_argument("telegram_user_id", type=int)
    sla = sub.add_parser("sla", help="SLA tools for operators")
    sla_sub = sla.add_subparsers(dest="sla_command", metavar="SLA_COMMAND")
    due = sla_sub.add_parser(
        "due",
        help="when working time runs out: start + N working minutes",
        description="Print the due time (ISO 8601 with offset) of a clock started at --from "
        "with --working-minutes of working time, on the calendar's weekly hours, public "
        "holidays and make-up working days (调休).",
    )
    due.add_argument("--from", dest="start", required=True, help="e.g. 2025-09-30T17:00+08:00")
    due.add_argument("--working-minutes", type=float, required=True)
    due.add_argument("--hours", help='Monday–Friday hours, e.g. "09:00-12:00,13:30-18:00"')
    due.add_argument("--calendar", type=Path, help="calendar YAML (default: the shipped one)")


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from bot.app import policy_from
    from bot.monitoring import init_sentry, setup_logging
    from bot.serve import serve_forever
    from escalation.incidents.plan import load_plan

    settings = load_settings()
    load_kb(settings.kb_path)  # a broken KB stops start-up with file/entry/field
    policy_from(settings)  # so does a broken SLA policy or calendar
    load_plan(settings.plan_path)  # and a broken emergency plan
    setup_logging(settings.log_level)
    init_sentry(settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None)
    asyncio.run(serve_forever(settings))
    return 0


def _chat(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from bot.app import build_runtime
    from bot.terminal import run_terminal_chat

    overrides = {"kb_path": args.kb} if args.kb else {}
    settings = load_settings(**overrides)
    load_kb(settings.kb_path)

    async def run() -> int:
        runtime = await build_runtime(settings)
        try:
            return await run_terminal_chat(
                runtime.core, sys.stdin, sys.stdout, clock=runtime.clock
            )
        finally:
            await runtime.close()

    return asyncio.run(run())


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    for key, value in load_settings().masked().items():
        print(f"{key}={'' if value is None else value}")
    return 0


def _agents(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return asyncio.run(_run_agents(args))


async def _run_agents(args: argparse.Namespace) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.agents import AgentStore, issue_console_token

    if args.agents_command not in {"add", "list", "remove", "token"}:
        print("helpdesk agents needs a command: add, list, remove or token.", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        agents = AgentStore(make_sessions(engine))
        if args.agents_command == "add":
            agent = await agents.add(args.telegram_user_id, args.name, args.role, utc_now())
            print(
                f"registered {agent.name} ({agent.role}), Telegram user {agent.telegram_user_id}"
            )
        elif args.agents_command == "list":
            for a in await agents.all():
                print(f"{a.telegram_user_id}\t{a.role}\t{a.name}")
        elif args.agents_command == "token":
            token = await issue_console_token(make_sessions(engine), args.telegram_user_id)
            if token is None:
                print(
                    f"Telegram user {args.telegram_user_id} is not registered: "
                    "run 'helpdesk agents add' first.",
                    file=sys.stderr,
                )
                return 1
            print(token)
            print("sign in at /console with this token; keep it secret.", file=sys.stderr)
        elif not await agents.remove(args.telegram_user_id):
            print(f"Telegram user {args.telegram_user_id} is not registered.", file=sys.stderr)
            return 1
        else:
            print(f"removed Telegram user {args.telegram_user_id}")
    finally:
        await engine.dispose()
    return 0


def _sla(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from datetime import datetime, timedelta

    from escalation.tickets.calendar import DEFAULT_CALENDAR, load_calendar, parse_periods

    if args.sla_command != "due":
        print("helpdesk sla needs a command: due.", file=sys.stderr)
        return EXIT_USAGE
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise KbError(
            f"--from {args.start!r}: use ISO 8601, e.g. 2025-09-30T17:00+08:00."
        ) from None
    if start.tzinfo is None:
        raise KbError(f"--from {args.start!r}: add the offset, e.g. +08:00.")
    if args.working_minutes < 0:
        raise KbError("--working-minutes must be 0 or more.")
    calendar = load_calendar(args.calendar or DEFAULT_CALENDAR)
    if args.hours:
        calendar = calendar.with_hours(parse_periods(args.hours, "--hours"))
    due_at = calendar.add(start, timedelta(minutes=args.working_minutes))
    print(due_at.astimezone(calendar.tz).isoformat())
    return 0


def _db(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from bot.db import upgrade

    if args.db_command != "upgrade":
        print("helpdesk db needs a command: upgrade.", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    upgrade(settings.database_url)
    print(f"database at {settings.database_url.split('@')[-1]} is up to date.")
    return 0


COMMANDS: dict[str, Command] = {
    "serve": _serve,
    "chat": _chat,
    "db": _db,
    "config": _config,
    "agents": _agents,
    "sla": _sla,
}
