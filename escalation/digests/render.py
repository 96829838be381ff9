"""Digests as the bureau reads them: chat text, Markdown, HTML, CSV and JSON (the PNG chart
is chart.py).

Pure functions of a `Report` (model.py). Every string that came from a user goes
through `mask_pii` once more on its way out, so nothing unmasked leaves even if a report
was built by hand.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

from escalation.digests.model import SHANGHAI, CountTrend, Report, RiskSummary
from escalation.digests.stats import COLUMNS, TOTAL, IndustryStat
from knowledge.masking import mask_pii

MAX_TEXT = 3500  # Telegram's limit is 4096; leave room for a header the sender adds
NO_TRAFFIC = "本期无咨询：没有收到消费者或商户的消息。"
NO_SUBSIDY = "暂无补贴统计（平台 T+1 数据尚未导入）。"
DASH = "—"
STATUS = {"open": "处置中", "acknowledged": "已确认", "mitigated": "已缓解", "resolved": "已解决"}


def _m(text: str) -> str:
    return mask_pii(text)


def yuan(fen: int) -> str:
    """Return fen as yuan with thousands separators: 123456 -> "1,234.56"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def trend(now: int, before: int) -> str:
    """Return "↑3", "↓2" or "持平" against the previous period."""
    if now > before:
        return f"↑{now - before}"
    if now < before:
        return f"↓{before - now}"
    return "持平"


def previous_name(report: Report) -> str:
    """Return what the previous period is called: 前一日, 上周, 上一小时."""
    return {"hourly": "上一小时", "daily": "前一日", "weekly": "上周"}[report.period.kind]


def _sla_cell(line: Any) -> str:
    done = line.met + line.breached
    return f"{percent(line.rate)}（{line.met}/{done}）" if done else "无到期"


# ---------------------------------------------------------------------- chat text
def render_text(report: Report) -> str:
    """Return the short Chinese text for a Telegram chat (under 3500 characters)."""
    r = report
    lines = [f"📊 专项促消费活动客服 · {r.period.title}"]
    if r.empty:
        lines.append(NO_TRAFFIC)
    else:
        parts = "，".join(
            f"{a.label} {a.users} 人/{a.messages} 条" for a in r.audiences if a.messages
        )
        lines.append(f"咨询：消息 {r.messages_in} 条，用户 {r.users} 人（{parts}）")
        lines.append(
            f"问答：提问 {r.questions} 个，知识库解答 {r.answered} 个，推荐相近问题 "
            f"{r.suggested} 个，未能解答 {r.unanswered_total} 个"
        )
        if r.categories:
            lines.append("热门类别：" + "、".join(f"{c} {n}" for c, n in r.categories[:5]))
        if r.unanswered:
            lines.append("未解答问题（知识库待补充）：")
            lines += [f" {i}. {_m(u.text)}（{u.count} 次）" for i, u in enumerate(r.unanswered, 1)]
    lines.append(
        f"工单：新增 {r.tickets_opened}，办结 {r.tickets_closed}，超时未办 {r.tickets_overdue}"
    )
    lines.append("SLA 达标率：" + "，".join(f"{x.label} {_sla_cell(x)}" for x in r.sla))
    if r.csat_count:
        lines.append(f"满意度：平均 {r.csat_average:.2f} 分（{r.csat_count} 个工单评价）")
    else:
        lines.append("满意度：本期无评价")
    if r.incidents:
        lines.append(f"事件：新增 {r.incidents_opened} 起，解决 {r.incidents_resolved} 起")
        for i in r.incidents[:5]:
            sent = "；已报送：" + "、".join(i.reports) if i.reports else ""
            sent += "；未报送：" + "、".join(i.unsent) if i.unsent else ""
            status = STATUS.get(i.status, i.status)
            lines.append(f" · {i.reference} {i.level_label} {_m(i.title)}（{status}）{sent}")
    else:
        lines.append("事件：无")
    prev = previous_name(r)
    if r.risk_total or r.risk_previous:
        levels = "，".join(
            f"{x.label} {x.count}（{prev} {x.previous}，{trend(x.count, x.previous)}）"
            for x in r.risk_levels
        )
        lines.append(f"风险消息：{levels}")
        if r.risk_tags:
            lines.append("风险标签：" + "、".join(f"{_m(t.label)} {t.count}" for t in r.risk_tags))
    else:
        lines.append("风险消息：无")
    if r.period.kind != "hourly":
        if r.subsidy:
            total = r.subsidy[-1]
            lines.append(
                f"补贴（T+1）：发放 {yuan(total.amount_issued)} 元，核销 "
                f"{yuan(total.amount_used)} 元，核销率 {percent(total.use_rate)}，"
                f"拉动比 {ratio(total.leverage_ratio)}"
            )
            lines += [
                f" · {s.industry}：核销率 {percent(s.use_rate)}，拉动比 {ratio(s.leverage_ratio)}"
                for s in r.subsidy[:-1][:8]
            ]
        else:
            lines.append(NO_SUBSIDY)
    lines.append("详见附件图表与 CSV。")
    return _fit(lines, MAX_TEXT)


