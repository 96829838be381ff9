"""The one object the channels hold for incidents: each method is a transaction around the
wing's steps (sources, lifecycle, bureau, sweep), and tells the listeners what changed.

Every deadline is a row in `incident_timer`; the sweep fires due rows once each under a
row lock and writes what it owes people to the outbox in the same transaction, so restarts
and several instances neither lose nor double a step. Acknowledging cancels the chain's
remaining rows in its own transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.incidents import sources
from escalation.incidents.actions import check_allowed, incident_action
from escalation.incidents.bureau import reach, settle_deadlines
from escalation.incidents.cards import card_buttons, card_text
from escalation.incidents.delivery import incident_of_key, report_views
from escalation.incidents.drafts import Drafts
from escalation.incidents.lifecycle import open_incident
from escalation.incidents.plan import EmergencyPlan, Level, PlanError
from escalation.incidents.records import (
    ACTIVE,
    LEVEL_ORDER,
    SHANGHAI,
    Context,
    IncidentDetail,
    IncidentError,
    IncidentNotFound,
    IncidentView,
    Notice,
    locked,
    view_of,
)
from escalation.incidents.sweep import due_timers, fire
from escalation.routing import Actor, Routes
from storage.models import Incident, IncidentEvent, Message, Outbox, Ticket
from storage.outbox import Button
from storage.retry import retrying

log = logging.getLogger(__name__)

NOTICE = "【已知问题】{title}。我们已经发现这个问题，正在紧急处理{eta}，给您带来不便，敬请谅解。"
Listener = Callable[[str], Awaitable[None]]
Card = tuple[int, int, str, list[Button]]  # (chat, message, text, buttons)


class Incidents:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        plan: EmergencyPlan,
        routes: Routes,
        *,
        tz: ZoneInfo = SHANGHAI,
        contact: str = "平台客服值班室",
        webhook: bool = False,
    ) -> None:
        self._sessions = sessions
        self.ctx = Context(plan, routes, tz, contact, webhook)
        self.drafts = Drafts(sessions)  # declarations on a chat still being asked for
        self.listeners: list[Listener] = []
        self._active: list[tuple[int, str, str, str | None, datetime | None]] = []
        self._active_at = 0.0

    @property
    def plan(self) -> EmergencyPlan:
        return self.ctx.plan

    async def _changed(self, reference: str) -> None:
        self._active_at = 0.0  # the users' notice list is read again
        for listener in self.listeners:
            try:
                await listener(reference)
            except Exception:
                log.exception("incidents: listener failed for %s", reference)

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
        raises Replayed). An incident that another opening made first under the same
        key is returned instead (an alert attaches to it: OpenedElsewhere)."""
        for _ in range(5):
            try:
                async with self._sessions.begin() as s:
                    await sources.use_nonce(s, nonce, at)
                    i = await open_incident(
                        self.ctx,
                        s,
                        level=level,
                        title=title,
                        source=source,
                        actor=actor,
                        at=at,
                        category=category,
                        merchant=merchant,
                        detail=detail,
                        open_key=open_key,
                    )
                    view = view_of(self.ctx, i)
            except IntegrityError:
                if open_key is not None:
                    found = await self._by_key(open_key)
                    if found is not None:
                        if nonce is not None:  # the alert attaches to the one that won
                            await self._attach(found.reference, level, detail, at, nonce=nonce)
                            raise sources.OpenedElsewhere(found) from None
                        return found
                continue
            await self._changed(view.reference)
            try:
                await self.sweep(at)  # the chain's first step goes out now, not at the next sweep
            except Exception:  # the scheduler's sweep sends it; the incident stands
                log.exception("incidents: the sweep after opening %s failed", view.reference)
            return view
        raise IncidentError("无法生成事件编号，请重试。")

    async def _by_key(self, key: str) -> IncidentView | None:
        async with self._sessions() as s:
            i = (
                await s.execute(select(Incident).where(Incident.open_key == key))
            ).scalar_one_or_none()
            return view_of(self.ctx, i) if i is not None else None

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
        key = sources.alert_key(title, category)
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
        except sources.Replayed:
            return None
        except sources.OpenedElsewhere as other:
            return other.view, False
        return view, True

    @retrying
    async def _attach(
        self, reference: str, level: Level, detail: str, at: datetime, *, nonce: str | None = None
    ) -> None:
        async with self._sessions.begin() as s:
            await sources.use_nonce(s, nonce, at)
            i = await locked(s, reference)
            sources.attach_signal(self.ctx, s, i, level, detail, at)
        await self._changed(reference)

    # ------------------------------------------------------------------ detection
    def keys_for_ticket(self, category: str, merchant: str | None) -> list[str]:
        """Return the signal keys of a new ticket."""
        return sources.keys_for_ticket(category, merchant)

    def keys_for_risk(self, tags: Sequence[str]) -> list[str]:
        """Return the signal keys of a high-risk message with these tags."""
        return sources.keys_for_risk(self.plan, tags)

    def keys_for_text(self, text: str) -> list[str]:
        """Return the signal keys of a message with a watched phrase in it."""
        return sources.keys_for_text(self.plan, text)

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
        async with self._sessions.begin() as s:
            hits = await sources.record_signals(self.plan, s, keys, at, user_id)
        if not hits:
            if ticket_id is not None:
                await self._link_ticket_to_open(keys, ticket_id)
            return None
        hit = sources.worst(hits)
        found = await self._by_key(hit.key)
        if found is not None:
            if LEVEL_ORDER[hit.level.key] < LEVEL_ORDER[found.level]:
                await self._attach(found.reference, hit.level, hit.title, at)
            if ticket_id is not None:
                await self._link_ticket_to_open(keys, ticket_id)
            return found
        return await self._open(
            level=hit.level,
            title=hit.title,
            source="detected",
            actor="monitor",
            at=at,
            category=hit.category,
            merchant=hit.merchant,
            open_key=hit.key,
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
        """Do an action of escalation.incidents.actions.ACTIONS (`text`: what was typed
        with it: the cause, an ETA as HH:MM, a progress note)."""
        step = incident_action(action)
        async with self._sessions.begin() as s:
            i = await locked(s, reference)
            check_allowed(step, i, actor)
            await step.run(self.ctx, s, i, actor, at, text)
            if step.progress:
                i.updated_at = at
            view = view_of(self.ctx, i, await report_views(s, i.id, at))
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
            for timer, i in await due_timers(s, now, batch):
                timer.fired_at = now
                if await fire(self.ctx, s, timer, i, now):
                    changed.add(i.reference)
                fired += 1
        for reference in changed:
            await self._changed(reference)
        return fired

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
                when = f"，预计 {eta.astimezone(self.ctx.tz):%H:%M} 前恢复" if eta else ""
                return Notice(incident_id, reference, NOTICE.format(title=title, eta=when))
        return None

    @retrying
    async def active(self, now: datetime | None = None) -> list[IncidentView]:
        """Return the incidents not yet resolved, most severe first, with their reports."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(Incident)
                    .where(Incident.status.in_(ACTIVE))
                    .order_by(Incident.level, Incident.id)
                )
            ).scalars()
            return [view_of(self.ctx, i, await report_views(s, i.id, now)) for i in rows]

    @retrying
    async def detail(self, reference: str, now: datetime | None = None) -> IncidentDetail:
        """Return an incident with its timeline, reports (where each stands at `now`) and
        reach."""
        async with self._sessions() as s:
            i = (
                await s.execute(select(Incident).where(Incident.reference == reference.upper()))
            ).scalar_one_or_none()
            if i is None:
                raise IncidentNotFound(f"没有找到事件 {reference}，请核对编号。")
            tickets, users, messages = await reach(s, i)
            events = (
                await s.execute(
                    select(IncidentEvent)
                    .where(IncidentEvent.incident_id == i.id)
                    .order_by(IncidentEvent.id)
                )
            ).scalars()
            reports = await report_views(s, i.id, now)
            return IncidentDetail(
                view_of(self.ctx, i, reports),
                [(e.kind, e.actor, e.detail, e.at) for e in events],
                reports,
                tickets,
                users,
                messages,
            )

    @retrying
    async def cards(self, reference: str) -> list[Card]:
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
            text = card_text(self.ctx, i, await report_views(s, i.id))
            buttons = card_buttons(i.reference, i.status)
            return [(int(c), int(m), text, buttons) for c, m in rows if m is not None]

    async def after_delivery(self, outbox_ids: Sequence[int], now: datetime) -> None:
        """Reports the outbox just sent or gave up on: their deadlines are met once they
        reached the bureau, and the cards show where they stand."""
        if not outbox_ids:
            return
        async with self._sessions() as s:
            keys = (
                await s.execute(
                    select(Outbox.key).where(
                        Outbox.id.in_(list(outbox_ids)), Outbox.purpose == "report"
                    )
                )
            ).scalars()
            found = [k for k in keys if k is not None]
        await self.after_webhook(found, now)

    @retrying
    async def after_webhook(self, keys: Sequence[str], now: datetime) -> None:
        """Deliveries (outbox or webhook keys) just settled; see `after_delivery`."""
        ids = {n for n in (incident_of_key(k) for k in keys) if n is not None}
        changed = []
        for incident_id in sorted(ids):
            async with self._sessions.begin() as s:
                i = await s.get(Incident, incident_id, with_for_update=True)
                if i is None:
                    continue
                await settle_deadlines(s, i, now)
                changed.append(i.reference)
        for reference in changed:
            await self._changed(reference)

    @retrying
    async def incident_for_message(self, chat_id: int, message_id: int) -> str | None:
        """Return the reference of the incident a bot message in this chat was about."""
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
        """Count a user's message as part of an incident's reach."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(Message).where(Message.id == message_id).values(incident_id=incident_id)
            )
