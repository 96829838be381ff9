"""Durations and sums in complaints, Chinese numerals too (都三天了, 一万五, 七十多万)."""

from __future__ import annotations

import re

_DIGITS: dict[str, float] = dict(
    zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_DIGITS.update({"几": 3, "半": 0.5})  # 几 is "a few": three is a fair reading
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万几半]+)"

_DURATION = re.compile(
    rf"({_NUM})(多)?(?:个)?(多)?(半)?(小时|钟头|分钟|天|日|周|星期|礼拜|个月|月|年)(?![内以之])"
)
_DAYS_PER = {"分钟": 1 / 1440, "小时": 1 / 24, "钟头": 1 / 24, "天": 1, "日": 1, "周": 7,
             "星期": 7, "礼拜": 7, "个月": 30, "月": 30, "年": 365}  # fmt: skip
# Named spans that are durations without a number.
_NAMED_SPANS = (
    (re.compile("去年|前年"), 365.0),
    (re.compile("上上个?月|上上周|上上星期|上上礼拜"), 14.0),
    (re.compile("上个?月"), 30.0),
    (re.compile("半年"), 180.0),
    (re.compile("半个?月"), 15.0),
    (re.compile("上周|上星期|上礼拜"), 7.0),
)
_AMOUNT = re.compile(rf"({_NUM})(多)?(万|千|百)?(多)?(块|元|蚊)?(钱)?")


def cn_number(token: str) -> float | None:
    """Parse Arabic or Chinese numerals: 12, 3.5, 三, 十二, 一万五, 七十, 两千三百."""
    if not token:
        return None
    try:
        return float(token)
    except ValueError:
        pass
    total = 0.0
    section = 0.0
    digit: float | None = None
    last_unit = 1
    for ch in token:
        if ch in _DIGITS:
            digit = float(_DIGITS[ch])
        elif ch in _UNITS:
            section += (digit if digit is not None else 1) * _UNITS[ch]
            last_unit = _UNITS[ch]
            digit = None
        elif ch == "万":
            section += digit or 0
            total += (section or 1) * 10_000
            section, digit, last_unit = 0.0, None, 10_000
        else:
            return None
    if digit is not None:
        # 一万五 is 15,000 and 两千三 is 2,300: a bare last digit counts in the next unit down.
        section += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return total + section


def longest_days(text: str) -> float:
    """The longest span of time the text names, in days (0 when none)."""
    best = 0.0
    for m in _DURATION.finditer(text):
        n = cn_number(m.group(1))
        if n is None:
            continue
        days = n * _DAYS_PER[m.group(5)]
        if m.group(4):
            days += 0.5 * _DAYS_PER[m.group(5)]
        best = max(best, days)
    for pattern, days in _NAMED_SPANS:
        if pattern.search(text):
            best = max(best, days)
    return best


def largest_sum(text: str) -> float:
    """The largest sum of money the text names, in yuan (0 when none).

    A number counts as money only with 块/元/钱 or a 万/千/百 magnitude (五万多, 两千块);
    counts of things (两百多笔, 三张券) are not sums.
    """
    best = 0.0
    for m in _AMOUNT.finditer(text):
        n = cn_number(m.group(1))
        if n is None:
            continue
        magnitude, currency = m.group(3), m.group(5) or m.group(6)
        tail = text[m.end() : m.end() + 1]
        if not currency and not magnitude and not any(u in m.group(1) for u in "万千百"):
            continue
        if not currency and tail and tail in "笔张单次个人户家台件条元":
            continue
        if magnitude:
            n *= {"万": 10_000, "千": 1000, "百": 100}[magnitude]
        best = max(best, n)
    return best
