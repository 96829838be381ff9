"""Ticket benchmark: opening tickets, then the SLA sweep and the agents' queue on 100,000
open tickets.

    python -m benchmarks.tickets [--create 2000] [--tickets 100000] [--workers 8]
                                 [--postgres URL] [--explain]

1. Opens `--create` tickets through `Desk.open` (ticket, thread, audit, two SLA clocks and
   the agents' card in one transaction) from `--workers` concurrent tasks: tickets/s.
2. Bulk-inserts open tickets (SQLAlchemy Core, batches of `--batch`) until `--tickets` are
   open, each with a first-response and a resolution clock. Deadlines are drawn, not
   computed, so that about 1 % of the clocks are due for a warning or a breach at NOW and
   the rest fall in the coming days. PostgreSQL is ANALYZEd afterwards, as autovacuum would;
   SQLite is left as the service leaves it (it never runs ANALYZE).
3. Times `desk.views.queue(NOW, limit=50)` (median of 3), the first
   `desk.sla.sweep(NOW, batch=500)` with the peak RSS growth over it, the sweeps until one
   returns 0 (the drain), and the idle sweep (median of 3; nothing due: what runs every
   30 s), and checks that the idle sweep's plan uses ix_ticket_clock_open_warn. Then the
   notices are undone and one more 500-clock sweep runs under tracemalloc (its Python heap
   peak, "traced").
4. Opens `--late` more tickets on the full database: opening counts the day's tickets,
   which should not get slower as the table grows.

`--explain` prints the plans (PostgreSQL: EXPLAIN ANALYZE; SQLite: EXPLAIN QUERY PLAN and
the time of one run) of the idle sweep's and the queue's queries, and of the count that
numbers a new ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import policy_from
from bot.config import Settings
from bot.db import create_database, drop_database, make_engine, make_sessions, upgrade
from bot.telegram_wire import private_chat
from escalation.agents import AgentStore
from escalation.routing import Routes
from escalation.tickets.desk import Desk
from escalation.tickets.rules import (
    DEFAULT_CATEGORIES,
    TICKET_TYPES,
    priority_for,
    reference_for,
)
from escalation.tickets.sla import SlaPolicy
from escalation.tickets.store import TicketStore
from escalation.tickets.views import OPEN_STATUSES
from storage.conversation import ConversationStore, Exchange
from storage.models import Outbox, SlaEvent, Ticket, TicketClock, TicketStatus, User

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai: working time
OPENED = NOW - timedelta(minutes=10)  # when the timed tickets are opened: none due at NOW
FILL_DAYS = 60  # filled tickets were opened over the 60 days before NOW's day
DUE_SHARE = 0.01  # of the filled clocks, due for a warning or a breach at NOW
AGENTS_CHAT = -100123
SUPERVISORS_CHAT = -100456
SWEEP_INDEX = "ix_ticket_clock_open_warn"
SUMMARIES = (
    "门店不让用补贴，说活动已经结束了",
    "下单时领了补贴，付款后没有减免",
    "退货后补贴一直没退回来",
    "资格核验一直失败，身份证号是对的",
    "小程序打不开，提示系统繁忙",
    "商品能效等级和页面写的不一样",
    "我的手机号被别人用来领了补贴",
    "想问以旧换新的补贴怎么领",
)

T = TypeVar("T")


class RetryCounter(logging.Handler):
    """Counts the store's "database unavailable; retrying" warnings instead of printing."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:  # noqa: ARG002 (logging's signature)
        self.count += 1


RETRIES = RetryCounter()


@dataclass
class Db:
    name: str
    url: str
    engine: AsyncEngine
    store: ConversationStore
    desk: Desk
    out: dict[str, Any] = field(default_factory=dict)


