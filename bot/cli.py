"""The `helpdesk` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import ConfigError, load_settings
from bot.reports_cli import add_parsers as add_report_parsers
from bot.reports_cli import run_report, run_stats
from bot.risk_cli import add_parser as add_risk_parser
from bot.risk_cli import run_risk
from escalation.digests.stats import StatsError
from escalation.incidents.plan import PlanError
from escalation.privacy.scope import PrivacyError
from escalation.tickets.calendar import CalendarError
from escalation.tickets.sla import SlaError
from knowledge.kb import Audience, KbError, KnowledgeBase, load_kb

EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="helpdesk",
        description="Helpdesk for consumption-subsidy campaigns (专项促消费活动): answers "
        "consumers and merchants from a Chinese knowledge base, or says it cannot.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

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
    ask.add_argument("--batch", type=Path, help="JSON Lines queries file (formats.md)")

    ev = sub.add_parser(
        "eval",
        help="measure the engine on labelled queries",
        description="Report in-scope top-1/top-3, abstention on unanswerable queries, "
        "false-answer rate, overall accuracy and latency. With --cv K the learned parts are "
        "re-fitted K times on folds split by entry, so no query is judged by a model that saw it.",
    )
    ev.add_argument("--kb", type=Path, required=True, help="knowledge base YAML")
    ev.add_argument("--queries", type=Path, required=True, help="labelled JSON Lines queries")
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
        help="with --cv: another labelled set always added to the training folds",
    )

    kb = sub.add_parser("kb", help="knowledge-base tools: check, train, calibrate")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    check = kb_sub.add_parser("check", help="validate a knowledge base and summarise it")
    check.add_argument("file", type=Path)
    train = kb_sub.add_parser(
        "train",
        help="fit the ranker and answer gate from labelled query files",
        description="Fit the learned weights from one or more (KB, queries) pairs and write "
        "them (default: the model the project ships).",
    )
    train.add_argument(
        "--set",
        nargs=2,
        action="append",
        required=True,
        metavar=("KB", "QUERIES"),
        dest="sets",
        help="a knowledge base and its labelled queries; repeat for several",
    )
    train.add_argument("--out", type=Path, help="where to write the model JSON")
    cal = kb_sub.add_parser(
        "calibrate",
        help="re-fit the answer threshold for a KB from 50-100 labelled queries",
        description="Choose the answer and suggestion thresholds for this KB from an "
        "operator's labelled queries and store them beside the KB file "
        "(<name>.calibration.json), where the engine picks them up.",
    )
    cal.add_argument("--kb", type=Path, required=True)
    cal.add_argument("--queries", type=Path, required=True)

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
    add_report_parsers(sub)
    add_risk_parser(sub)
    _add_data_parser(sub)
    return p


def _add_data_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "serve":
            return _serve()
        if args.command == "db":
            return _db(args)
        if args.command == "config":
            for key, value in load_settings().masked().items():
                print(f"{key}={'' if value is None else value}")
            return 0
        if args.command == "sla":
            return _sla(args)
        if args.command == "agents":
            return asyncio.run(_agents(args))
        if args.command == "chat":
            return _chat(args)
        if args.command == "ask":
            return _ask(args, parser)
        if args.command == "eval":
            return _eval(args)
        if args.command == "kb":
            return _kb(args, parser)
        if args.command == "plan":
            return _plan(args)
        if args.command == "stats":
            return asyncio.run(run_stats(args))
        if args.command == "report":
            return asyncio.run(run_report(args))
        if args.command == "risk":
            return run_risk(args)
        if args.command == "data":
            return _data(args)
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
    parser.print_help()
    return EXIT_USAGE


def _load(path: Path | None) -> KnowledgeBase:
    return load_kb(path or load_settings().kb_path)


def _engine(kb: KnowledgeBase, model_path: Path | None = None) -> Any:
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
    return Engine(kb, model=model)


def _serve() -> int:
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


def _chat(args: argparse.Namespace) -> int:
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


async def _agents(args: argparse.Namespace) -> int:
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


COUNT_LABELS = {  # key: (what, done to it)
    "messages": ("messages", "deleted"),
    "feedback": ("feedback", "deleted"),
    "handoffs": ("hand-offs", "deleted"),
    "outbox_deleted": ("outbox copies", "deleted"),
    "outbox_cleared": ("outbox copies", "cleared"),
    "tickets": ("tickets", "anonymised"),
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


def _data(args: argparse.Namespace) -> int:
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
        return asyncio.run(_data_purge(settings.database_url, days, args.dry_run))
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
    return asyncio.run(_data_erase(settings.database_url, subject))


def _beijing(at: datetime) -> str:
    return f"{at.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} Beijing time"


async def _data_purge(url: str, days: int, dry_run: bool) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.privacy.purge import purge

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        report = await purge(
            make_sessions(engine), days, utc_now(), dry_run=dry_run, actor=_operator()
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


async def _data_erase(url: str, subject: str) -> int:
    from bot.clock import utc_now
    from bot.db import make_engine, make_sessions, upgrade
    from escalation.privacy.subject import ErasureRefused, erase_user

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:  # UnknownSubject, like any PrivacyError, reaches main: exit 2
        erased = await erase_user(make_sessions(engine), subject, utc_now(), _operator())
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


def _sla(args: argparse.Namespace) -> int:
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


def _db(args: argparse.Namespace) -> int:
    from bot.db import upgrade

    if args.db_command != "upgrade":
        print("helpdesk db needs a command: upgrade.", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    upgrade(settings.database_url)
    print(f"database at {settings.database_url.split('@')[-1]} is up to date.")
    return 0


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


def _eval(args: argparse.Namespace) -> int:
    from knowledge.evaluate import load_queries, metrics
    from knowledge.training import cross_validate, make_samples

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


def _plan(args: argparse.Namespace) -> int:
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


def _train(args: argparse.Namespace) -> int:
    from knowledge.engine import Engine
    from knowledge.evaluate import load_queries
    from knowledge.model import MODEL_PATH, Model
    from knowledge.training import fit_model, make_samples

    samples = []
    sources = []
    for kb_path, q_path in args.sets:
        kb = load_kb(kb_path)
        # Training needs features, not the old weights (which may not fit new features).
        engine = Engine(kb, model=Model.untrained(), use_calibration=False)
        samples.extend(make_samples(engine, load_queries(q_path, kb)))
        sources.append(f"{Path(kb_path).name} + {Path(q_path).name}")
    model = fit_model(samples)
    model = model.with_thresholds(
        model.answer_threshold, model.suggest_threshold, trained_on=sources
    )
    out = args.out or MODEL_PATH
    model.save(out)
    print(
        f"wrote {out}: {len(samples)} queries, answer threshold {model.answer_threshold}, "
        f"suggest threshold {model.suggest_threshold}"
    )
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
            "label 50-100 real queries (formats.md) and try again."
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
