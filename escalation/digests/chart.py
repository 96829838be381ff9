"""A digest as a PNG chart: traffic and tickets, SLA, risk and subsidy use, one panel each.

matplotlib is imported only when a chart is drawn (Agg backend, no display), so the rest of
the digests never pays for it.
"""

from __future__ import annotations

import functools
import io
import logging
from importlib import resources
from typing import TYPE_CHECKING

from escalation.digests.model import Report
from escalation.digests.render import percent, previous_name, ratio
from escalation.digests.stats import TOTAL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

# Fonts with Chinese glyphs, best first: the one the project installs, then common ones.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
FONT_PACKAGE = "noto_cjk_sans_otc"


@functools.cache
def chart_font() -> str | None:
    """Return a font family with Chinese glyphs, registering the bundled one; None (and one
    warning) when there is none, so the chart still renders, with boxes for Chinese."""
    from matplotlib import font_manager

    try:
        folder = resources.files(FONT_PACKAGE)
        for item in folder.iterdir():
            if item.name.lower().endswith((".ttc", ".otf", ".ttf")):
                with resources.as_file(item) as path:
                    font_manager.fontManager.addfont(str(path))
    except (ModuleNotFoundError, OSError) as exc:
        log.info("font package %s not usable (%s); looking for a system font", FONT_PACKAGE, exc)
    have = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in have:
            return family
    log.warning(
        "no Chinese font found: digest charts will show boxes for Chinese text; "
        "reinstall the project (pip install -e .) to get %s",
        FONT_PACKAGE,
    )
    return None


def render_chart(report: Report) -> bytes:
    """Return a PNG with the period's traffic, SLA, risk and subsidy figures."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = chart_font()
    families = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    r = report
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        fig = Figure(figsize=(11, 7.5), dpi=110)
        FigureCanvasAgg(fig)
        fig.suptitle(f"专项促消费活动客服 · {r.period.title}", fontsize=15)
        (a1, a2), (a3, a4) = fig.subplots(2, 2)
        _traffic_panel(a1, r)
        _sla_panel(a2, r)
        _risk_panel(a3, r)
        _subsidy_panel(a4, r)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        buf = io.BytesIO()
        # No metadata: the file carries nothing but pixels.
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _traffic_panel(ax: Axes, r: Report) -> None:
    labels = [f"{a.label}消息" for a in r.audiences[:2]] + ["新增工单", "办结工单", "超时未办"]
    values = [a.messages for a in r.audiences[:2]] + [
        r.tickets_opened,
        r.tickets_closed,
        r.tickets_overdue,
    ]
    bars = ax.bar(labels, values, color=["#4C78A8", "#72B7B2", "#F58518", "#54A24B", "#E45756"])
    ax.bar_label(bars, padding=2)
    ax.set_title("咨询与工单")
    if r.empty:
        ax.text(0.5, 0.6, "本期无咨询", transform=ax.transAxes, ha="center", fontsize=16)
    ax.margins(y=0.2)


def _sla_panel(ax: Axes, r: Report) -> None:
    names = [x.label for x in r.sla]
    rates = [(x.rate or 0.0) * 100 for x in r.sla]
    bars = ax.bar(names, rates, color="#54A24B")
    ax.bar_label(bars, labels=[percent(x.rate) for x in r.sla], padding=2)
    ax.set_ylim(0, 115)
    ax.set_title("SLA 达标率（%）")


def _risk_panel(ax: Axes, r: Report) -> None:
    levels = [x.label for x in r.risk_levels]
    xs = list(range(len(levels)))
    now_bars = ax.bar([x - 0.2 for x in xs], [x.count for x in r.risk_levels], 0.4, label="本期")
    before_bars = ax.bar(
        [x + 0.2 for x in xs],
        [x.previous for x in r.risk_levels],
        0.4,
        label=previous_name(r),
        color="#BAB0AC",
    )
    ax.bar_label(now_bars, padding=2)
    ax.bar_label(before_bars, padding=2)
    ax.set_xticks(xs, [f"{x}风险" for x in levels])
    ax.set_title("风险消息（按等级）")
    ax.legend()
    ax.margins(y=0.2)


def _subsidy_panel(ax: Axes, r: Report) -> None:
    industries = [s for s in r.subsidy if s.industry != TOTAL]
    if not industries:
        ax.set_axis_off()
        text = "小时报不含补贴统计" if r.period.kind == "hourly" else "暂无补贴统计"
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14)
        ax.set_title("补贴（T+1）")
        return
    bars = ax.bar(
        [s.industry for s in industries],
        [(s.use_rate or 0.0) * 100 for s in industries],
        color="#4C78A8",
    )
    ax.bar_label(
        bars,
        labels=[f"{percent(s.use_rate)}\n拉动比 {ratio(s.leverage_ratio)}" for s in industries],
        padding=2,
        fontsize=8,
    )
    ax.set_ylim(0, max(110.0, max((s.use_rate or 0) * 130 for s in industries)))
    ax.set_title("补贴核销率（%，T+1）")
