"""Incidents under the emergency plan (应急预案): sources, lifecycle, escalation chains,
reminders and reports to the bureau.

Every deadline is a row in `incident_timer`; the sweep fires due rows once each under a
row lock (FOR UPDATE SKIP LOCKED on PostgreSQL) and writes what it owes people to the
outbox in the same transaction, so restarts and several instances neither lose nor
double a step. Acknowledging cancels the chain's remaining rows in its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.incidents.plan import EmergencyPlan, Level, PlanError, Trigger
from escalation.incidents.reports import REPORT_NAMES, IncidentFacts, render
from escalation.routing import Actor, Routes, queue_message
from knowledge.masking import mask_pii
from storage.models import (
    AlertNonce,
    Incident,
    IncidentEvent,
    IncidentReport,
    IncidentSignal,
    IncidentTimer,
    Message,
    Outbox,
    Ticket,
)
from storage.outbox import Button
from storage.retry import retrying

log = logging.getLogger(__name__)

STATUS_NAMES = {
    "open": "处置中（未确认）",
    "acknowledged": "已确认",
    "mitigated": "已缓解",
    "resolved": "已解决",
}
ACTIVE = ("open", "acknowledged", "mitigated")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ALERT_WINDOW = 300  # seconds an external alert's timestamp may be off
ACTIONS = (
    ("确认", "ack"),
    ("已缓解", "mitigate"),
    ("已解决", "resolve"),
    ("升级", "up"),
    ("降级", "down"),
)
NOTICE = "【已知问题】{title}。我们已经发现这个问题，正在紧急处理{eta}，给您带来不便，敬请谅解。"


class IncidentError(ValueError):
    """An incident action that cannot be done; the message (Chinese) says why."""


class IncidentNotFound(IncidentError):
    """No incident has that reference."""


class IncidentForbidden(IncidentError):
    """The actor may not do this (a report needs a supervisor)."""


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    reference: str
    level: str
    label: str
    title: str
    category: str | None
    status: str
    source: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    eta: datetime | None

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)


class _Replayed(Exception):
    """An alert's signature was recorded before: the alert is a replay."""


class _OpenedElsewhere(Exception):
    """An alert's incident was opened by another in the same instant; it attached there."""

    def __init__(self, view: IncidentView) -> None:
        super().__init__(view.reference)
        self.view = view


async def _use_nonce(s: AsyncSession, nonce: str | None, at: datetime) -> None:
    """Record an alert's signature in the transaction `s`; _Replayed if seen before."""
    if nonce is None:
        return
    s.add(AlertNonce(signature=nonce[:64], at=at))
    try:
        await s.flush()
    except IntegrityError:
        raise _Replayed() from None


@dataclass(frozen=True, slots=True)
class Notice:
    """What a user asking about an open incident is told, and which incident it is."""

    incident_id: int
    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    view: IncidentView
    events: list[tuple[str, str, str, datetime]]  # (kind, actor, detail, at)
    reports: list[tuple[str, int, str, str]]  # (kind, seq, status, text)
    tickets: int
    users: int
    messages: int


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value for an alert body: sha256=<hex HMAC>."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def card_buttons(reference: str, status: str) -> list[Button]:
    if status == "resolved":
        return []
    return [Button.on_incident(label, action, reference) for label, action in ACTIONS]


Listener = Callable[[str], Awaitable[None]]


