"""Knowledge-base files: the format of docs/formats.md, loaded with errors that say where."""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BUNDLED_KB = Path(__file__).parent / "data" / "kb.yaml"
BUNDLED_QUERIES = Path(__file__).parent / "data" / "queries.jsonl"

_ID_RE = re.compile(r"^[a-z0-9-]+$")
_TOP_KEYS = frozenset({"name", "version", "synonyms", "words", "entries"})
_ENTRY_KEYS = frozenset({"id", "audience", "category", "questions", "answer", "keywords"})


class Audience(enum.Enum):
    CONSUMER = "consumer"
    MERCHANT = "merchant"
    ALL = "all"

    def sees(self, entry_audience: Audience) -> bool:
        """Return whether an asker of this audience may be answered by such an entry."""
        return entry_audience is Audience.ALL or entry_audience is self or self is Audience.ALL


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    audience: Audience
    category: str
    questions: tuple[str, ...]
    answer: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    name: str
    version: str
    synonyms: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    entries: tuple[Entry, ...]
    path: Path | None = None

    def entry(self, entry_id: str) -> Entry:
        """Return the entry with this id (KeyError if none)."""
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def summary(self) -> dict[str, Counter[str]]:
        """Count entries per audience and per category."""
        return {
            "audience": Counter(e.audience.value for e in self.entries),
            "category": Counter(e.category for e in self.entries),
        }


class KbError(ValueError):
    """A knowledge-base file that cannot be used; the message names file, entry and field."""


def load_kb(path: Path | str) -> KnowledgeBase:
    """Read and validate a knowledge-base YAML file."""
    path = Path(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KbError(f"{path}: file not found.") from None
    except UnicodeDecodeError as exc:
        raise KbError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except OSError as exc:
        raise KbError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        data = yaml.safe_load(raw_text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise KbError(f"{path}: not valid YAML{where}: {problem}.") from None
    except ValueError as exc:  # PyYAML builds dates itself: 2025-13-01 is a ValueError
        raise KbError(f"{path}: a value is not valid ({exc}); quote it or correct it.") from None
    return parse_kb(data, source=str(path), path=path)


def parse_kb(data: Any, *, source: str = "<kb>", path: Path | None = None) -> KnowledgeBase:
    """Validate an already-parsed YAML document as a knowledge base."""
    if not isinstance(data, dict):
        raise KbError(f"{source}: the top level must be a mapping with 'name' and 'entries'.")
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        raise KbError(
            f"{source}: unknown top-level field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_TOP_KEYS))}."
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise KbError(f"{source}: field 'name' must be a non-empty text.")
    version = data.get("version", "")
    version = "" if version is None else str(version)
    synonyms = _parse_synonyms(data.get("synonyms"), source)
    words = _parse_word_list(data.get("words"), source, "words")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise KbError(f"{source}: field 'entries' must be a non-empty list.")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(raw_entries, start=1):
        entry = _parse_entry(raw, position, source)
        if entry.id in seen:
            raise KbError(
                f"{source}, entry '{entry.id}' (#{position}): id is already used by "
                f"entry #{seen[entry.id]}; ids must be unique."
            )
        seen[entry.id] = position
        entries.append(entry)
    return KnowledgeBase(name.strip(), version, synonyms, words, tuple(entries), path)


def _parse_synonyms(raw: Any, source: str) -> tuple[tuple[str, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise KbError(f"{source}: field 'synonyms' must be a list of word lists.")
    groups: list[tuple[str, ...]] = []
    for i, group in enumerate(raw, start=1):
        if not isinstance(group, list):
            raise KbError(f"{source}: synonyms group #{i} must be a list of words.")
        words = tuple(str(w).strip() for w in group if w is not None and str(w).strip())
        if len(words) < 2:
            raise KbError(f"{source}: synonyms group #{i} needs two or more words, has {words}.")
        groups.append(words)
    return tuple(groups)


def _parse_word_list(raw: Any, source: str, field: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise KbError(f"{source}: field '{field}' must be a list of words.")
    return tuple(str(w).strip() for w in raw if w is not None and str(w).strip())


def _parse_entry(raw: Any, position: int, source: str) -> Entry:
    label = f"{source}, entry #{position}"
    if not isinstance(raw, dict):
        raise KbError(f"{label}: must be a mapping with id, audience, questions and answer.")
    entry_id = raw.get("id")
    if entry_id is not None:
        label = f"{source}, entry '{entry_id}' (#{position})"
    unknown = sorted(str(k) for k in raw if k not in _ENTRY_KEYS)
    if unknown:
        raise KbError(
            f"{label}: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_ENTRY_KEYS))}."
        )
    if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
        raise KbError(
            f"{label}: id {entry_id!r} is not well formed; use lower-case letters, digits "
            "and '-', e.g. consumer-claim-how."
        )
    audience_raw = raw.get("audience")
    try:
        audience = Audience(audience_raw)
    except ValueError:
        raise KbError(
            f"{label}: audience {audience_raw!r} is not one of consumer, merchant, all."
        ) from None
    category = raw.get("category", "")
    category = "" if category is None else str(category).strip()
    questions_raw = raw.get("questions")
    if isinstance(questions_raw, str):
        questions_raw = [questions_raw]
    if not isinstance(questions_raw, list):
        raise KbError(f"{label}: questions must be a list with at least one question.")
    questions = tuple(str(q).strip() for q in questions_raw if q is not None and str(q).strip())
    if not questions:
        raise KbError(f"{label}: questions must hold at least one non-empty question.")
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise KbError(f"{label}: answer must be a non-empty text.")
    keywords = _parse_word_list(raw.get("keywords"), label, "keywords")
    return Entry(entry_id, audience, category, questions, answer.strip(), keywords)