def _fit(lines: Sequence[str], limit: int) -> str:
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 20:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, "……（其余见附件）"])


def render_risk_summary_text(summary: RiskSummary) -> str:
    """Return the hourly risk summary for the supervisors' and bureau chats."""
    lines = [f"⚠️ 风险提示 · {summary.period.label}"]
    lines.append(
        "中高风险消息："
        + "，".join(
            f"{x.label} {x.count}（上一小时 {x.previous}，{trend(x.count, x.previous)}）"
            for x in summary.levels
        )
    )
    if summary.tags:
        lines.append("标签：" + "、".join(f"{_m(t.label)} {t.count}" for t in summary.tags))
    if summary.examples:
        lines.append("代表消息（已脱敏）：")
        lines += [f" {i}. {_m(e)}" for i, e in enumerate(summary.examples, 1)]
    lines.append("请值班人员关注；如需启动应急预案，请用 /incident 声明事件。")
    return _fit(lines, MAX_TEXT)


# ---------------------------------------------------------------------- tables
Section = tuple[str, list[str], list[list[str]]]  # title, header, rows


def _sections(report: Report) -> list[Section]:
    """Return the report as (section title, header, rows): one source for md, html, csv."""
    out = [*_traffic_sections(report), *_desk_sections(report), *_risk_sections(report)]
    if report.period.kind != "hourly":
        out.append(_subsidy_section(report))
    return out


def _traffic_sections(r: Report) -> list[Section]:
    overview = [
        ["咨询消息", str(r.messages_in)],
        ["咨询用户", str(r.users)],
        ["提问", str(r.questions)],
        ["知识库解答", str(r.answered)],
        ["推荐相近问题", str(r.suggested)],
        ["未能解答", str(r.unanswered_total)],
    ]
    return [
        ("概况", ["项目", "数值"], overview),
        (
            "按身份",
            ["身份", "消息数", "用户数"],
            [[a.label, str(a.messages), str(a.users)] for a in r.audiences],
        ),
        ("热门问题类别", ["类别", "问题数"], [[c, str(n)] for c, n in r.categories]),
        (
            "未解答问题（知识库待补充）",
            ["问题（已脱敏）", "次数"],
            [[_m(u.text), str(u.count)] for u in r.unanswered],
        ),
    ]


def _desk_sections(r: Report) -> list[Section]:
    tickets = [
        ["新增", str(r.tickets_opened)],
        ["办结", str(r.tickets_closed)],
        ["超时未办（期末）", str(r.tickets_overdue)],
    ]
    average = f"{r.csat_average:.2f}" if r.csat_average is not None else DASH
    incidents = [
        [
            i.reference,
            i.level_label,
            _m(i.title),
            STATUS.get(i.status, i.status),
            "是" if i.opened_in_period else "否",
            "是" if i.resolved_in_period else "否",
            "、".join(i.reports) or DASH,
        ]
        for i in r.incidents
    ]
    return [
        ("工单", ["项目", "数量"], tickets),
        (
            "SLA 达标率",
            ["时限", "达标", "超时", "达标率"],
            [[x.label, str(x.met), str(x.breached), percent(x.rate)] for x in r.sla],
        ),
        ("满意度", ["评价数", "平均分（1–5）"], [[str(r.csat_count), average]]),
        (
            "事件",
            ["编号", "级别", "标题（已脱敏）", "状态", "本期新增", "本期解决", "本期报送"],
            incidents,
        ),
    ]


def _risk_sections(r: Report) -> list[Section]:
    prev = previous_name(r)
    return [
        ("风险等级", ["等级", "本期", prev, "变化"], _trend_rows(r.risk_levels)),
        ("风险标签", ["标签", "本期", prev, "变化"], _trend_rows(r.risk_tags)),
    ]


def _subsidy_section(r: Report) -> Section:
    header = [
        "行业",
        *(c.header + ("（元）" if c.kind == "money" else "") for c in COLUMNS[2:]),
        "核销率",
        "拉动比",
    ]
    return ("补贴统计（T+1，按行业）", header, [_subsidy_row(s) for s in r.subsidy])


def _trend_rows(items: Iterable[CountTrend]) -> list[list[str]]:
    return [
        [_m(x.label), str(x.count), str(x.previous), trend(x.count, x.previous)] for x in items
    ]


def _subsidy_row(s: IndustryStat) -> list[str]:
    cells = [s.industry]
    for c in COLUMNS[2:]:
        value = int(getattr(s, c.key))
        cells.append(yuan(value) if c.kind == "money" else f"{value:,}")
    return [*cells, percent(s.use_rate), ratio(s.leverage_ratio)]


