"""Declaring an incident from a chat, whatever the channel: `/incident [级别] 情况说明`.

The report to the bureau needs the category and what happened. Written in one line, the
category is read from the text with the plan's own words for each category
(`escalation.incidents.categories`) and the incident is declared at once, the answer
saying which category was read; when no category can be read, the person picks one from
the plan's categories; with no text, they pick one and are then asked what happened. 取消
(a button, or the answer) stops it. The steps in between wait in `incident_draft`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from escalation.incidents.categories import categories, infer_category, title_of
from escalation.incidents.drafts import Draft
from escalation.incidents.plan import LEVEL_KEYS, Level, PlanError
from escalation.incidents.records import IncidentError, IncidentView
from escalation.incidents.service import Incidents
from escalation.routing import Actor
from handlers import texts
from knowledge.masking import mask_pii
from storage.outbox import Button

DECLARE = "declare"  # the action of the category and cancel buttons
CANCEL = "cancel"  # their arg for 取消 (the others carry the category's place)
# The first word names a level when it looks like one ("Ⅸ", "5", "五级"): refused then,
# rather than read as the start of what happened.
_LEVEL_LIKE = re.compile(r"[IVX]+|\d+|[一二三四五六七八九十]+级?|\S{1,2}级")


@dataclass(frozen=True, slots=True)
class Said:
    """What the person declaring is shown: in the chat (not only as a button's pop-up),
    with buttons, or asking for a reply."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    ask_reply: bool = False
    private: bool = False  # only the presser's pop-up: the question stays as it was


class Declaring:
    def __init__(self, incidents: Incidents) -> None:
        self.incidents = incidents
        self.categories = categories(incidents.plan)

    def _level(self, rest: str) -> tuple[Level, str]:
        """Return the level the command names (Ⅳ when it names none) and the text after."""
        plan = self.incidents.plan
        first, _, tail = rest.strip().partition(" ")
        try:
            return plan.level(first), tail.strip()
        except PlanError as exc:
            if first and _LEVEL_LIKE.fullmatch(unicodedata.normalize("NFKC", first).upper()):
                raise IncidentError(str(exc)) from None
        return plan.levels[LEVEL_KEYS[-1]], rest.strip()

    async def command(self, actor: Actor, chat_id: int, rest: str, now: datetime) -> Said:
        """`/incident [级别] 情况说明`: declare, or ask for what the report still needs."""
        level, text = self._level(rest)
        category = infer_category(self.incidents.plan, text) if text else None
        if category is not None:
            view = await self._declare(actor, level.key, category, text, now)
            return Said(_declared(view, category, text, inferred=True))
        draft = await self.incidents.drafts.start(chat_id, actor.key, level.key, text, now)
        about = texts.DESK_INCIDENT_ABOUT.format(title=title_of(text)) if text else ""
        return Said(
            texts.DESK_INCIDENT_ASK_CATEGORY.format(label=level.label, about=about),
            self._buttons(draft),
        )

    def _buttons(self, draft: Draft) -> list[Button]:
        ref = draft.reference
        return [
            *(Button(c, DECLARE, "incident", ref, str(n)) for n, c in enumerate(self.categories)),
            Button(texts.CHOICE_CANCEL, DECLARE, "incident", ref, CANCEL),
        ]

    async def press(self, actor: Actor, reference: str, arg: str | None, now: datetime) -> Said:
        """A category (or 取消) pressed under the question."""
        draft = await self.incidents.drafts.open_one(reference, actor.key, now)
        if draft is None:
            return Said(texts.DESK_INCIDENT_DRAFT_GONE, private=True)
        if arg == CANCEL:
            await self.incidents.drafts.close(draft, now)
            return Said(texts.DESK_INCIDENT_DRAFT_CANCELLED)
        if arg is None or not arg.isdigit() or int(arg) >= len(self.categories):
            return Said(texts.DESK_BUTTON_GONE, private=True)
        draft = await self.incidents.drafts.choose(draft, self.categories[int(arg)])
        if not draft.detail:
            return Said(
                texts.DESK_INCIDENT_ASK_DETAIL.format(category=draft.category), ask_reply=True
            )
        return await self._finish(actor, draft, draft.detail, now)

    async def awaits_detail(self, actor: Actor, chat_id: int, now: datetime) -> bool:
        """Whether the person's next answer in this chat is what happened."""
        return await self.incidents.drafts.awaiting_detail(chat_id, actor.key, now) is not None

    async def detail(self, actor: Actor, chat_id: int, text: str, now: datetime) -> Said | None:
        """An answer to "what happened"; None when no declaration waits for one."""
        draft = await self.incidents.drafts.awaiting_detail(chat_id, actor.key, now)
        if draft is None:
            return None
        if text.strip() == texts.CHOICE_CANCEL:
            await self.incidents.drafts.close(draft, now)
            return Said(texts.DESK_INCIDENT_DRAFT_CANCELLED)
        if not text.strip():
            return Said(texts.DESK_INCIDENT_DETAIL_EMPTY, ask_reply=True)
        return await self._finish(actor, draft, text.strip(), now)

    async def _finish(self, actor: Actor, draft: Draft, text: str, now: datetime) -> Said:
        if draft.category is None or not await self.incidents.drafts.close(draft, now):
            return Said(texts.DESK_INCIDENT_DRAFT_GONE)
        view = await self._declare(actor, draft.level, draft.category, text, now)
        await self.incidents.drafts.declared(draft, view.id)
        return Said(_declared(view, draft.category, text, inferred=False))

    async def _declare(
        self, actor: Actor, level: str, category: str, text: str, now: datetime
    ) -> IncidentView:
        return await self.incidents.declare(
            level, title_of(text) or category, actor, now, category=category, detail=text
        )


def _declared(view: IncidentView, category: str, text: str, *, inferred: bool) -> str:
    return texts.DESK_INCIDENT_DECLARED_AS.format(
        label=view.label,
        ref=view.reference,
        title=view.title,
        category=category,
        inferred=texts.DESK_INCIDENT_INFERRED if inferred else "",
        detail=mask_pii(text)[:300],
    )
