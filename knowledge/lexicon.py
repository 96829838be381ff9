"""The built-in domain lexicon (knowledge/lexicon/), merged with a knowledge base's own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LEXICON_DIR = Path(__file__).parent / "lexicon"


@dataclass(frozen=True, slots=True)
class SmalltalkIntent:
    name: str
    patterns: frozenset[str]
    reply: str


@dataclass(frozen=True, slots=True)
class Lexicon:
    words: tuple[tuple[str, int | None], ...]  # (word, jieba frequency or None)
    synonyms: tuple[tuple[str, ...], ...]  # first word of a group is its canonical form
    colloquial: tuple[tuple[str, str], ...]  # (as typed, standard form)
    stopwords: frozenset[str]
    smalltalk: tuple[SmalltalkIntent, ...] = field(default=())
    english: tuple[tuple[str, str], ...] = ()  # (Latin word, the Chinese word it means)


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append(line.rstrip("\n"))
    return out


def _parse_words(lines: list[str]) -> tuple[tuple[str, int | None], ...]:
    words: dict[str, int | None] = {}
    for line in lines:
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words[parts[0]] = freq
    return tuple(words.items())


def _parse_colloquial(lines: list[str]) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for line in lines:
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) >= 2 and parts[0].strip() and parts[0].strip() != parts[1].strip():
            pairs[parts[0].strip()] = parts[1].strip()
    return tuple(pairs.items())


def _parse_smalltalk(raw: Any) -> tuple[SmalltalkIntent, ...]:
    intents = raw.get("intents", []) if isinstance(raw, dict) else []
    out = []
    for item in intents:
        patterns = frozenset(str(p).strip().lower() for p in item.get("patterns", []) if p)
        out.append(SmalltalkIntent(str(item["name"]), patterns, str(item["reply"]).strip()))
    return tuple(out)


@cache
def builtin_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Load the lexicon files that ship with the project (read once per process)."""
    smalltalk_path = directory / "smalltalk.yaml"
    smalltalk_raw = (
        yaml.safe_load(smalltalk_path.read_text(encoding="utf-8"))
        if smalltalk_path.exists()
        else None
    )
    return Lexicon(
        words=_parse_words(_lines(directory / "domain_words.txt")),
        synonyms=tuple(
            tuple(line.split())
            for line in _lines(directory / "synonyms.txt")
            if len(line.split()) > 1
        ),
        colloquial=_parse_colloquial(_lines(directory / "colloquial.txt")),
        stopwords=frozenset(w.strip() for w in _lines(directory / "stopwords.txt")),
        smalltalk=_parse_smalltalk(smalltalk_raw),
        english=_parse_colloquial(_lines(directory / "english.txt")),
    )
