"""Greetings, thanks and other small talk: a friendly reply of their own, never a KB entry."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.lexicon import SmalltalkIntent

# Longer messages are questions that happen to start politely ("你好，补贴怎么领").
_MAX_LEN = 16
_FILLER = set("啊呀哦噢喔哈嘿啦吧呢嘛么吗的了 ~")
# Joining words between two small-talk phrases ("你是机器人还是真人").
_FILLER_WORDS = ("还是", "是不是", "请问", "那个", "一下", "真的", "就是")


def smalltalk_intent(
    normalized: str, intents: Sequence[SmalltalkIntent]
) -> SmalltalkIntent | None:
    """Return the intent when the whole message is small talk, else None."""
    text = normalized.strip()
    if not text or len(text) > _MAX_LEN:
        return None
    patterns = sorted(
        ((p, intent) for intent in intents for p in intent.patterns if p),
        key=lambda pi: -len(pi[0]),
    )
    first: SmalltalkIntent | None = None
    rest = text
    for pattern, intent in patterns:
        if pattern in rest:
            if first is None:
                first = intent
            rest = rest.replace(pattern, " ")
    if first is None:
        return None
    for word in _FILLER_WORDS:
        rest = rest.replace(word, " ")
    return first if all(ch in _FILLER for ch in rest) else None
