"""T+1 subsidy statistics: the platform's daily CSV export, its checks, import and formulas.

The helpdesk issues no subsidies. The platform's subsidy system exports one row per day and
industry; `helpdesk stats import FILE` loads it, and the digests report it by industry with
the use rate (核销率 = amount used / amount issued) and the leverage ratio
(拉动比 = driven sales / amount used).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import SubsidyStat


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # SubsidyRow field and English alias
    header: str  # the Chinese header the platform writes
    kind: str  # "date" | "text" | "count" | "money"
    example: str


# The export's columns, in the order the sample writes them. Money is in yuan, with up to
# two decimals; it is stored in fen so sums are exact.
COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", "date", "2025-06-02"),
    Column("industry", "行业", "text", "家电"),
    Column("quotas_issued", "发放券数", "count", "12,000"),
    Column("amount_issued", "发放金额", "money", "1,800,000.00"),
    Column("users_claiming", "领券人数", "count", "9,500"),
    Column("users_using", "用券人数", "count", "4,200"),
    Column("uses", "核销笔数", "count", "4,800"),
    Column("amount_used", "核销金额", "money", "720,000.00"),
    Column("matching_discount", "配套优惠金额", "money", "150,000.00"),
    Column("refund_amount", "退款金额", "money", "12,000.00"),
    Column("merchants", "参与商户数", "count", "320"),
    Column("driven_sales", "带动销售额", "money", "5,600,000.00"),
)
MAX_ERRORS = 20  # a wholly wrong file names the first few problems, not thousands


class StatsError(ValueError):
    """A statistics file that cannot be loaded; the message lists each problem and its place."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        more = "" if len(problems) < MAX_ERRORS else f"\n  …（只列出前 {MAX_ERRORS} 处）"
        super().__init__(
            f"{path}: 统计文件未导入（共 {len(problems)} 处问题，整个文件都未写入）：\n  "
            + "\n  ".join(problems)
            + more
            + "\n请改正后重新运行 helpdesk stats import"
            + "（格式见 docs/formats.md“Subsidy statistics (CSV)”一节）。"
        )


@dataclass(frozen=True, slots=True)
class SubsidyRow:
    """One day and industry of the export; money in fen."""

    day: date
    industry: str
    quotas_issued: int
    amount_issued: int
    users_claiming: int
    users_using: int
    uses: int
    amount_used: int
    matching_discount: int
    refund_amount: int
    merchants: int
    driven_sales: int


NUMBER_FIELDS = tuple(f.name for f in fields(SubsidyRow))[2:]


@dataclass(frozen=True, slots=True)
class IndustryStat:
    """Sums over a period for one industry (or the total row: industry "合计")."""

    industry: str
    days: int
    quotas_issued: int
    amount_issued: int
    users_claiming: int
    users_using: int
    uses: int
    amount_used: int
    matching_discount: int
    refund_amount: int
    merchants: int
    driven_sales: int

    @property
    def use_rate(self) -> float | None:
        return use_rate(self.amount_used, self.amount_issued)

    @property
    def leverage_ratio(self) -> float | None:
        return leverage_ratio(self.driven_sales, self.amount_used)


TOTAL = "合计"


def use_rate(amount_used: int, amount_issued: int) -> float | None:
    """Return 核销率: amount used / amount issued (None when nothing was issued)."""
    return amount_used / amount_issued if amount_issued else None


def leverage_ratio(driven_sales: int, amount_used: int) -> float | None:
    """Return 拉动比: sales the subsidy drove / subsidy amount used (None when none used)."""
    return driven_sales / amount_used if amount_used else None


def _norm_header(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "").replace("_", "")
    return re.sub(r"\((元|人民币元|yuan|cny)\)$", "", t)


_HEADERS: dict[str, Column] = {}
for _c in COLUMNS:
    _HEADERS[_norm_header(_c.header)] = _c
    _HEADERS[_norm_header(_c.key)] = _c
_HEADERS[_norm_header("day")] = COLUMNS[0]


def _parse_date(raw: str) -> date | None:
    t = unicodedata.normalize("NFKC", raw).strip()
    m = re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?", t)
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_number(raw: str, kind: str) -> tuple[int | None, str | None]:
    """Return (value, problem): counts as integers, money in fen."""
    t = unicodedata.normalize("NFKC", raw).strip().replace(",", "").replace(" ", "")
    t = t.removeprefix("¥").removeprefix("￥")
    if not t:
        return None, "为空；请填写数字（没有就写 0）"
    try:
        value = Decimal(t)
    except InvalidOperation:
        return None, f"“{raw.strip()}”不是数字；请只写数字，可带千位分隔符，如 12,345"
    if not value.is_finite():
        return None, f"“{raw.strip()}”不是数字；请只写数字，可带千位分隔符，如 12,345"
    if value < 0:
        return None, f"{raw.strip()} 为负数；统计数不能为负，退款请写在“退款金额”列"
    if kind == "count":
        if value != value.to_integral_value():
            return None, f"{raw.strip()} 不是整数；人数、笔数、券数、商户数请写整数"
        return int(value), None
    fen = value * 100
    if fen != fen.to_integral_value():
        return None, f"{raw.strip()} 超过两位小数；金额以元为单位，最多两位小数"
    return int(fen), None


