"""Masking of identity-card and phone numbers in anything that is logged or leaves us."""

from __future__ import annotations

import re

# 18-character resident ID: region, birth date (which keeps order numbers out), serial.
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(\d{3}[\dXx])(?![0-9A-Za-z])"
)
_ID_CARD_15 = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3})(?![0-9A-Za-z])"
)
# Mainland mobile numbers, optionally with +86 and spaces or dashes (138 1234 5678).
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def mask_pii(text: str) -> str:
    """Return the text with ID numbers as 110101********1234 and mobiles as 138****5678."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", text)
    text = _ID_CARD_15.sub(lambda m: f"{m.group(1)}******{m.group(3)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