def _notes(report: Report) -> list[str]:
    notes = []
    if report.empty:
        notes.append(NO_TRAFFIC)
    if report.period.kind != "hourly" and not report.subsidy:
        notes.append(NO_SUBSIDY)
    notes.append(
        "说明：核销率 = 核销金额 ÷ 发放金额；拉动比 = 带动销售额 ÷ 核销金额；"
        "SLA 达标率 = 达标 ÷（达标 + 超时），按本期停止的时限计；用户文字均已脱敏。"
    )
    return notes


def render_markdown(report: Report) -> str:
    """Return the report as Markdown, for the archive."""
    lines = [f"# 专项促消费活动客服 · {report.period.title}", ""]
    lines += [f"> {n}" for n in _notes(report)]
    for title, header, rows in _sections(report):
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append("无。")
            continue
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return _m(text).replace("|", "｜").replace("\n", " ")


def render_html(report: Report) -> str:
    """Return the report as a standalone HTML page."""
    e = html.escape
    title = e(f"专项促消费活动客服 · {report.period.title}")
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;"
        "margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}"
        "th{background:#f0f3f7}.note{color:#555}</style></head><body>",
        f"<h1>{title}</h1>",
    ]
    parts += [f'<p class="note">{e(_m(n))}</p>' for n in _notes(report)]
    for name, header, rows in _sections(report):
        parts.append(f"<h2>{e(name)}</h2>")
        if not rows:
            parts.append("<p>无。</p>")
            continue
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header))
        parts.append("</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{e(_m(c))}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_csv(report: Report) -> str:
    """Return the report as CSV, sections as rows, times in Beijing time. Whoever writes it
    out adds the byte-order mark Excel needs (encode with "utf-8-sig"), once."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["报告", report.period.title])
    w.writerow(["开始", report.period.start.astimezone(SHANGHAI).isoformat()])
    w.writerow(["结束", report.period.end.astimezone(SHANGHAI).isoformat()])
    for n in _notes(report):
        w.writerow(["备注", _m(n)])
    for title, header, rows in _sections(report):
        w.writerow([])
        w.writerow([f"【{title}】"])
        w.writerow(header)
        if not rows:
            w.writerow(["无"])
        for row in rows:
            w.writerow([_m(c) for c in row])
    return buf.getvalue()


# ---------------------------------------------------------------------- webhook body
def _industry_json(s: IndustryStat) -> dict[str, Any]:
    body: dict[str, Any] = {"industry": s.industry, "days": s.days}
    for c in COLUMNS[2:]:
        value = int(getattr(s, c.key))
        body[c.key] = round(value / 100, 2) if c.kind == "money" else value
    body["use_rate"] = None if s.use_rate is None else round(s.use_rate, 4)
    body["leverage_ratio"] = None if s.leverage_ratio is None else round(s.leverage_ratio, 4)
    return body


def report_json(report: Report) -> dict[str, Any]:
    """Return the webhook body: every number of the report, money in yuan, text masked."""
    r = report
    return {
        "type": "helpdesk.digest",
        "kind": r.period.kind,
        "title": r.period.title,
        "label": r.period.label,
        "start": r.period.start.isoformat(),
        "end": r.period.end.isoformat(),
        "empty": r.empty,
        "messages_in": r.messages_in,
        "users": r.users,
        "audiences": [
            {"audience": a.audience, "label": a.label, "messages": a.messages, "users": a.users}
            for a in r.audiences
        ],
        "questions": {
            "asked": r.questions,
            "answered": r.answered,
            "suggested": r.suggested,
            "unanswered": r.unanswered_total,
        },
        "categories": [{"category": c, "count": n} for c, n in r.categories],
        "unanswered": [{"text": _m(u.text), "count": u.count} for u in r.unanswered],
        "tickets": {
            "opened": r.tickets_opened,
            "closed": r.tickets_closed,
            "overdue": r.tickets_overdue,
        },
        "sla": [
            {
                "clock": x.clock,
                "label": x.label,
                "met": x.met,
                "breached": x.breached,
                "compliance": None if x.rate is None else round(x.rate, 4),
            }
            for x in r.sla
        ],
        "csat": {
            "count": r.csat_count,
            "average": None if r.csat_average is None else round(r.csat_average, 2),
        },
        "incidents": {
            "opened": r.incidents_opened,
            "resolved": r.incidents_resolved,
            "items": [
                {
                    "reference": i.reference,
                    "level": i.level,
                    "level_label": i.level_label,
                    "title": _m(i.title),
                    "status": i.status,
                    "opened_in_period": i.opened_in_period,
                    "resolved_in_period": i.resolved_in_period,
                    "reports": list(i.reports),
                }
                for i in r.incidents
            ],
        },
        "risk": {
            "previous_label": r.previous_label,
            "levels": [
                {"level": x.key, "label": x.label, "count": x.count, "previous": x.previous}
                for x in r.risk_levels
            ],
            "tags": [
                {"tag": _m(x.key), "count": x.count, "previous": x.previous} for x in r.risk_tags
            ],
        },
        "subsidy": [_industry_json(s) for s in r.subsidy if s.industry != TOTAL],
        "subsidy_total": _industry_json(r.subsidy[-1]) if r.subsidy else None,
    }
