"""Text normalisation: one canonical form for what users type and what the KB says."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import opencc

from knowledge.dialect import builtin_dialects

# Long stories hide the question in a sentence or two; past this the text only costs time,
# so a longer message keeps its head and its tail, where the question usually is.
MAX_CHARS = 600

_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(\D)\1{2,}")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or ch in "+-."


class Normalizer:
    """Full-width to half-width, case, punctuation, dialect (knowledge.dialect), traditional
    to simplified, colloquialisms."""

    def __init__(self, colloquial: Iterable[tuple[str, str]] = ()) -> None:
        pairs = sorted(dict(colloquial).items(), key=lambda kv: -len(kv[0]))
        self._map = dict(pairs)
        self._pattern = re.compile("|".join(re.escape(k) for k, _ in pairs)) if pairs else None

    def __call__(self, text: str) -> str:
        """Return the normalised text: words and numbers separated by single spaces."""
        text = text or ""
        if len(text) > MAX_CHARS * 4:
            text = text[: MAX_CHARS * 2] + " " + text[-MAX_CHARS * 2 :]
        text = unicodedata.normalize("NFKC", text).lower()
        text = "".join(ch if _keep(ch) else " " for ch in text)
        text = _SPACES.sub(" ", text).strip()
        if len(text) > MAX_CHARS:
            half = MAX_CHARS // 2
            text = text[:half] + " " + text[-half:]
        if not text:
            return ""
        dialects = builtin_dialects()
        text = dialects.after_conversion(_t2s().convert(dialects.before_conversion(text)))
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._map[m.group(0)], text)
        # "。。。" or "哈哈哈哈" carry nothing the first two do not.
        text = _REPEATS.sub(r"\1\1", text)
        return text.strip(" .+-")
