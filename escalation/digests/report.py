"""Digests for supervisors and the bureau: what a period's record adds up to.

`build_report` reads the conversation record, tickets and their clocks, incidents, the risk
scorer's verdicts and the imported subsidy statistics for one period (an hour, a Beijing
calendar day or a week) into a `Report` (model.py); render.py turns it into text, Markdown,
HTML, CSV and a webhook body, chart.py into a PNG chart. Every piece of user text in a
report is masked here, and masked again by each renderer: the bureau never receives raw
personal data.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from escalation.digests.model import (
    AudienceLine,
    CountTrend,
    IncidentLine,
    Period,
    Report,
    RiskSummary,
    SlaLine,
    Unanswered,
)
from escalation.digests.stats import industry_stats
from escalation.incidents.delivery import (
    DELIVERY_NAMES,
    delivered_at,
    deliveries,
    delivery_state,
    report_key,
)
from escalation.incidents.plan import NUMERALS, EmergencyPlan
from escalation.incidents.reports import REPORT_NAMES
from escalation.risk.tags import TAG_NAMES
from knowledge.masking import mask_pii
from storage.models import (
    Incident,
    IncidentReport,
    Message,
    Ticket,
    TicketAudit,
    TicketClock,
    User,
)

AUDIENCES = (("consumer", "消费者"), ("merchant", "商户"), (None, "未选身份"))
CLOCKS = (
    ("first_response", "首次响应"),
    ("next_response", "再次响应"),
    ("resolution", "办结时限"),
)
RISK_LEVELS = (("high", "高"), ("medium", "中"), ("low", "低"))
ALERT_LEVELS = ("high", "medium")  # what makes an hourly risk summary worth sending
QUESTION_KINDS = ("question", "choice")  # inbound kinds the engine answered from the KB
# The last choice of a "did you mean" reply (handlers/texts.NONE_OF_THESE): a question the
# engine offered entries for is not one it abstained on.
SUGGESTION_END = "都不是"
UNCATEGORISED = "未分类"
TOP_CATEGORIES = 8
TOP_UNANSWERED = 5
TOP_TAGS = 10
RISK_EXAMPLES = 5
EXCERPT = 60  # characters of a user's message shown in a digest


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Return a masked, one-line excerpt of a user's text."""
    one_line = " ".join(mask_pii(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _dedup_key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", t)


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _level_label(level: str, plan: EmergencyPlan | None) -> str:
    if plan is not None and level in plan.levels:
        return plan.levels[level].label
    return f"{NUMERALS.get(level, level)}级"


async def build_report(
    sessions: async_sessionmaker[AsyncSession],
    period: Period,
    *,
    categories: Mapping[str, str],
    plan: EmergencyPlan | None = None,
) -> Report:
    """Read the record of one period into a report (categories: KB entry id -> category)."""
    async with sessions() as s:
        audiences, messages_in, users = await _audiences(s, period)
        (
            questions,
            answered,
            suggested,
            by_category,
            unanswered_total,
            unanswered,
        ) = await _questions(s, period, categories)
        opened, closed, overdue = await _tickets(s, period)
        sla = await _sla(s, period)
        csat_count, csat_average = await _csat(s, period)
        incidents, inc_opened, inc_resolved = await _incidents(s, period, plan)
        previous = period.previous()
        risk_levels, risk_tags = await _risk(s, period, previous, levels=None)
    subsidy = (
        await industry_stats(sessions, period.first_day, period.last_day)
        if period.kind != "hourly"
        else []
    )
    return Report(
        period=period,
        previous_label=previous.label,
        messages_in=messages_in,
        users=users,
        audiences=audiences,
        questions=questions,
        answered=answered,
        suggested=suggested,
        categories=by_category,
        unanswered_total=unanswered_total,
        unanswered=unanswered,
        tickets_opened=opened,
        tickets_closed=closed,
        tickets_overdue=overdue,
        sla=sla,
        csat_count=csat_count,
        csat_average=csat_average,
        incidents_opened=inc_opened,
        incidents_resolved=inc_resolved,
        incidents=incidents,
        risk_levels=risk_levels,
        risk_tags=risk_tags,
        subsidy=tuple(subsidy),
    )


async def build_risk_summary(
    sessions: async_sessionmaker[AsyncSession], period: Period
) -> RiskSummary | None:
    """Summarise the medium and high risk messages of a period; None when there were none."""
    async with sessions() as s:
        levels, tags = await _risk(s, period, period.previous(), levels=ALERT_LEVELS)
        if not any(r.count for r in levels):
            return None
        rank = {level: i for i, (level, _) in enumerate(RISK_LEVELS)}
        rows = (
            await s.execute(
                select(Message.text, Message.risk_level, Message.risk_score)
                .where(
                    Message.direction == "in",
                    _in(Message.created_at, period),
                    Message.risk_level.in_(ALERT_LEVELS),
                )
                .order_by(Message.risk_score.desc().nulls_last(), Message.id)
                .limit(200)
            )
        ).all()
    ordered = sorted(rows, key=lambda r: (rank.get(r[1] or "", 9), -(r[2] or 0.0)))
    examples: list[str] = []
    seen: set[str] = set()
    for text, _level, _score in ordered:
        key = _dedup_key(mask_pii(text))
        if key and key not in seen:
            seen.add(key)
            examples.append(excerpt(text))
        if len(examples) == RISK_EXAMPLES:
            break
    return RiskSummary(period, levels, tags, tuple(examples))


# ---------------------------------------------------------------------- the queries
async def _audiences(s: AsyncSession, period: Period) -> tuple[tuple[AudienceLine, ...], int, int]:
    rows = (
        await s.execute(
            select(User.role, func.count(Message.id), func.count(func.distinct(Message.user_id)))
            .join(User, User.id == Message.user_id)
            .where(Message.direction == "in", _in(Message.created_at, period))
            .group_by(User.role)
        )
    ).all()
    by_role: dict[str | None, tuple[int, int]] = {role: (int(n), int(u)) for role, n, u in rows}
    lines = []
    for role, label in AUDIENCES:
        if role is None:
            known = {r for r, _ in AUDIENCES if r}
            n = sum(v[0] for r, v in by_role.items() if r not in known)
            u = sum(v[1] for r, v in by_role.items() if r not in known)
        else:
            n, u = by_role.get(role, (0, 0))
        lines.append(AudienceLine(role, label, n, u))
    messages_in = sum(v[0] for v in by_role.values())
    users = int(
        (
            await s.execute(
                select(func.count(func.distinct(Message.user_id))).where(
                    Message.direction == "in",
                    _in(Message.created_at, period),
                )
            )
        ).scalar_one()
    )
    return tuple(lines), messages_in, users


async def _questions(
    s: AsyncSession, period: Period, categories: Mapping[str, str]
) -> tuple[int, int, int, tuple[tuple[str, int], ...], int, tuple[Unanswered, ...]]:
    inbound = aliased(Message)
    reply = aliased(Message)
    answered_rows = (
        await s.execute(
            select(reply.kb_entry_id, func.count(func.distinct(reply.reply_to_id)))
            .join(inbound, inbound.id == reply.reply_to_id)
            .where(
                reply.direction == "out",
                reply.kb_entry_id.is_not(None),
                inbound.kind.in_(QUESTION_KINDS),
                _in(inbound.created_at, period),
            )
            .group_by(reply.kb_entry_id)
        )
    ).all()
    by_category: Counter[str] = Counter()
    for entry_id, n in answered_rows:
        by_category[categories.get(str(entry_id)) or UNCATEGORISED] += int(n)
    # Questions whose replies carry no KB entry; those offered a "did you mean" list are
    # not gaps the engine abstained on.
    rows = (
        await s.execute(
            select(inbound.id, inbound.text, reply.kb_entry_id, reply.choices)
            .outerjoin(reply, and_(reply.reply_to_id == inbound.id, reply.direction == "out"))
            .where(
                inbound.direction == "in",
                inbound.kind == "question",
                _in(inbound.created_at, period),
            )
            .order_by(inbound.id)
        )
    ).all()
    texts: dict[int, str] = {}
    covered: set[int] = set()
    answered: set[int] = set()
    for msg_id, text, entry_id, choices in rows:
        texts[msg_id] = text
        if entry_id is not None:
            answered.add(msg_id)
        if entry_id is not None or _is_suggestion(choices):
            covered.add(msg_id)
    gaps = [texts[i] for i in texts if i not in covered]
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for text in gaps:
        key = _dedup_key(mask_pii(text))
        if not key:
            continue
        counts[key] += 1
        shown.setdefault(key, excerpt(text))
    top = tuple(Unanswered(shown[k], n) for k, n in counts.most_common(TOP_UNANSWERED))
    return (
        len(texts),
        len(answered),
        len(covered - answered),
        tuple(by_category.most_common(TOP_CATEGORIES)),
        len(gaps),
        top,
    )


def _is_suggestion(choices_json: str | None) -> bool:
    if not choices_json:
        return False
    try:
        choices = json.loads(choices_json)
    except ValueError:
        return False
    return isinstance(choices, list) and len(choices) > 1 and choices[-1] == SUGGESTION_END


async def _tickets(s: AsyncSession, period: Period) -> tuple[int, int, int]:
    opened = (
        await s.execute(
            select(func.count()).select_from(Ticket).where(_in(Ticket.opened_at, period))
        )
    ).scalar_one()
    closed = (
        await s.execute(
            select(func.count())
            .select_from(Ticket)
            .where(
                or_(
                    _in(Ticket.closed_at, period),
                    and_(Ticket.closed_at.is_(None), _in(Ticket.resolved_at, period)),
                )
            )
        )
    ).scalar_one()
    # A clock is overdue at the period's end when its deadline had passed and it was still
    # running: not stopped by then, and not paused before its deadline.
    overdue = (
        await s.execute(
            select(func.count(func.distinct(TicketClock.ticket_id))).where(
                TicketClock.started_at < period.end,
                TicketClock.due_at <= period.end,
                or_(TicketClock.stopped_at.is_(None), TicketClock.stopped_at > period.end),
                or_(
                    TicketClock.paused_since.is_(None),
                    TicketClock.paused_since > TicketClock.due_at,
                ),
                or_(TicketClock.result.is_(None), TicketClock.result != "cancelled"),
            )
        )
    ).scalar_one()
    return int(opened), int(closed), int(overdue)


async def _sla(s: AsyncSession, period: Period) -> tuple[SlaLine, ...]:
    rows = (
        await s.execute(
            select(TicketClock.clock, TicketClock.result, func.count())
            .where(
                _in(TicketClock.stopped_at, period),
                TicketClock.result.in_(("met", "breached")),
            )
            .group_by(TicketClock.clock, TicketClock.result)
        )
    ).all()
    counts: dict[tuple[str, str | None], int] = {(c, r): int(n) for c, r, n in rows}
    return tuple(
        SlaLine(clock, label, counts.get((clock, "met"), 0), counts.get((clock, "breached"), 0))
        for clock, label in CLOCKS
    )


async def _csat(s: AsyncSession, period: Period) -> tuple[int, float | None]:
    rated = (
        select(TicketAudit.ticket_id)
        .where(TicketAudit.action == "csat", _in(TicketAudit.at, period))
        .distinct()
        .subquery()
    )
    count, average = (
        await s.execute(
            select(func.count(Ticket.id), func.avg(Ticket.csat_score)).where(
                Ticket.id.in_(select(rated.c.ticket_id)), Ticket.csat_score.is_not(None)
            )
        )
    ).one()
    return int(count), (float(average) if average is not None else None)


async def _incidents(
    s: AsyncSession, period: Period, plan: EmergencyPlan | None
) -> tuple[tuple[IncidentLine, ...], int, int]:
    reports = (
        await s.execute(
            select(IncidentReport.incident_id, IncidentReport.kind, IncidentReport.seq)
            .where(IncidentReport.status == "sent", _in(IncidentReport.sent_at, period))
            .order_by(IncidentReport.sent_at, IncidentReport.id)
        )
    ).all()
    # Handed to the channels is not reported: a report counts as sent once it reached
    # the bureau (its chat or its webhook); the rest are listed as not reported.
    attempts = await deliveries(s, [report_key(i, k, n) for i, k, n in reports])
    sent: dict[int, list[str]] = {}
    unsent: dict[int, list[str]] = {}
    for incident_id, kind, seq in reports:
        name = REPORT_NAMES.get(kind, kind)
        name = f"{name}（第{seq}号）" if seq > 1 else name
        found = attempts.get(report_key(incident_id, kind, seq), [])
        if delivered_at(found) is not None:
            sent.setdefault(incident_id, []).append(name)
        else:
            state = DELIVERY_NAMES[delivery_state("sent", found, None)]
            unsent.setdefault(incident_id, []).append(f"{name}（{state}）")
    rows = (
        await s.execute(
            select(Incident)
            .where(
                or_(
                    _in(Incident.opened_at, period),
                    _in(Incident.resolved_at, period),
                    Incident.id.in_([*sent, *unsent]) if sent or unsent else false(),
                )
            )
            .order_by(Incident.opened_at, Incident.id)
        )
    ).scalars()
    lines = []
    for i in rows:
        opened = period.start <= i.opened_at < period.end
        resolved = i.resolved_at is not None and period.start <= i.resolved_at < period.end
        lines.append(
            IncidentLine(
                reference=i.reference,
                level=i.level,
                level_label=_level_label(i.level, plan),
                title=excerpt(i.title, 80),
                status=i.status,
                opened_in_period=opened,
                resolved_in_period=resolved,
                reports=tuple(sent.get(i.id, ())),
                unsent=tuple(unsent.get(i.id, ())),
            )
        )
    return (
        tuple(lines),
        sum(1 for x in lines if x.opened_in_period),
        sum(1 for x in lines if x.resolved_in_period),
    )


async def _risk_counts(
    s: AsyncSession, period: Period, levels: tuple[str, ...] | None
) -> tuple[Counter[str], Counter[str]]:
    query = (
        select(Message.risk_level, Message.risk_tags, func.count())
        .where(
            Message.direction == "in",
            Message.risk_level.is_not(None),
            _in(Message.created_at, period),
        )
        .group_by(Message.risk_level, Message.risk_tags)
    )
    if levels is not None:
        query = query.where(Message.risk_level.in_(levels))
    by_level: Counter[str] = Counter()
    by_tag: Counter[str] = Counter()
    for level, tags, n in (await s.execute(query)).all():
        by_level[str(level)] += int(n)
        for tag in {t.strip() for t in (tags or "").split(",") if t.strip()}:
            by_tag[tag] += int(n)
    return by_level, by_tag


async def _risk(
    s: AsyncSession, period: Period, previous: Period, *, levels: tuple[str, ...] | None
) -> tuple[tuple[CountTrend, ...], tuple[CountTrend, ...]]:
    now_levels, now_tags = await _risk_counts(s, period, levels)
    before_levels, before_tags = await _risk_counts(s, previous, levels)
    wanted = [(k, label) for k, label in RISK_LEVELS if levels is None or k in levels]
    level_lines = tuple(
        CountTrend(k, label, now_levels.get(k, 0), before_levels.get(k, 0)) for k, label in wanted
    )
    tag_names = sorted(set(now_tags) | set(before_tags), key=lambda t: (-now_tags[t], t))
    tag_lines = tuple(
        CountTrend(t, TAG_NAMES.get(t, mask_pii(t)), now_tags.get(t, 0), before_tags.get(t, 0))
        for t in tag_names[:TOP_TAGS]
    )
    return level_lines, tag_lines