def parse_stats(text: str, path: str = "<stats>") -> list[SubsidyRow]:
    """Parse and check an export; raise StatsError naming each row and column at fault."""
    text = text.removeprefix("\ufeff")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise StatsError(
            path, ["文件为空；第 1 行应为表头：" + "，".join(c.header for c in COLUMNS)]
        )
    index = _column_index(header, path)
    problems: list[str] = []
    rows: list[SubsidyRow] = []
    seen: dict[tuple[date, str], int] = {}
    for line_no, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(problems) >= MAX_ERRORS:
            break
        day, industry, numbers = _parse_row(line_no, cells, index, problems)
        if day is None or not industry:
            continue
        first = seen.setdefault((day, industry), line_no)
        if first != line_no:
            problems.append(
                f"第 {line_no} 行：{day.isoformat()} {industry} 与第 {first} 行重复；"
                "每天每个行业只写一行"
            )
        elif len(numbers) == len(NUMBER_FIELDS):
            rows.append(SubsidyRow(day, industry, **numbers))
    if problems:
        raise StatsError(path, problems[:MAX_ERRORS])
    if not rows:
        raise StatsError(path, ["只有表头，没有数据行；请导出至少一天的数据"])
    return rows


def _column_index(header: Sequence[str], path: str) -> dict[str, int]:
    """Return each column's position in the header; raise StatsError when any is unknown,
    repeated or missing."""
    problems: list[str] = []
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        if not cell.strip():
            continue
        col = _HEADERS.get(_norm_header(cell))
        if col is None:
            problems.append(
                f"第 1 行（表头）第 {i + 1} 列：无法识别的列名“{cell.strip()}”；"
                "请改为 docs/formats.md 表中的中文列名或英文别名，或删除该列"
            )
        elif col.key in index:
            problems.append(f"第 1 行（表头）第 {i + 1} 列：“{cell.strip()}”与前面的列重复")
        else:
            index[col.key] = i
    missing = [c for c in COLUMNS if c.key not in index]
    if missing:
        problems.append(
            "第 1 行（表头）缺少列："
            + "，".join(f"{c.header}（{c.key}）" for c in missing)
            + "；请补上这些列"
        )
    if problems:
        raise StatsError(path, problems)
    return index


def _parse_row(
    line_no: int, cells: Sequence[str], index: Mapping[str, int], problems: list[str]
) -> tuple[date | None, str, dict[str, int]]:
    """Return one data row's day, industry and numbers; add what is wrong to `problems`."""
    day: date | None = None
    industry = ""
    numbers: dict[str, int] = {}
    for col in COLUMNS:
        where = f"第 {line_no} 行，列“{col.header}”"
        i = index[col.key]
        raw = cells[i] if i < len(cells) else ""
        if col.kind == "date":
            day = _parse_date(raw)
            if day is None:
                problems.append(f"{where}：“{raw.strip()}”不是日期；请写成 2025-06-02")
        elif col.kind == "text":
            industry = unicodedata.normalize("NFKC", raw).strip()
            problem = _industry_problem(industry)
            if problem:
                problems.append(f"{where}：{problem}")
        else:
            number, problem = _parse_number(raw, col.kind)
            if number is None:
                problems.append(f"{where}：{problem}")
            else:
                numbers[col.key] = number
    return day, industry, numbers


def _industry_problem(industry: str) -> str | None:
    if not industry:
        return "为空；请填写行业，如 家电、数码、餐饮"
    if len(industry) > 32:
        return f"“{industry[:40]}”超过 32 个字；请用简短的行业名"
    return None


def read_stats_file(path: Path) -> list[SubsidyRow]:
    """Read and check an export file (UTF-8, with or without a BOM)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StatsError(str(path), [f"无法读取文件（{exc.strerror}）；请检查路径"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StatsError(
            str(path),
            [f"第 {line} 行不是 UTF-8 编码；请在 Excel 中“另存为 CSV UTF-8”后重试"],
        ) from None
    return parse_stats(text, str(path))


async def import_stats(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[SubsidyRow], at: datetime
) -> dict[date, int]:
    """Load rows in one transaction, each replacing its day and industry; return rows per day."""
    per_day: dict[date, int] = {}
    async with sessions.begin() as s:
        for row in rows:
            await s.execute(
                delete(SubsidyStat).where(
                    SubsidyStat.day == row.day, SubsidyStat.industry == row.industry
                )
            )
            await s.flush()
            s.add(
                SubsidyStat(
                    day=row.day,
                    industry=row.industry,
                    **{k: getattr(row, k) for k in NUMBER_FIELDS},
                    imported_at=at,
                )
            )
            per_day[row.day] = per_day.get(row.day, 0) + 1
    return dict(sorted(per_day.items()))


async def industry_stats(
    sessions: async_sessionmaker[AsyncSession], first_day: date, last_day: date
) -> list[IndustryStat]:
    """Return sums by industry for first_day..last_day inclusive, largest use first, plus a
    total row (empty when nothing was imported for those days)."""
    sums = [func.sum(getattr(SubsidyStat, k)) for k in NUMBER_FIELDS]
    async with sessions() as s:
        result = await s.execute(
            select(SubsidyStat.industry, func.count(), *sums)
            .where(SubsidyStat.day >= first_day, SubsidyStat.day <= last_day)
            .group_by(SubsidyStat.industry)
        )
        found = [IndustryStat(str(r[0]), int(r[1]), *(int(v or 0) for v in r[2:])) for r in result]
    if not found:
        return []
    found.sort(key=lambda x: (-x.amount_used, x.industry))
    return [*found, total_of(found)]


def total_of(stats: Iterable[IndustryStat]) -> IndustryStat:
    """Return the 合计 row of industry sums; rates are recomputed from the sums."""
    items = list(stats)
    days = max((x.days for x in items), default=0)  # days with data, for the longest one
    values: Mapping[str, int] = {k: sum(getattr(x, k) for x in items) for k in NUMBER_FIELDS}
    return IndustryStat(TOTAL, days, **values)