async def build(name: str, url: str) -> Db:
    """Migrate and wire the stores as bot.app.build_runtime does (without the KB engine)."""
    settings = Settings(
        database_url=url,
        agent_chat_id=AGENTS_CHAT,
        supervisor_chat_id=SUPERVISORS_CHAT,
        _env_file=None,  # type: ignore[call-arg]
    )
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    desk = Desk(
        sessions,
        TicketStore(sessions, TZ),
        AgentStore(sessions),
        policy_from(settings),
        Routes(settings.agent_chat_id, settings.supervisor_chat_id),
        customer_chat=private_chat,
    )
    return Db(name, url, engine, ConversationStore(sessions), desk)


# ---------------------------------------------------------------------- measuring
async def timed(call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    start = time.perf_counter()
    result = await call()
    return time.perf_counter() - start, result


def _status_mib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Yield a list that gets the peak RSS growth (MiB) over the block.

    On Linux the high-water mark is reset first (/proc/self/clear_refs), so an earlier
    peak (the bulk fill) does not hide this one; elsewhere ru_maxrss is compared."""
    out: list[float] = []
    try:
        Path("/proc/self/clear_refs").write_text("5")
        hwm = True
    except OSError:
        hwm = False
    if hwm:
        before = _status_mib("VmRSS")
        yield out
        out.append(max(0.0, _status_mib("VmHWM") - before))
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        yield out
        out.append(max(0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before))


@contextmanager
def captured_selects(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SELECT statements (with their parameters) run on `engine` in the block."""
    seen: list[tuple[str, Any]] = []

    def listen(  # SQLAlchemy's before_cursor_execute signature
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)


async def explain(engine: AsyncEngine, statement: str, params: Any, analyze: bool) -> str:
    if engine.dialect.name == "sqlite":
        prefix = "EXPLAIN QUERY PLAN "
    else:
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
        lines = [str(row[-1]) for row in rows]
        if analyze and engine.dialect.name == "sqlite":  # no EXPLAIN ANALYZE: time a run
            start = time.perf_counter()
            got = len((await conn.exec_driver_sql(statement, params)).all())
            lines.append(f"(ran in {(time.perf_counter() - start) * 1000:.1f} ms, {got} rows)")
        await conn.rollback()  # EXPLAIN ANALYZE of FOR UPDATE takes locks: let them go
    return "\n".join(lines)


# ---------------------------------------------------------------------- 1. opening
def _fields(rng: random.Random, i: int, sender: str) -> dict[str, Any]:
    kind = rng.choice(TICKET_TYPES)
    category = rng.choice(DEFAULT_CATEGORIES)
    return {
        "source": f"web:bench-{i}",  # as handlers.core passes the channel message id
        "sender": sender,
        "channel": "web",
        "ticket_type": kind,
        "category": category,
        "summary": rng.choice(SUMMARIES),
        "order_no": f"SO{rng.randrange(10**9):09d}" if rng.random() < 0.5 else None,
        "merchant_name": "某某电器城" if rng.random() < 0.3 else None,
        "contact_phone": f"138{rng.randrange(10**8):08d}" if rng.random() < 0.2 else None,
    }


async def make_senders(db: Db, count: int) -> list[str]:
    """Users must exist (have written) before they get a ticket."""
    senders = [f"web:bench-user-{i}" for i in range(count)]
    for sender in senders:
        await db.store.record(
            Exchange("web", sender, OPENED, "我要投诉商家", "question", None, "consumer", "{}", [])
        )
    return senders


async def open_tickets(
    db: Db, senders: list[str], first: int, count: int, workers: int
) -> tuple[float, list[str]]:
    """Open `count` tickets from `workers` concurrent tasks; return (seconds, errors)."""
    rng = random.Random(first)
    numbers = iter(range(first, first + count))  # shared: each task takes the next one
    errors: list[str] = []

    async def worker() -> None:
        for i in numbers:
            try:
                await db.desk.open(at=OPENED, **_fields(rng, i, senders[i % len(senders)]))
            except Exception as exc:  # counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start, errors


# ---------------------------------------------------------------------- 2. filling
class Clocks:
    """Drawn deadlines: ~DUE_SHARE of the clocks due at NOW, the rest in the future."""

    def __init__(self, policy: SlaPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng
        self.due = 0
        self._within: dict[tuple[str, str, str], tuple[int, int]] = {}

    def within(self, kind: str, category: str, priority: str) -> tuple[int, int]:
        key = (kind, category, priority)
        if key not in self._within:
            got = self.policy.targets(kind, category, priority).within
            self._within[key] = (
                int(got["first_response"].total_seconds()),
                int(got["resolution"].total_seconds()),
            )
        return self._within[key]

    def row(self, ticket_id: int, clock: str, started: datetime, within_s: int) -> dict[str, Any]:
        r = self.rng
        minute = timedelta(minutes=1)
        warned = False
        if r.random() < DUE_SHARE:
            self.due += 1
            if r.random() < 0.5:  # past its warning, not yet due
                warn_at = NOW - minute * r.uniform(1, 120)
                due_at = NOW + minute * r.uniform(1, 120)
            else:  # past its deadline, warned before or not
                due_at = NOW - minute * r.uniform(1, 3 * 1440)
                warn_at = due_at - minute * r.uniform(15, 120)
                warned = r.random() < 0.5
        else:
            days = 3 if clock == "first_response" else 30
            due_at = NOW + minute * r.uniform(5, days * 1440)
            warn_at = NOW + (due_at - NOW) * 0.8
        return {
            "ticket_id": ticket_id,
            "clock": clock,
            "cycle": 0,
            "started_at": started,
            "within_s": within_s,
            "pauses": "[]",
            "paused_since": None,
            "warn_at": warn_at,
            "due_at": due_at,
            "warned": warned,
            "breached": False,
            "stopped_at": None,
            "result": None,
            "used_s": None,
        }


async def open_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
        return int((await conn.execute(query)).scalar_one())


async def fill(db: Db, target: int, batch: int) -> tuple[int, int]:
    """Bulk-insert users, then open tickets with two clocks each, until `target` are open.
    Return (tickets inserted, clocks due at NOW)."""
    need = target - await open_count(db.engine)
    if need <= 0:
        return 0, 0
    rng = random.Random(7)
    clocks = Clocks(db.desk.policy, rng)
    n_users = min(10_000, max(100, need // 10))
    users = []
    for i in range(n_users):
        seen = NOW - timedelta(days=rng.uniform(1, FILL_DAYS + 30))
        telegram = rng.random() < 0.6
        users.append(
            {
                "channel": "telegram" if telegram else "web",
                "sender": f"telegram:{900_000 + i}" if telegram else f"web:fill-{i}",
                "role": "consumer" if rng.random() < 0.9 else "merchant",
                "state": "{}",
                "first_seen": seen,
                "last_seen": seen,
            }
        )
    async with db.engine.begin() as conn:
        result = await conn.execute(
            insert(User).returning(User.id, User.channel, sort_by_parameter_order=True), users
        )
        user_rows = [(int(uid), str(channel)) for uid, channel in result.all()]
    today = NOW.astimezone(TZ).date()
    per_day = -(-need // FILL_DAYS)
    for low in range(0, need, batch):
        tickets: list[dict[str, Any]] = []
        plans: list[tuple[datetime, int, int]] = []
        for j in range(low, min(need, low + batch)):
            day = today - timedelta(days=1 + j // per_day)
            opened = datetime.combine(day, clock_time(9), TZ) + timedelta(
                seconds=rng.uniform(0, 9 * 3600)
            )
            opened = opened.astimezone(UTC)
            kind, category = rng.choice(TICKET_TYPES), rng.choice(DEFAULT_CATEGORIES)
            priority = "P1" if rng.random() < 0.03 else priority_for(kind, category)
            user_id, channel = rng.choice(user_rows)
            tickets.append(
                {
                    "reference": reference_for(day, j % per_day + 1),
                    "user_id": user_id,
                    "channel": channel,
                    "type": kind,
                    "category": category,
                    "priority": priority,
                    "status": TicketStatus.NEW,
                    "assignee": None,
                    "summary": rng.choice(SUMMARIES),
                    "order_no": f"SO{rng.randrange(10**9):09d}" if rng.random() < 0.5 else None,
                    "merchant_name": None,
                    "contact_phone": None,
                    "opened_at": opened,
                    "updated_at": opened,
                }
            )
            plans.append((opened, *clocks.within(kind, category, priority)))
        async with db.engine.begin() as conn:
            result = await conn.execute(
                insert(Ticket).returning(Ticket.id, sort_by_parameter_order=True), tickets
            )
            ids = [int(x) for x in result.scalars()]
            rows = []
            for tid, (opened, first_s, resolve_s) in zip(ids, plans, strict=True):
                rows.append(clocks.row(tid, "first_response", opened, first_s))
                rows.append(clocks.row(tid, "resolution", opened, resolve_s))
            await conn.execute(insert(TicketClock), rows)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return need, clocks.due


# ---------------------------------------------------------------------- 3. sweep, queue
async def median_of(runs: int, call: Callable[[], Awaitable[Any]]) -> float:
    return statistics.median([(await timed(call))[0] for _ in range(runs)])


async def run_one(db: Db, args: argparse.Namespace) -> None:
    desk, out = db.desk, db.out
    say = progress(db.name)

    say("recording users")
    senders = await make_senders(db, max(1, min(500, args.create // 4)))
    say(f"opening {args.create} tickets")
    seconds, errors = await open_tickets(db, senders, 0, args.create, args.workers)
    out["create"], out["create_failed"] = (args.create - len(errors)) / seconds, len(errors)
    out["errors"] = errors

    say(f"filling to {args.tickets} open tickets")
    out["fill_s"], (inserted, due) = await timed(lambda: fill(db, args.tickets, args.batch))
    out["fill_n"], out["due"] = inserted, due
    out["open"] = await open_count(db.engine)

    say("queue")
    await desk.views.queue(NOW, limit=50)  # warm the caches once, as a running service has them
    out["queue_s"] = await median_of(3, lambda: desk.views.queue(NOW, limit=50))

    say("sweeping")
    with peak_rss() as peak:
        first_s, fired = await timed(lambda: desk.sla.sweep(NOW, batch=500))
    out["sweep_first_s"], out["sweep_peak_mib"] = first_s, peak[0]
    notices, calls, rest_start = fired, 1, time.perf_counter()
    while fired:
        fired = await desk.sla.sweep(NOW, batch=500)
        notices, calls = notices + fired, calls + 1
    out["drain_s"] = first_s + time.perf_counter() - rest_start
    out["notices"], out["sweeps"] = notices, calls
    async with db.engine.connect() as conn:
        query = select(func.count()).select_from(Outbox).where(Outbox.purpose == "sla")
        out["sla_messages"] = int((await conn.execute(query)).scalar_one())
    out["idle_s"] = await median_of(3, lambda: desk.sla.sweep(NOW, batch=500))

    with captured_selects(db.engine) as sweep_sql:
        await desk.sla.sweep(NOW, batch=500)
    with captured_selects(db.engine) as queue_sql:
        await desk.views.queue(NOW, limit=50)
    plan = await explain(db.engine, *sweep_sql[0], analyze=False)
    out["idle_index"] = SWEEP_INDEX in plan
    if args.explain:
        for label, statements in (("idle sweep", sweep_sql), ("queue", queue_sql)):
            for statement, params in statements:
                body = await explain(db.engine, statement, params, analyze=True)
                out.setdefault("plans", []).append((label, statement, body))

    say("sweeping again, traced")
    out["sweep_traced_mib"] = await traced_sweep(db)

    if args.late:
        say(f"opening {args.late} tickets on the full database")
        seconds, errors = await open_tickets(db, senders, args.create, args.late, args.workers)
        out["late"], out["late_failed"] = (args.late - len(errors)) / seconds, len(errors)
        out["errors"] += errors
    if args.explain:
        number = args.create + args.late
        with captured_selects(db.engine) as open_sql:
            await db.desk.open(at=OPENED, **_fields(random.Random(), number, senders[0]))
        for statement, params in open_sql:
            if "count(" in statement:  # the day's tickets, counted for the reference
                body = await explain(db.engine, statement, params, analyze=True)
                out.setdefault("plans", []).append(("open", statement, body))
    out["retries"] = RETRIES.count


async def traced_sweep(db: Db) -> float:
    """Undo the notices, then return the Python heap peak (MiB) of one 500-clock sweep."""
    async with db.engine.begin() as conn:
        fired = select(SlaEvent.clock_id)
        await conn.execute(
            update(TicketClock)
            .where(TicketClock.id.in_(fired))
            .values(warned=False, breached=False)
        )
        await conn.execute(delete(Outbox).where(Outbox.purpose == "sla"))
        await conn.execute(delete(SlaEvent))
    tracemalloc.start()
    try:
        await db.desk.sla.sweep(NOW, batch=500)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def progress(name: str) -> Callable[[str], None]:
    start = time.perf_counter()

    def say(what: str) -> None:
        print(f"  [{name} {time.perf_counter() - start:6.1f} s] {what}", file=sys.stderr)

    return say


def line(db: Db, args: argparse.Namespace) -> str:
    o = db.out
    late = ""
    if "late" in o:
        late = f", {o['late']:.1f}/s at {o['open'] // 1000}k ({o['late_failed']} failed)"
    index = SWEEP_INDEX if o["idle_index"] else "NO INDEX"
    parts = [
        f"tickets  {db.name:<10}",
        f"create {args.create}: {o['create']:.1f}/s ({args.workers} tasks, "
        f"{o['create_failed']} failed){late}",
        f"fill {o['open']}: {o['fill_s']:.1f} s ({o['fill_n']} bulk)",
        f"sweep first {o['sweep_first_s']:.2f} s, drain {o['drain_s']:.2f} s "
        f"({o['notices']} notices/{o['due']} due, {o['sla_messages']} messages, "
        f"{o['sweeps']} sweeps), idle {o['idle_s']:.3f} s [{index}]",
        f"queue {o['queue_s']:.3f} s",
        f"sweep peak +{o['sweep_peak_mib']:.1f} MB rss, {o['sweep_traced_mib']:.1f} MB traced",
    ]
    report = " | ".join(parts)
    if o["retries"]:
        report += f"\n         {o['retries']} retries of a busy database"
    for error in sorted(set(o["errors"]))[:3]:
        report += f"\n         failed open: {error[:160]}"
    for label, statement, body in o.get("plans", []):
        report += f"\n\n-- {db.name} {label}:\n{statement}\n{body}"
    return report


async def main_async(args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", ""))
        for name, url in targets:
            scratch = f"helpdesk_bench_{secrets.token_hex(4)}"
            if name == "postgresql":
                url = await create_database(args.postgres, scratch)
            RETRIES.count = 0
            try:
                db = await build(name, url)
                try:
                    await run_one(db, args)
                finally:
                    await db.engine.dispose()
            finally:
                if name == "postgresql":
                    await drop_database(args.postgres, scratch)
            lines.append(line(db, args))
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--create", type=int, default=2000, help="tickets opened, timed")
    parser.add_argument("--workers", type=int, default=8, help="concurrent opening tasks")
    parser.add_argument("--tickets", type=int, default=100_000, help="open tickets to fill to")
    parser.add_argument("--batch", type=int, default=5000, help="tickets per bulk insert")
    parser.add_argument("--late", type=int, default=200, help="tickets opened when full")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--postgres",
        help="also run on PostgreSQL: a server URL (a scratch database is made beside it), "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args(argv)
    store_log = logging.getLogger("storage.retry")
    store_log.addHandler(RETRIES)
    store_log.propagate = False
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
