"""Masking of personal numbers (PIPL) in everything that is stored, logged or sent.

`mask_pii` masks four kinds of number, keeping just enough for a person to recognise
their own:

- resident ID numbers: 18 characters (17 digits, then a digit or X) or the old 15
  digits, with a plausible birth date: ``110105********002X`` (first 6, last 4; the
  old number likewise: ``110105*****1002``);
- mainland mobiles, 1[3-9] and nine more digits, after an optional +86, 86, 0086 or 0
  that stays as typed: ``+86 138****5678``;
- bank cards: 16-19 digits starting with 3-6 or 9, plain or in groups of four (or six
  and the rest): ``6222***********0123``; not when an order label (订单号, 单号, 编号,
  order no.) stands right before the number, as order numbers are as long;
- fixed lines: 0 and an area code (or +86 and an area code), then 7-8 digits; the area
  code stays: ``0755-****5678``; not when introduced as a service line (客服热线, 专线,
  值班室, 拨打, hotline ...): that is an organisation's published number.

How: a matching copy of the text maps full-width forms (U+FF01-FF5E, U+3000), other
spaces, dashes and middle dots one to one onto ASCII, so positions agree and the spans
found in the copy are replaced in the original; untouched text keeps its own characters.
In the copy, a *run* is groups of digits joined by one separator (one or two spaces, a
dash with or without spaces around it, a dot, an underscore, a parenthesis), not touching
a letter or digit on either side. Each run is read group by group: at each group the
longest span of whole groups that reads as one of the numbers above is masked. So a
number is never found inside a longer run of digits or letters, two numbers with a
space between are both found, and a date or amount next to a phone does not join it.

Deliberately left alone: anything with fewer than 10 digits (service numbers such as
12345 or 95588, amounts, dates, times, ticket and incident references such as
T20250602-0042), decimals (130000000.00, 3.14159265358: a single dot next to a group of
one or two digits, or a group right after a dot, is a decimal point), 400/800 hotlines,
IPv4 addresses, digits glued to letters (A1234567890) or following a code and one
separator (T20250602-...), and digits in scripts other than ASCII and full width.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import pairwise
from typing import NamedTuple

# The shortest number masked: 0 + a two-digit area code + a 7-digit local number.
MIN_DIGITS = 10
# The longest span of digits one number can take: a 19-digit bank card.
_MAX_SPAN = 19


def _matching_table() -> dict[int, int]:
    table = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # full-width ! ... ~
    spaces = (0x00A0, 0x3000, 0x202F, 0x205F, *range(0x2000, 0x200B))
    table |= dict.fromkeys(spaces, ord(" "))
    dashes = (*range(0x2010, 0x2016), 0x2212, 0xFE58, 0xFE63)
    table |= dict.fromkeys(dashes, ord("-"))
    table |= dict.fromkeys((0x00B7, 0x30FB, 0xFF65), ord("."))  # middle dots
    return table


_MATCHING = _matching_table()
# Translating only the stretches that need it beats str.translate over all of the text.
_WIDE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_MATCHING)) + "]+")


def _narrowed(stretch: re.Match[str]) -> str:
    return stretch.group().translate(_MATCHING)


# Cheap pre-check on the original text: most messages carry no number of 10 digits.
_ENOUGH_DIGITS = re.compile(rf"[0-9０-９](?:[^0-9０-９]*+[0-9０-９]){{{MIN_DIGITS - 1}}}")

_JOIN = r"(?: {1,2}| ?- ?|[._]|\)[ -]?| ?\()"
_RUN = re.compile(
    # The first digit, then: not after a letter or digit, nor after a code and one
    # separator (T20250602-); %2B is a URL-encoded plus sign. Starting with the digit
    # lets the regex engine skip ahead to digits.
    r"[0-9](?:(?<![0-9A-Za-z][0-9])(?<![0-9][-._][0-9])|(?<=%2[Bb][0-9]))"
    rf"(?>[0-9]*(?:{_JOIN}[0-9]+)*)[Xx]?(?![0-9A-Za-z])"
)
_GROUP = re.compile(r"[0-9]+[Xx]?")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})"
_IPV4 = re.compile(rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])")
_MOBILE = re.compile(r"(0086|86|0)?(1[3-9][0-9]{9})")
_FIXED = re.compile(
    r"(?P<lead>(?:0086|86)0?|0)(?P<area>10|2[0-9]|[3-9][0-9]{2})(?P<local>[0-9]{7,8})"
)
_HOTLINE_AREAS = frozenset({"400", "800"})
_CARD_FIRST = frozenset("345569")
# An order number is as long as a bank card: the label right before it tells them apart.
_ORDER_LABEL = re.compile(
    r"(?i:订单|单号|编号|流水号|order)(?i:\s*(?:no|id|number|num|nr|号码|号|编号))?"
    r"[\s.:#=是为]{0,4}$"
)
# A landline introduced as a service line is the organisation's published number, not
# personal data: 客服热线0755-2370 8866, 商户专线, 拨打 (in answers), 平台客服值班室.
_SERVICE_LABEL = re.compile(
    r"(?i:热线|专线|客服|值班室?|服务电话|咨询电话|投诉电话|举报电话|办公电话|总机|拨打|致电|"
    r"hotline)(?:电话|号码)?[\s:=是为(+]{0,3}$"
)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _Found(NamedTuple):
    start: int  # where the masked part begins; a prefix before it stays as typed
    end: int
    kind: str  # "id" | "card" | "mobile" | "fixed"
    number: str  # ASCII digits: the whole number; a mobile without prefix; a line's local part


def _plausible_date(year: int, month: str, day: str) -> bool:
    m, d = int(month), int(day)
    if not 1 <= m <= 12 or not 1 <= d <= _DAYS[m - 1]:
        return False
    return m != 2 or d < 29 or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))


def _is_id(digits: str) -> bool:
    if digits[0] == "0":
        return False
    if len(digits) == 18:
        year = digits[6:10]
        return (
            digits[:17].isdigit()
            and year[:2] in ("19", "20")
            and _plausible_date(int(year), digits[10:12], digits[12:14])
        )
    # The old 15-digit number: region, YYMMDD, serial; no check character.
    born = 1900 + int(digits[6:8])
    return digits.isdigit() and _plausible_date(born, digits[8:10], digits[10:12])


def _kind(join: str) -> str:
    for mark in "()-._":
        if mark in join:
            return "(" if mark == ")" else mark
    return " "


def _classify(
    norm: str, groups: list[tuple[int, int]], i: int, j: int, digits: str
) -> _Found | None:
    """Return the number that groups i..j of a run make together, if they make one."""
    n = len(digits)
    # From the digits alone first: most spans of a run are none of the four.
    is_id = n in (15, 18) and _is_id(digits)
    if not is_id and not digits.isdigit():
        return None  # an X belongs to an ID number only
    mobile = _MOBILE.fullmatch(digits) if 11 <= n <= 15 else None
    fixed = _FIXED.fullmatch(digits) if digits[0] in "08" else None
    if not (is_id or mobile or fixed or (16 <= n <= 19 and digits[0] in _CARD_FIRST)):
        return None
    span = groups[i : j + 1]
    joins = [norm[a[1] : b[0]] for a, b in pairwise(span)]
    sizes = [b - a for a, b in span]
    if joins.count(".") == 1:
        dot = joins.index(".")
        if min(sizes[dot], sizes[dot + 1]) <= 2:
            return None  # a decimal point: 130000000.00 or 12.345678901 is an amount
    kinds = {_kind(x) for x in joins}
    start, end = span[0][0], span[-1][1]
    if is_id and "(" not in kinds:
        return _Found(start, end, "id", digits)
    if (
        16 <= n <= 19
        and digits[0] in _CARD_FIRST
        and len(kinds) <= 1
        and "(" not in kinds
        and (
            len(sizes) == 1
            or (all(s == 4 for s in sizes[:-1]) and sizes[-1] <= 7)
            or (sizes[0] == 6 and len(sizes) == 2)
        )
        and not _ORDER_LABEL.search(norm, max(0, start - 16), start)
    ):
        return _Found(start, end, "card", digits)
    bounds = [0]
    for size in sizes:
        bounds.append(bounds[-1] + size)
    if mobile:
        first = bisect_right(bounds, mobile.start(2)) - 1
        inner = {_kind(x) for x in joins[first:]}
        if "(" not in inner and (len(inner) <= 1 or len(sizes) - first <= 4):
            at = span[first][0] + mobile.start(2) - bounds[first]
            return _Found(at, end, "mobile", mobile.group(2))
    if (
        fixed
        and fixed["area"] not in _HOTLINE_AREAS
        and not _SERVICE_LABEL.search(norm, max(0, start - 12), start)
    ):
        area_start, local_start = fixed.start("area"), fixed.start("local")
        inside_area = any(area_start < b < local_start for b in bounds)
        local_at = bisect_right(bounds, local_start) - 1
        on_boundary = bounds[local_at] == local_start
        # 075512345678, or +86 75512345678: the area code is not a group of its own.
        after_code = fixed["lead"].startswith("86") or fixed["lead"].startswith("0086")
        glued = len(sizes) == 1 or (
            after_code and len(sizes) == 2 and bounds[1] == fixed.end("lead")
        )
        local_sizes = sizes[local_at:] if on_boundary else []
        if (
            not inside_area
            and (on_boundary or glued)
            and len(local_sizes) <= 3
            and all(s >= 3 for s in local_sizes)
            and all(_kind(x) != "(" for x in joins[local_at:])
        ):
            at = span[local_at][0] + local_start - bounds[local_at]
            return _Found(at, end, "fixed", fixed["local"])
    return None


def _read_run(norm: str, start: int, end: int) -> list[_Found]:
    groups = [m.span() for m in _GROUP.finditer(norm, start, end)]
    texts = [norm[a:b] for a, b in groups]
    left = [0] * (len(groups) + 1)  # digits from group i to the end of the run
    for i in range(len(groups) - 1, -1, -1):
        left[i] = left[i + 1] + len(texts[i])
    # An IPv4 address is no personal number of ours; no number reads across one either.
    blocked = {
        a
        for ip in (_IPV4.finditer(norm, start, end) if "." in norm[start:end] else ())
        for a in range(*ip.span())
    }
    found: list[_Found] = []
    i = 0
    while i < len(groups) and left[i] >= MIN_DIGITS:
        if i and norm[groups[i - 1][1] : groups[i][0]] == ".":
            i += 1  # the decimals of 3.14159265358 are no number of their own
            continue
        last = i
        while (
            last < len(groups)
            and groups[last][0] not in blocked
            and left[i] - left[last + 1] <= _MAX_SPAN
        ):
            last += 1
        hit = None
        for j in range(last - 1, i - 1, -1):  # the longest reading first
            if left[i] - left[j + 1] < MIN_DIGITS:
                break
            if hit := _classify(norm, groups, i, j, "".join(texts[i : j + 1])):
                break
        if hit:
            found.append(hit)
            i = j + 1
        else:
            i += 1
    return found


def _numbers(text: str) -> list[_Found]:
    if len(text) < MIN_DIGITS or not _ENOUGH_DIGITS.search(text):
        return []
    norm = text if text.isascii() else _WIDE.sub(_narrowed, text)
    found: list[_Found] = []
    for run in _RUN.finditer(norm):
        if run.end() - run.start() >= MIN_DIGITS:
            found += _read_run(norm, run.start(), run.end())
    return found


def _masked(found: _Found) -> str:
    number, kind = found.number, found.kind
    keep = {"id": 6, "card": 4, "mobile": 3, "fixed": 0}[kind]
    return number[:keep] + "*" * (len(number) - keep - 4) + number[-4:]


def mask_pii(text: str) -> str:
    """Return the text with ID, mobile, bank card and fixed-line numbers masked."""
    found = _numbers(text)
    if not found:
        return text
    parts: list[str] = []
    last = 0
    for f in found:
        parts += (text[last : f.start], _masked(f))
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def find_mobile(text: str) -> str | None:
    """Return the first mainland mobile number in the text as 11 ASCII digits."""
    return next((f.number for f in _numbers(text) if f.kind == "mobile"), None)
