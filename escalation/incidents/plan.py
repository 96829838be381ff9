"""The emergency plan (应急预案) as data: response levels, escalation chains, report
deadlines, the triggers that open an incident and the templates of reports to the bureau.

Pure data and validation; nothing here reads the clock or the database. The shipped plan
is escalation/incidents/data/plan.yaml; `helpdesk plan check FILE` validates another one.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from escalation.config_files import parse_duration, read_mapping
from escalation.risk.tags import TAGS as RISK_TAGS

DEFAULT_PLAN = Path(__file__).parent / "data" / "plan.yaml"
LEVEL_KEYS = ("I", "II", "III", "IV")  # most to least severe
NUMERALS = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}
STANDARD_COLOURS = {"I": "红色", "II": "橙色", "III": "黄色", "IV": "蓝色"}
REPORT_KINDS = ("first", "follow_up", "final")
# What report templates may use (escalation/incidents/reports.py fills every one of them).
TEXT_PLACEHOLDERS = (
    "reference",
    "title",
    "level",
    "colour",
    "category",
    "status",
    "opened_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "now",
    "duration",
    "detail",
    "measures",
    "changes",
    "cause",
    "eta",
    "contact",
    "report_name",
)
NUMBER_PLACEHOLDERS = ("tickets", "users", "messages", "report_no")
PLACEHOLDERS = frozenset(TEXT_PLACEHOLDERS + NUMBER_PLACEHOLDERS)

_DAY = timedelta(hours=24)  # plan durations are wall-clock: an incident does not wait
_ARABIC = {"I": "1", "II": "2", "III": "3", "IV": "4"}
_CHINESE = {"I": "一", "II": "二", "III": "三", "IV": "四"}
_PERSON = re.compile(r"^person:\d+$")
_CHAT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_TOP_FIELDS = frozenset({"chats", "levels", "triggers", "keywords", "templates"})
_LEVEL_FIELDS = frozenset(
    {"name", "colour", "criteria", "deadlines", "chain", "repeat", "auto_report"}
)
_DEADLINES = ("acknowledge", "first_report", "follow_up", "final_report", "reminder")
_STEP_FIELDS = frozenset({"notify", "wait"})
_TRIGGER_FIELDS = frozenset(
    {"name", "level", "count", "within", "category", "merchant", "phrases", "risk"}
)


class PlanError(ValueError):
    """An emergency plan that cannot be used; names the file and the field."""


@dataclass(frozen=True)
class Step:
    """One link of an escalation chain: notify someone, then wait for an acknowledgement."""

    notify: str  # a chat name (see EmergencyPlan.chats) or "person:<telegram user id>"
    wait: timedelta  # before the next step (after the last one: before the chain repeats)


@dataclass(frozen=True)
class Level:
    """A response level (响应级别) and what it demands."""

    key: str  # "III"
    numeral: str  # "Ⅲ"
    name: str  # "较大"
    colour: str  # "黄色"
    criteria: str  # for people: when an incident is of this level
    acknowledge: timedelta  # deadline to acknowledge after opening
    first_report: timedelta  # 初报 to the bureau within this after opening
    follow_up: timedelta  # 续报 interval while not resolved
    final_report: timedelta  # 终报 within this after resolution
    chain: tuple[Step, ...]  # escalation chain while unacknowledged
    repeat: int  # times the whole chain repeats while unacknowledged (0 = once)
    reminder: timedelta  # acknowledged but no update for this long -> notify again
    auto_report: bool  # True: 初报 goes out at its deadline unless a supervisor sent it earlier

    @property
    def label(self) -> str:
        """Return e.g. "Ⅲ级（较大）"."""
        return f"{self.numeral}级（{self.name}）"


@dataclass(frozen=True)
class Trigger:
    """Open (or raise) an incident of `level` when `count` signals arrive `within` a window."""

    level: str
    count: int
    within: timedelta
    category: str | None = None  # ticket category (e.g. 系统故障) to count
    merchant: bool = False  # count tickets per merchant name instead
    phrases: tuple[str, ...] = ()  # count messages containing any of these
    risk: tuple[str, ...] = ()  # count high-risk messages with any of these risk tags
    name: str = ""  # for people, e.g. "系统故障集中投诉"


@dataclass(frozen=True)
class EmergencyPlan:
    levels: Mapping[str, Level]
    triggers: tuple[Trigger, ...]
    keywords: Mapping[str, tuple[str, ...]]  # category -> words users say about it
    templates: Mapping[str, str]  # "first", "follow_up", "final" -> str.format templates
    chats: tuple[str, ...]  # chat names steps may use

    def level(self, text: str) -> Level:
        """Return the level named by "III", "iii", "3", "Ⅲ", "三级", "Ⅲ级", "较大", ...

        Raises PlanError, in Chinese and listing the valid levels, for anything else.
        """
        wanted = _normal(text)
        for key in LEVEL_KEYS:
            level = self.levels[key]
            if wanted in _spellings(level):
                return level
        valid = "、".join(self.levels[k].label for k in LEVEL_KEYS)
        raise PlanError(
            f"无法识别的响应级别“{text.strip()}”。可用级别：{valid}"
            "（也可写作 I–IV、1–4 或 一级–四级）。"
        )

    def higher(self, key: str) -> str | None:
        """Return the key of the next more severe level ("III" -> "II"; "I" -> None)."""
        i = LEVEL_KEYS.index(self.level(key).key)
        return LEVEL_KEYS[i - 1] if i > 0 else None

    def lower(self, key: str) -> str | None:
        """Return the key of the next less severe level ("III" -> "IV"; "IV" -> None)."""
        i = LEVEL_KEYS.index(self.level(key).key)
        return LEVEL_KEYS[i + 1] if i + 1 < len(LEVEL_KEYS) else None


def _normal(text: str) -> str:
    # NFKC turns "Ⅲ" into "III", full-width digits and brackets into ASCII ones.
    # Spaces go, except inside a run of letters and digits ("II I" is not "III").
    t = unicodedata.normalize("NFKC", text).strip().upper()
    t = re.sub(r"(?<![A-Z0-9])\s+|\s+(?![A-Z0-9])", "", t)
    for suffix in ("响应", "级"):
        if t.endswith(suffix) and len(t) > len(suffix):
            t = t[: -len(suffix)]
    return t


def _spellings(level: Level) -> frozenset[str]:
    key = level.key
    return frozenset(
        _normal(s)
        for s in (key, level.numeral, _ARABIC[key], _CHINESE[key], level.name, level.label)
    )


def short_duration(value: timedelta) -> str:
    """Return a duration as a plan writes it: "5m", "2h", "48h"."""
    minutes = int(value / timedelta(minutes=1))
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _duration(raw: Any, where: str) -> timedelta:
    if raw is None:
        raise PlanError(f"{where}: missing; give a duration such as 30m, 4h or 2d.")
    value = parse_duration(raw, _DAY, where, PlanError)
    if value <= timedelta(0):
        raise PlanError(f"{where}: {raw!r} must be longer than zero.")
    return value


def _mapping(raw: Any, where: str, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: must be a mapping.")
    if allowed is not None:
        unknown = sorted(str(k) for k in set(raw) - allowed)
        if unknown:
            raise PlanError(
                f"{where}: unknown field(s) {unknown}; expected {', '.join(sorted(allowed))}."
            )
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise PlanError(f"{where}: must be non-empty text.")
    return raw.strip()


def _texts(raw: Any, where: str) -> tuple[str, ...]:
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(x, str) and x.strip() for x in raw)
    ):
        raise PlanError(f"{where}: must be a non-empty list of words, e.g. [打不开, 崩了].")
    return tuple(x.strip() for x in raw)


def _integer(raw: Any, where: str, least: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < least:
        raise PlanError(f"{where}: {raw!r} must be a whole number, {least} or more.")
    return raw


def _chats(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise PlanError(f"{where}: must be a list of chat names, e.g. [oncall, supervisors].")
    for name in raw:
        if not _CHAT_NAME.match(name):
            raise PlanError(f"{where}: {name!r} is not a chat name (letters, digits, _ or -).")
    if len(set(raw)) != len(raw):
        raise PlanError(f"{where}: a chat is listed twice.")
    return tuple(raw)


def _chain(raw: Any, where: str, chats: tuple[str, ...], last_wait: timedelta) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise PlanError(
            f"{where}: must be a non-empty list of steps, e.g. [{{notify: oncall, wait: 5m}}]."
        )
    steps = []
    for i, item in enumerate(raw, start=1):
        at = f"{where} #{i}"
        step = _mapping(item, at, _STEP_FIELDS)
        notify = step.get("notify")
        if not isinstance(notify, str) or not (notify in chats or _PERSON.match(notify)):
            raise PlanError(
                f"{at}.notify: {notify!r} is not a chat ({', '.join(chats) or 'none listed'}) "
                "or person:<telegram user id>."
            )
        if "wait" in step:
            wait = _duration(step["wait"], f"{at}.wait")
        elif i == len(raw):
            wait = last_wait  # the last step waits the acknowledge time before a repeat
        else:
            raise PlanError(f"{at}.wait: missing; only the last step may leave it out.")
        steps.append(Step(notify, wait))
    return tuple(steps)


def _level(key: str, raw: Any, where: str, chats: tuple[str, ...]) -> Level:
    data = _mapping(raw, where, _LEVEL_FIELDS)
    deadlines = _mapping(data.get("deadlines"), f"{where}.deadlines", frozenset(_DEADLINES))
    spans = {d: _duration(deadlines.get(d), f"{where}.deadlines.{d}") for d in _DEADLINES}
    colour = data.get("colour", STANDARD_COLOURS[key])
    auto = data.get("auto_report")
    if not isinstance(auto, bool):
        raise PlanError(f"{where}.auto_report: {auto!r} must be true or false.")
    return Level(
        key=key,
        numeral=NUMERALS[key],
        name=_text(data.get("name"), f"{where}.name"),
        colour=_text(colour, f"{where}.colour"),
        criteria=_text(data.get("criteria"), f"{where}.criteria"),
        acknowledge=spans["acknowledge"],
        first_report=spans["first_report"],
        follow_up=spans["follow_up"],
        final_report=spans["final_report"],
        chain=_chain(data.get("chain"), f"{where}.chain", chats, spans["acknowledge"]),
        repeat=_integer(data.get("repeat", 0), f"{where}.repeat", 0),
        reminder=spans["reminder"],
        auto_report=auto,
    )


def _levels(raw: Any, where: str, chats: tuple[str, ...]) -> dict[str, Level]:
    data = _mapping(raw, where)
    unknown = sorted(str(k) for k in set(data) - set(LEVEL_KEYS))
    if unknown:
        raise PlanError(f"{where}: unknown level(s) {unknown}; use I, II, III and IV.")
    levels = {}
    for key in LEVEL_KEYS:
        if key not in data:
            raise PlanError(f"{where}.{key}: missing; the plan needs all of I, II, III and IV.")
        levels[key] = _level(key, data[key], f"{where}.{key}", chats)
    seen: dict[str, str] = {}
    for key, level in levels.items():
        for spelling in _spellings(level):
            if seen.setdefault(spelling, key) != key:
                raise PlanError(
                    f"{where}.{key}.name: {level.name!r} could also mean level {seen[spelling]}."
                )
    return levels


def _trigger(raw: Any, where: str, plan: EmergencyPlan) -> Trigger:
    data = _mapping(raw, where, _TRIGGER_FIELDS)
    level_raw = data.get("level")
    try:
        level = plan.level(str(level_raw)).key
    except PlanError:
        raise PlanError(
            f"{where}.level: {level_raw!r} is not a level; use I, II, III or IV."
        ) from None
    name = _text(data["name"], f"{where}.name") if "name" in data else ""
    category = _text(data["category"], f"{where}.category") if "category" in data else None
    merchant = data.get("merchant", False)
    if not isinstance(merchant, bool):
        raise PlanError(f"{where}.merchant: {merchant!r} must be true or false.")
    phrases = _texts(data["phrases"], f"{where}.phrases") if "phrases" in data else ()
    risk = _texts(data["risk"], f"{where}.risk") if "risk" in data else ()
    unknown = [t for t in risk if t not in RISK_TAGS]
    if unknown:
        raise PlanError(
            f"{where}.risk: {', '.join(unknown)} is not a risk tag; use "
            + ", ".join(RISK_TAGS)
            + "."
        )
    if risk and (category or merchant or phrases):
        raise PlanError(f"{where}: risk counts high-risk messages; give it on its own.")
    if not (category or merchant or phrases or risk):
        raise PlanError(
            f"{where}: counts nothing; give one of category, merchant: true, phrases or risk."
        )
    if merchant and (category or phrases):
        raise PlanError(
            f"{where}: merchant: true counts per merchant; it cannot be combined with "
            "category or phrases."
        )
    return Trigger(
        level=level,
        count=_integer(data.get("count"), f"{where}.count", 1),
        within=_duration(data.get("within"), f"{where}.within"),
        category=category,
        merchant=merchant,
        phrases=phrases,
        risk=risk,
        name=name,
    )


def _keywords(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    data = _mapping(raw, where)
    return {_text(k, where): _texts(v, f"{where}.{k}") for k, v in data.items()}


def _templates(raw: Any, where: str) -> dict[str, str]:
    data = _mapping(raw, where, frozenset(REPORT_KINDS))
    sample: dict[str, object] = dict.fromkeys(TEXT_PLACEHOLDERS, "—")
    sample.update(dict.fromkeys(NUMBER_PLACEHOLDERS, 0))
    templates = {}
    allowed = ", ".join(sorted(PLACEHOLDERS))
    for kind in REPORT_KINDS:
        at = f"{where}.{kind}"
        if kind not in data:
            raise PlanError(f"{at}: missing; the plan needs first, follow_up and final.")
        text = _text(data[kind], at)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise PlanError(
                f"{at}: not a valid template ({exc}); write {{{{ for a literal brace."
            ) from None
        for field in fields:
            if field not in PLACEHOLDERS:
                raise PlanError(f"{at}: unknown placeholder {{{field}}}; use {allowed}.")
        try:
            text.format(**sample)
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            raise PlanError(f"{at}: cannot be filled in ({exc!r}).") from None
        templates[kind] = text
    return templates


def load_plan(path: Path | str = DEFAULT_PLAN) -> EmergencyPlan:
    """Read and validate an emergency-plan YAML file (see escalation/incidents/data/plan.yaml)."""
    path = Path(path)
    data = read_mapping(path, PlanError)
    _mapping(data, str(path), _TOP_FIELDS)
    for field in ("chats", "levels", "templates"):
        if field not in data:
            raise PlanError(f"{path}: {field}: missing.")
    chats = _chats(data["chats"], f"{path}: chats")
    levels = _levels(data["levels"], f"{path}: levels", chats)
    keywords = _keywords(data.get("keywords") or {}, f"{path}: keywords")
    templates = _templates(data["templates"], f"{path}: templates")
    plan = EmergencyPlan(
        levels=MappingProxyType(levels),
        triggers=(),
        keywords=MappingProxyType(keywords),
        templates=MappingProxyType(templates),
        chats=chats,
    )
    raw_triggers = data.get("triggers") or []
    if not isinstance(raw_triggers, list):
        raise PlanError(f"{path}: triggers: must be a list.")
    triggers = tuple(
        _trigger(raw, f"{path}: triggers #{i}", plan) for i, raw in enumerate(raw_triggers, 1)
    )
    return EmergencyPlan(plan.levels, triggers, plan.keywords, plan.templates, plan.chats)