class Incidents:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        plan: EmergencyPlan,
        routes: Routes,
        *,
        tz: ZoneInfo = SHANGHAI,
        contact: str = "平台客服值班室",
    ) -> None:
        self._sessions = sessions
        self.plan = plan
        self.routes = routes
        self.tz = tz
        self.contact = contact
        self.listeners: list[Listener] = []
        self._active: list[tuple[int, str, str, str | None, datetime | None]] = []
        self._active_at = 0.0

    # ------------------------------------------------------------------ helpers
    def _level(self, key: str) -> Level:
        return self.plan.levels[key]

    def _view(self, i: Incident) -> IncidentView:
        return IncidentView(
            i.id,
            i.reference,
            i.level,
            self._level(i.level).label,
            i.title,
            i.category,
            i.status,
            i.source,
            i.opened_at,
            i.acknowledged_at,
            i.resolved_at,
            i.eta,
        )

    @staticmethod
    def _event(
        s: AsyncSession, i: Incident, kind: str, actor: str, detail: str, at: datetime
    ) -> None:
        s.add(
            IncidentEvent(
                incident_id=i.id, kind=kind, actor=actor, detail=mask_pii(detail)[:2000], at=at
            )
        )

    def _card_text(self, i: Incident, now: datetime) -> str:
        level = self._level(i.level)
        lines = [
            f"🚨 事件 {i.reference} · {level.label} · {level.colour}",
            f"{i.title}",
            f"状态：{STATUS_NAMES.get(i.status, i.status)}"
            + (f"（{i.acknowledged_by}）" if i.acknowledged_by else ""),
            f"发生时间：{i.opened_at.astimezone(self.tz):%m-%d %H:%M}　来源："
            + {"declared": "人工上报", "detected": "自动监测", "alert": "外部告警"}.get(
                i.source, i.source
            ),
        ]
        if i.category:
            lines.append(f"类别：{i.category}")
        if i.detail:
            lines.append(f"详情：{mask_pii(i.detail)[:500]}")
        if i.eta:
            lines.append(f"预计恢复：{i.eta.astimezone(self.tz):%m-%d %H:%M}")
        if i.status == "open":
            lines.append(f"请在 {level.acknowledge // timedelta(minutes=1)} 分钟内点“确认”。")
        del now
        return "\n".join(lines)

    def _notify(
        self,
        s: AsyncSession,
        i: Incident,
        chat: str,
        text: str,
        at: datetime,
        *,
        key: str | None = None,
        card: bool = False,
        purpose: str = "incident",
    ) -> bool:
        return queue_message(
            s,
            self.routes,
            chat,
            text,
            purpose if not card else "incident_card",
            at,
            incident_id=i.id,
            buttons=card_buttons(i.reference, i.status) if card else (),
            key=key,
        )

    async def _changed(self, reference: str) -> None:
        self._active_at = 0.0  # the users' notice list is read again
        for listener in self.listeners:
            try:
                await listener(reference)
            except Exception:
                log.exception("incidents: listener failed for %s", reference)

    async def _get(self, s: AsyncSession, reference: str) -> Incident:
        i = (
            await s.execute(
                select(Incident).where(Incident.reference == reference.upper()).with_for_update()
            )
        ).scalar_one_or_none()
        if i is None:
            raise IncidentNotFound(f"没有找到事件 {reference}，请核对编号。")
        return i

    def _timer(
        self,
        s: AsyncSession,
        i: Incident,
        kind: str,
        seq: int,
        due: datetime,
        target: str | None = None,
    ) -> None:
        s.add(
            IncidentTimer(
                incident_id=i.id, kind=kind, seq=seq, target=target, due_at=due, cancelled=0
            )
        )

    async def _next_seq(self, s: AsyncSession, i: Incident, kind: str) -> int:
        top = (
            await s.execute(
                select(func.max(IncidentTimer.seq)).where(
                    IncidentTimer.incident_id == i.id, IncidentTimer.kind == kind
                )
            )
        ).scalar_one_or_none()
        return 1 if top is None else int(top) + 1

    async def _cancel(self, s: AsyncSession, i: Incident, *kinds: str) -> None:
        await s.execute(
            update(IncidentTimer)
            .where(
                IncidentTimer.incident_id == i.id,
                IncidentTimer.kind.in_(kinds),
                IncidentTimer.fired_at.is_(None),
            )
            .values(cancelled=1)
        )

    async def _remind_later(self, s: AsyncSession, i: Incident, at: datetime) -> None:
        await self._cancel(s, i, "reminder")
        level = self._level(i.level)
        self._timer(s, i, "reminder", await self._next_seq(s, i, "reminder"), at + level.reminder)

    # ------------------------------------------------------------------ facts and reports
    async def _facts(
        self, s: AsyncSession, i: Incident, now: datetime, since: datetime | None
    ) -> IncidentFacts:
        tickets = int(
            (
                await s.execute(
                    select(func.count()).select_from(Ticket).where(Ticket.incident_id == i.id)
                )
            ).scalar_one()
        )
        messages = int(
            (
                await s.execute(
                    select(func.count()).select_from(Message).where(Message.incident_id == i.id)
                )
            ).scalar_one()
        )
        users = set(
            (await s.execute(select(Ticket.user_id).where(Ticket.incident_id == i.id))).scalars()
        ) | set(
            (await s.execute(select(Message.user_id).where(Message.incident_id == i.id))).scalars()
        )
        events = list(
            (
                await s.execute(
                    select(IncidentEvent)
                    .where(IncidentEvent.incident_id == i.id)
                    .order_by(IncidentEvent.id)
                )
            ).scalars()
        )
        measures = tuple(
            f"{e.at.astimezone(self.tz):%H:%M} {e.detail}"
            for e in events
            if e.kind in ("ack", "mitigate", "resolve", "level", "note", "eta")
        )
        changes = tuple(
            f"{e.at.astimezone(self.tz):%H:%M} {e.detail}"
            for e in events
            if since is None or e.at > since
            if e.kind not in ("notify", "report")
        )
        return IncidentFacts(
            reference=i.reference,
            title=i.title,
            level=self._level(i.level),
            category=i.category,
            status=i.status,
            opened_at=i.opened_at,
            acknowledged_at=i.acknowledged_at,
            mitigated_at=i.mitigated_at,
            resolved_at=i.resolved_at,
            detail=i.detail,
            tickets=tickets,
            users=len(users),
            messages=messages,
            measures=measures,
            changes=changes,
            cause=i.cause,
            eta=i.eta,
            contact=self.contact,
            report_no=0,
            now=now,
        )

    async def _draft(
        self, s: AsyncSession, i: Incident, kind: str, seq: int, at: datetime
    ) -> None:
        """Draft a report and ask the supervisors to approve it."""
        facts = await self._facts(s, i, at, None)
        s.add(
            IncidentReport(
                incident_id=i.id,
                kind=kind,
                seq=seq,
                text=render(self.plan, kind, _numbered(facts, seq)),
                status="draft",
                created_at=at,
            )
        )
        self._notify(
            s,
            i,
            "supervisors",
            f"📝 事件 {i.reference} 的{REPORT_NAMES[kind]}已起草，请审核后发送给主管部门。"
            f"\n发送：/approve {i.reference}",
            at,
            purpose="incident",
        )

    async def _send_report(
        self, s: AsyncSession, i: Incident, kind: str, at: datetime, approver: str | None
    ) -> bool:
        """Send a report to the bureau (re-rendered with today's facts); False if sent."""
        report = (
            await s.execute(
                select(IncidentReport)
                .where(IncidentReport.incident_id == i.id, IncidentReport.kind == kind)
                .order_by(IncidentReport.seq.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        last_sent = (
            await s.execute(
                select(func.max(IncidentReport.sent_at)).where(
                    IncidentReport.incident_id == i.id, IncidentReport.status == "sent"
                )
            )
        ).scalar_one_or_none()
        if report is not None and report.status == "sent" and kind != "follow_up":
            return False
        if report is None or report.status == "sent":
            seq = 1 if report is None else report.seq + 1
            report = IncidentReport(
                incident_id=i.id, kind=kind, seq=seq, text="", status="draft", created_at=at
            )
            s.add(report)
        facts = await self._facts(s, i, at, last_sent)
        report.text = render(self.plan, kind, _numbered(facts, report.seq))
        report.status = "sent"
        report.sent_at = at
        report.approved_by = approver
        queue_message(
            s,
            self.routes,
            "bureau",
            report.text,
            "report",
            at,
            incident_id=i.id,
            key=f"report:{i.id}:{kind}:{report.seq}",
        )
        self._event(
            s,
            i,
            "report",
            approver or "system",
            f"{REPORT_NAMES[kind]}（第{report.seq}号）已报送主管部门",
            at,
        )
        if kind in ("first", "final"):
            await self._cancel(s, i, kind)
        if kind != "final" and i.status != "resolved":
            await self._cancel(s, i, "follow_up")
            level = self._level(i.level)
            self._timer(
                s, i, "follow_up", await self._next_seq(s, i, "follow_up"), at + level.follow_up
            )
        return True

    # ------------------------------------------------------------------ opening
    async def _open(
        self,
        *,
        level: Level,
        title: str,
        source: str,
        actor: str,
        at: datetime,
        category: str | None = None,
        merchant: str | None = None,
        detail: str = "",
        open_key: str | None = None,
        nonce: str | None = None,
    ) -> IncidentView:
        """Open an incident; `nonce`, an alert's signature, is recorded with it (a replay
        raises _Replayed). An incident that another opening made first under the same
        key is returned with `opened_now` False."""
        day = at.astimezone(self.tz).date()
        prefix = f"I{day:%Y%m%d}-"
        for _ in range(5):
            try:
                async with self._sessions.begin() as s:
                    await _use_nonce(s, nonce, at)
                    count = (
                        await s.execute(
                            select(func.count())
                            .select_from(Incident)
                            .where(
                                Incident.reference >= prefix,
                                Incident.reference < prefix[:-1] + ".",
                            )
                        )
                    ).scalar_one()
                    i = Incident(
                        reference=f"{prefix}{int(count) + 1:02d}",
                        level=level.key,
                        title=mask_pii(title)[:200],
                        category=category,
                        merchant=merchant,
                        source=source,
                        status="open",
                        detail=mask_pii(detail)[:2000],
                        open_key=open_key,
                        opened_at=at,
                        updated_at=at,
                    )
                    s.add(i)
                    await s.flush()
                    self._event(s, i, "open", actor, f"{level.label}事件：{i.title}", at)
                    self._schedule_chain(s, i, level, at)
                    self._timer(s, i, "first", 1, at + level.first_report)
                    await self._draft(s, i, "first", 1, at)
                    if category and open_key and open_key.startswith("category:"):
                        await self._link_tickets(
                            s, i, category=category, since=at - _window(self.plan, open_key)
                        )
                    if merchant:
                        await self._link_tickets(
                            s, i, merchant=merchant, since=at - timedelta(hours=24)
                        )
                    view = self._view(i)
            except IntegrityError:
                if open_key is not None:
                    found = await self._by_key(open_key)
                    if found is not None:
                        if nonce is not None:  # the alert attaches to the one that won
                            await self._attach(found.reference, level, detail, at, nonce=nonce)
                            raise _OpenedElsewhere(found) from None
                        return found
                continue
            await self._changed(view.reference)
            try:
                await self.sweep(at)  # the chain's first step goes out now, not at the next sweep
            except Exception:  # the scheduler's sweep sends it; the incident stands
                log.exception("incidents: the sweep after opening %s failed", view.reference)
            return view
        raise IncidentError("无法生成事件编号，请重试。")

    def _schedule_chain(self, s: AsyncSession, i: Incident, level: Level, at: datetime) -> None:
        offset = timedelta(0)
        seq = 0
        for _round in range(level.repeat + 1):
            for step in level.chain:
                self._timer(s, i, "chain", seq, at + offset, step.notify)
                offset += step.wait
                seq += 1

    async def _link_tickets(
        self,
        s: AsyncSession,
        i: Incident,
        *,
        since: datetime,
        category: str | None = None,
        merchant: str | None = None,
    ) -> None:
        query = update(Ticket).where(Ticket.incident_id.is_(None), Ticket.opened_at >= since)
        if category is not None:
            query = query.where(Ticket.category == category)
        if merchant is not None:
            query = query.where(Ticket.merchant_name == merchant)
        await s.execute(query.values(incident_id=i.id))

    async def _by_key(self, key: str) -> IncidentView | None:
        async with self._sessions() as s:
            i = (
                await s.execute(select(Incident).where(Incident.open_key == key))
            ).scalar_one_or_none()
            return self._view(i) if i is not None else None

    @retrying
    async def declare(
        self,
        level_text: str,
        title: str,
        actor: Actor,
        at: datetime,
        *,
        category: str | None = None,
        detail: str = "",
    ) -> IncidentView:
        """An agent or supervisor declares an incident."""
        try:
            level = self.plan.level(level_text)
        except PlanError as exc:
            raise IncidentError(str(exc)) from None
        title = title.strip()
        if not title:
            raise IncidentError("请写上事件标题，例如 /incident Ⅲ 平台无法领取补贴。")
        return await self._open(
            level=level,
            title=title,
            source="declared",
            actor=actor.key,
            at=at,
            category=category,
            detail=detail,
        )

    @retrying
    async def alert(
        self,
        title: str,
        level_text: str | None,
        category: str | None,
        detail: str,
        at: datetime,
        *,
        signature: str | None = None,
    ) -> tuple[IncidentView, bool] | None:
        """An external alert: attach to the open incident of its category, or open one.

        Returns the incident and whether it was opened by this alert; None when the
        signature was seen before (a replay). The signature is recorded in the same
        transaction as what the alert changes: an alert that fails leaves it unused, so
        the sender's identical retry is accepted; two copies in flight attach once."""
        level = self.plan.level(level_text) if level_text else self.plan.levels["IV"]
        key = f"category:{category}" if category else f"alert:{title[:100]}"
        try:
            found = await self._by_key(key)
            if found is not None:
                detail = f"外部告警：{title} {detail}"
                await self._attach(found.reference, level, detail, at, nonce=signature)
                return found, False
            view = await self._open(
                level=level,
                title=title,
                source="alert",
                actor="alert",
                at=at,
                category=category,
                detail=detail,
                open_key=key,
                nonce=signature,
            )
        except _Replayed:
            return None
        except _OpenedElsewhere as other:
            return other.view, False
        return view, True

    @retrying
    async def _attach(
        self, reference: str, level: Level, detail: str, at: datetime, *, nonce: str | None = None
    ) -> None:
        async with self._sessions.begin() as s:
            await _use_nonce(s, nonce, at)
            i = await self._get(s, reference)
            self._event(s, i, "signal", "system", detail, at)
            if LEVEL_ORDER[level.key] < LEVEL_ORDER[i.level]:
                before = self._level(i.level).label
                i.level = level.key
                self._event(s, i, "level", "system", f"级别由{before}调整为{level.label}", at)
                for chat in ("oncall", "supervisors"):
                    self._notify(
                        s, i, chat, f"⬆️ 事件 {i.reference} 升级为{level.label}：{i.title}", at
                    )
            i.updated_at = at
        await self._changed(reference)

    # ------------------------------------------------------------------ detection
    def keys_for_ticket(self, category: str, merchant: str | None) -> list[str]:
        keys = [f"category:{category}"]
        if merchant:  # a name typed by a customer: no number in it leaves masked
            keys.append(f"merchant:{mask_pii(merchant)[:100]}")
        return keys

    def keys_for_risk(self, tags: Sequence[str]) -> list[str]:
        """Return the signal keys of a high-risk message with these tags."""
        return [
            f"risk:{n}"
            for n, trigger in enumerate(self.plan.triggers)
            if trigger.risk and set(trigger.risk) & set(tags)
        ]

    def keys_for_text(self, text: str) -> list[str]:
        return [
            f"phrases:{n}"
            for n, trigger in enumerate(self.plan.triggers)
            if trigger.phrases and any(p in text for p in trigger.phrases)
        ]

    async def observe(
        self,
        keys: Sequence[str],
        at: datetime,
        *,
        user_id: int | None = None,
        ticket_id: int | None = None,
    ) -> IncidentView | None:
        """Count signals; open or raise an incident when a trigger's threshold is reached."""
        if not keys:
            return None
        hits: list[tuple[Level, str, str | None, str | None, str]] = []
        async with self._sessions.begin() as s:
            for key in keys:
                s.add(IncidentSignal(key=key, user_id=user_id, at=at))
            await s.flush()
            for n, trigger in enumerate(self.plan.triggers):
                found_key = _trigger_key(n, trigger, keys)
                if found_key is None:
                    continue
                key = found_key
                count = (
                    await s.execute(
                        select(func.count())
                        .select_from(IncidentSignal)
                        .where(IncidentSignal.key == key, IncidentSignal.at > at - trigger.within)
                    )
                ).scalar_one()
                if int(count) >= trigger.count:
                    category = trigger.category or (
                        key[9:] if key.startswith("category:") else None
                    )
                    merchant = key[9:] if key.startswith("merchant:") else None
                    minutes = int(trigger.within / timedelta(minutes=1))
                    name = trigger.name or category or merchant or "高风险信息"
                    hits.append(
                        (
                            self.plan.levels[trigger.level],
                            key,
                            category,
                            merchant,
                            f"{name}：{minutes}分钟内{int(count)}次",
                        )
                    )
        if not hits:
            if ticket_id is not None:
                await self._link_ticket_to_open(keys, ticket_id)
            return None
        level, key, category, merchant, title = min(hits, key=lambda h: LEVEL_ORDER[h[0].key])
        found = await self._by_key(key)
        if found is not None:
            if LEVEL_ORDER[level.key] < LEVEL_ORDER[found.level]:
                await self._attach(found.reference, level, title, at)
            if ticket_id is not None:
                await self._link_ticket_to_open(keys, ticket_id)
            return found
        return await self._open(
            level=level,
            title=title,
            source="detected",
            actor="monitor",
            at=at,
            category=category,
            merchant=merchant,
            open_key=key,
        )

    async def _link_ticket_to_open(self, keys: Sequence[str], ticket_id: int) -> None:
        async with self._sessions.begin() as s:
            i = (
                await s.execute(select(Incident.id).where(Incident.open_key.in_(list(keys))))
            ).scalar_one_or_none()
            if i is not None:
                await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(incident_id=i))

    # ------------------------------------------------------------------ lifecycle
    @retrying
    async def act(
        self, reference: str, action: str, actor: Actor, at: datetime, text: str = ""
    ) -> IncidentView:
        """ack, mitigate, resolve (text: the cause), up, down, eta (text HH:MM), note."""
        async with self._sessions.begin() as s:
            i = await self._get(s, reference)
            level = self._level(i.level)
            if i.status == "resolved" and action != "note":
                raise IncidentError(f"事件 {i.reference} 已解决。")
            if action == "ack":
                if i.status != "open":
                    raise IncidentError(f"事件 {i.reference} 已由 {i.acknowledged_by} 确认。")
                i.status, i.acknowledged_at, i.acknowledged_by = "acknowledged", at, actor.name
                await self._cancel(s, i, "chain")
                self._event(s, i, "ack", actor.key, f"{actor.name}确认，启动处置", at)
                await self._remind_later(s, i, at)
            elif action == "mitigate":
                if i.status == "open":
                    i.acknowledged_at, i.acknowledged_by = at, actor.name
                    await self._cancel(s, i, "chain")
                i.status, i.mitigated_at = "mitigated", at
                self._event(s, i, "mitigate", actor.key, f"{actor.name}：影响已缓解", at)
                await self._remind_later(s, i, at)
            elif action == "resolve":
                i.status, i.resolved_at, i.open_key = "resolved", at, None
                if i.acknowledged_at is None:
                    i.acknowledged_at, i.acknowledged_by = at, actor.name
                if text:
                    i.cause = mask_pii(text)[:1000]
                await self._cancel(s, i, "chain", "reminder", "follow_up")
                self._event(
                    s, i, "resolve", actor.key, f"{actor.name}：事件已解决 {text}".strip(), at
                )
                self._timer(s, i, "final", 1, at + level.final_report)
                await self._draft(s, i, "final", 1, at)
            elif action in ("up", "down"):
                target = self.plan.higher(i.level) if action == "up" else self.plan.lower(i.level)
                if target is None:
                    word = "最高" if action == "up" else "最低"
                    raise IncidentError(f"事件 {i.reference} 已是{word}级别（{level.label}）。")
                new = self._level(target)
                i.level = target
                self._event(
                    s,
                    i,
                    "level",
                    actor.key,
                    f"{actor.name}将级别由{level.label}调整为{new.label}",
                    at,
                )
                for chat in ("oncall", "supervisors"):
                    self._notify(
                        s, i, chat, f"事件 {i.reference} 级别调整为{new.label}：{i.title}", at
                    )
            elif action == "eta":
                eta = _parse_eta(text, at, self.tz)
                if eta is None:
                    raise IncidentError("请写预计恢复时间，例如 /eta I20250602-01 18:30。")
                i.eta = eta
                self._event(
                    s, i, "eta", actor.key, f"预计恢复时间 {eta.astimezone(self.tz):%H:%M}", at
                )
            elif action == "note":
                if not text.strip():
                    raise IncidentError("请写上进展内容。")
                self._event(s, i, "note", actor.key, f"{actor.name}：{text.strip()}", at)
            else:
                raise IncidentError(f"没有这个操作：{action}。")
            i.updated_at = at
            view = self._view(i)
        await self._changed(view.reference)
        return view

    @retrying
    async def approve(self, reference: str, actor: Actor, at: datetime) -> IncidentView:
        """A supervisor approves the pending report (初报, or 终报 once resolved)."""
        async with self._sessions.begin() as s:
            i = await self._get(s, reference)
            if not actor.is_supervisor:
                raise IncidentForbidden("报告需由主管审核发送。")
            kind = "final" if i.status == "resolved" else "first"
            if not await self._send_report(s, i, kind, at, actor.key):
                raise IncidentError(f"事件 {i.reference} 的{REPORT_NAMES[kind]}已发送过。")
            view = self._view(i)
        await self._changed(view.reference)
        return view

    # ------------------------------------------------------------------ the sweep
    async def sweep(self, now: datetime, batch: int = 200) -> int:
        """Fire the plan's due steps once each; return how many fired.

        PostgreSQL's SKIP LOCKED keeps two sweepers off one timer; SQLite has no row locks,
        so two sweeps (the scheduler's and the one right after an incident opens) may pick
        the same step. The outbox key is unique, so the later one fails as a whole and fires
        nothing: the step went out once, and the rest of its batch waits for the next sweep.
        """
        try:
            return await self._sweep(now, batch)
        except IntegrityError:
            log.info("incidents: another sweep fired these steps first")
            return 0

    @retrying
    async def _sweep(self, now: datetime, batch: int) -> int:
        changed: set[str] = set()
        fired = 0
        async with self._sessions.begin() as s:
            rows = (
                await s.execute(
                    select(IncidentTimer, Incident)
                    .join(Incident, Incident.id == IncidentTimer.incident_id)
                    .where(
                        IncidentTimer.fired_at.is_(None),
                        IncidentTimer.cancelled == 0,
                        IncidentTimer.due_at <= now,
                    )
                    .order_by(IncidentTimer.due_at, IncidentTimer.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True, of=IncidentTimer)
                )
            ).all()
            for timer, i in rows:
                timer.fired_at = now
                if await self._fire(s, timer, i, now):
                    changed.add(i.reference)
                fired += 1
        for reference in changed:
            await self._changed(reference)
        return fired

    async def _fire(
        self, s: AsyncSession, timer: IncidentTimer, i: Incident, now: datetime
    ) -> bool:
        level = self._level(i.level)
        if timer.kind == "chain":
            if i.status != "open" or timer.target is None:
                return False
            text = self._card_text(i, now)
            sent = self._notify(s, i, timer.target, text, now, key=f"inc:{timer.id}", card=True)
            self._event(
                s,
                i,
                "notify",
                "system",
                f"通知 {timer.target}" + ("" if sent else "（未配置）"),
                now,
            )
            return True
        if timer.kind == "reminder":
            if i.status not in ("acknowledged", "mitigated"):
                return False
            if i.updated_at > now - level.reminder:  # updated since: look again later
                self._timer(
                    s,
                    i,
                    "reminder",
                    await self._next_seq(s, i, "reminder"),
                    i.updated_at + level.reminder,
                )
                return False
            minutes = int(level.reminder / timedelta(minutes=1))
            for chat in ("oncall", "supervisors"):
                self._notify(
                    s,
                    i,
                    chat,
                    f"⏰ 事件 {i.reference}（{level.label}）已确认，"
                    f"但 {minutes} 分钟没有进展更新，请尽快处置并更新：{i.title}",
                    now,
                    key=f"inc:{timer.id}:{chat}",
                )
            self._event(s, i, "notify", "system", "无进展提醒", now)
            self._timer(
                s, i, "reminder", await self._next_seq(s, i, "reminder"), now + level.reminder
            )
            return True
        if timer.kind == "first":
            if level.auto_report:
                return await self._send_report(s, i, "first", now, None)
            sent_first = (
                await s.execute(
                    select(func.count())
                    .select_from(IncidentReport)
                    .where(
                        IncidentReport.incident_id == i.id,
                        IncidentReport.kind == "first",
                        IncidentReport.status == "sent",
                    )
                )
            ).scalar_one()
            if sent_first:
                return False
            for chat in ("supervisors", "leadership"):
                self._notify(
                    s,
                    i,
                    chat,
                    f"❗ 事件 {i.reference}（{level.label}）初报已到报送时限仍未发送，请立即审核："
                    f"/approve {i.reference}",
                    now,
                    key=f"inc:{timer.id}:{chat}",
                )
            self._event(s, i, "notify", "system", "初报超时提醒", now)
            return True
        if timer.kind == "follow_up":
            if i.status == "resolved":
                return False
            return await self._send_report(s, i, "follow_up", now, None)
        if timer.kind == "final":
            return await self._send_report(s, i, "final", now, None)
        return False

    # ------------------------------------------------------------------ reading
    async def _refresh_active(self) -> None:
        if time.monotonic() - self._active_at < 5.0:
            return
        async with self._sessions() as s:
            rows = (await s.execute(select(Incident).where(Incident.status.in_(ACTIVE)))).scalars()
            self._active = [(i.id, i.reference, i.title, i.category, i.eta) for i in rows]
        self._active_at = time.monotonic()

    async def notice_for(self, text: str) -> Notice | None:
        """Return the notice of an open incident this message is about, if any."""
        await self._refresh_active()
        for incident_id, reference, title, category, eta in self._active:
            words = self.plan.keywords.get(category or "", ())
            if (category and category in text) or any(w in text for w in words):
                when = f"，预计 {eta.astimezone(self.tz):%H:%M} 前恢复" if eta else ""
                return Notice(incident_id, reference, NOTICE.format(title=title, eta=when))
        return None

    @retrying
    async def active(self) -> list[IncidentView]:
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(Incident)
                    .where(Incident.status.in_(ACTIVE))
                    .order_by(Incident.level, Incident.id)
                )
            ).scalars()
            return [self._view(i) for i in rows]

    @retrying
    async def detail(self, reference: str) -> IncidentDetail:
        async with self._sessions() as s:
            i = (
                await s.execute(select(Incident).where(Incident.reference == reference.upper()))
            ).scalar_one_or_none()
            if i is None:
                raise IncidentNotFound(f"没有找到事件 {reference}，请核对编号。")
            facts = await self._facts(s, i, i.updated_at, None)
            events = (
                await s.execute(
                    select(IncidentEvent)
                    .where(IncidentEvent.incident_id == i.id)
                    .order_by(IncidentEvent.id)
                )
            ).scalars()
            reports = (
                await s.execute(
                    select(IncidentReport)
                    .where(IncidentReport.incident_id == i.id)
                    .order_by(IncidentReport.id)
                )
            ).scalars()
            return IncidentDetail(
                self._view(i),
                [(e.kind, e.actor, e.detail, e.at) for e in events],
                [(r.kind, r.seq, r.status, r.text) for r in reports],
                facts.tickets,
                facts.users,
                facts.messages,
            )

    @retrying
    async def cards(
        self, reference: str, now: datetime
    ) -> list[tuple[int, int, str, list[Button]]]:
        """Return (chat, message, text, buttons) for every card of an incident to edit."""
        async with self._sessions() as s:
            i = (
                await s.execute(select(Incident).where(Incident.reference == reference.upper()))
            ).scalar_one_or_none()
            if i is None:
                return []
            rows = (
                await s.execute(
                    select(Outbox.chat_id, Outbox.tg_message_id).where(
                        Outbox.incident_id == i.id,
                        Outbox.purpose == "incident_card",
                        Outbox.tg_message_id.is_not(None),
                    )
                )
            ).all()
            text = self._card_text(i, now)
            buttons = card_buttons(i.reference, i.status)
            return [(int(c), int(m), text, buttons) for c, m in rows if m is not None]

    @retrying
    async def incident_for_message(self, chat_id: int, message_id: int) -> str | None:
        async with self._sessions() as s:
            ref = (
                await s.execute(
                    select(Incident.reference)
                    .join(Outbox, Outbox.incident_id == Incident.id)
                    .where(Outbox.chat_id == chat_id, Outbox.tg_message_id == message_id)
                )
            ).scalar_one_or_none()
            return None if ref is None else str(ref)

    @retrying
    async def link_message(self, message_id: int, incident_id: int) -> None:
        async with self._sessions.begin() as s:
            await s.execute(
                update(Message).where(Message.id == message_id).values(incident_id=incident_id)
            )


