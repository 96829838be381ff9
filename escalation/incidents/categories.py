"""The categories an incident may have under the plan, and the one a declaration's text
is about: the category whose words (the plan's `keywords`, and its own name) the text has
most. Pure: no database, no clock."""

from __future__ import annotations

import re
import unicodedata

from escalation.incidents.plan import EmergencyPlan

OTHER = "其他"  # offered last, for what no category of the plan fits
TITLE_LIMIT = 40
_CLAUSE = re.compile(r"[，,。；;！!？?\n]")


def categories(plan: EmergencyPlan) -> tuple[str, ...]:
    """Return the plan's categories, in the plan's order, then those only its triggers
    name, then 其他."""
    names = list(plan.keywords)
    names += [t.category for t in plan.triggers if t.category and t.category not in names]
    return (*dict.fromkeys(names), *(() if OTHER in names else (OTHER,)))


def infer_category(plan: EmergencyPlan, text: str) -> str | None:
    """Return the category the text is about; None when none of its words appear, or two
    categories have as many (a person then chooses)."""
    folded = unicodedata.normalize("NFKC", text)
    hits = {
        name: sum(1 for w in {name, *plan.keywords.get(name, ())} if w and w in folded)
        for name in categories(plan)
        if name != OTHER
    }
    ranked = sorted(hits.values(), reverse=True)
    if not ranked or ranked[0] == 0 or (len(ranked) > 1 and ranked[0] == ranked[1]):
        return None
    return max(hits, key=lambda name: hits[name])


def title_of(text: str) -> str:
    """Return a declaration's title: the first clause of what was written, cut short."""
    first = next((part.strip() for part in _CLAUSE.split(text) if part.strip()), "")
    return first[:TITLE_LIMIT]
