"""Dialect forms to standard Mandarin: one table both the answer engine and the risk
scorer read (`knowledge/lexicon/dialect.txt`), so a Cantonese, Southwestern, Northeastern
or Wu message means the same to both.

Cantonese is mapped only in a message that shows it, and before traditional characters are
converted (OpenCC turns 係 into 系, which is also standard Mandarin); the other dialects'
words have one plain reading and are mapped everywhere, after conversion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

DIALECT_PATH = Path(__file__).parent / "lexicon" / "dialect.txt"
_SECTIONS = ("cantonese", "cantonese-markers", "mandarin")
# Wu's sentence-final question particle: 可以伐 = 可以吗; 砍伐, 步伐 keep theirs.
_WU_QUESTION = re.compile(r"(?<![砍步征讨杀攻诛])伐(?=$|[\s?？!！,，.。~～])")


class DialectError(ValueError):
    """The dialect table cannot be read; names the file and line."""


def _replacer(table: dict[str, str]) -> Callable[[str], str]:
    if not table:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: table[m.group(0)], text)


class Dialects:
    """The three parts of the table, compiled once."""

    def __init__(
        self, cantonese: dict[str, str], markers: frozenset[str], mandarin: dict[str, str]
    ) -> None:
        self.cantonese = cantonese
        self.markers = markers
        self.mandarin = mandarin
        self._map_cantonese = _replacer(cantonese)
        self._map_mandarin = _replacer(mandarin)
        # Any Cantonese word of the table marks a message, as does a marker character.
        words = sorted((k for k, v in cantonese.items() if len(k) > 1 and v != k), key=len)
        alternatives = [re.escape(w) for w in reversed(words)]
        if markers:
            alternatives.append("[" + "".join(sorted(markers)) + "]")
        self._marker = re.compile("|".join(alternatives)) if alternatives else None

    def is_cantonese(self, text: str) -> bool:
        return bool(self._marker and self._marker.search(text))

    def before_conversion(self, text: str) -> str:
        """Map Cantonese, when the text shows it; call before traditional → simplified."""
        return self._map_cantonese(text) if self.is_cantonese(text) else text

    def after_conversion(self, text: str) -> str:
        """Map the other dialects' words; call on simplified text."""
        return _WU_QUESTION.sub("吗", self._map_mandarin(text))


def parse(text: str, source: str = "dialect.txt") -> Dialects:
    """Read the table: `[section]` headers, `from<TAB>to` lines, `#` comments."""
    tables: dict[str, dict[str, str]] = {"cantonese": {}, "mandarin": {}}
    markers: set[str] = set()
    section: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in _SECTIONS:
                raise DialectError(
                    f"{source}, line {n}: unknown section [{section}]; "
                    f"use one of {', '.join(_SECTIONS)}."
                )
            continue
        if section is None:
            raise DialectError(f"{source}, line {n}: a mapping before any [section] header.")
        if section == "cantonese-markers":
            markers.update(ch for ch in line if not ch.isspace())
            continue
        parts = raw.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DialectError(f"{source}, line {n}: write `from<TAB>to`, got {raw!r}.")
        tables[section][parts[0].strip()] = parts[1].strip()
    return Dialects(tables["cantonese"], frozenset(markers), tables["mandarin"])


@cache
def builtin_dialects(path: Path = DIALECT_PATH) -> Dialects:
    """The table that ships with the project (read once per process)."""
    return parse(path.read_text(encoding="utf-8"), path.name)