LEVEL_ORDER = {"I": 0, "II": 1, "III": 2, "IV": 3}


def _numbered(facts: IncidentFacts, seq: int) -> IncidentFacts:
    return replace(facts, report_no=seq)


def _trigger_key(n: int, trigger: Trigger, keys: Sequence[str]) -> str | None:
    """Return which of the observed keys this trigger counts, if any."""
    phrases = trigger.phrases
    category = trigger.category
    if trigger.risk:
        key = f"risk:{n}"
        return key if key in keys else None
    if phrases:
        key = f"phrases:{n}"
        return key if key in keys else None
    if trigger.merchant:
        return next((k for k in keys if k.startswith("merchant:")), None)
    if category:
        key = f"category:{category}"
        return key if key in keys else None
    return None


def _window(plan: EmergencyPlan, key: str) -> timedelta:
    spans = [
        t.within
        for t in plan.triggers
        if t.category and f"category:{t.category}" == key and not t.phrases
    ]
    return max(spans, default=timedelta(hours=1))


def _parse_eta(text: str, at: datetime, tz: ZoneInfo) -> datetime | None:
    text = text.strip().replace("：", ":")
    try:
        hour, minute = (int(x) for x in text.split(":", 1))
    except ValueError:
        return None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    local = at.astimezone(tz)
    eta = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if eta < local:
        eta += timedelta(days=1)
    return eta


__all__ = [
    "ALERT_WINDOW",
    "IncidentDetail",
    "IncidentError",
    "IncidentForbidden",
    "IncidentNotFound",
    "IncidentView",
    "Incidents",
    "Notice",
    "sign",
]
