"""What kind of question a text asks: how, how much, when, where, why, whether, or a problem.

Two texts about the same thing that ask different things ("券几天过期" and "过期了还能再领吗")
are different entries; these general Chinese question forms let the ranker see that.
"""

from __future__ import annotations

import re

INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("how", ("怎么", "如何", "怎样", "怎么办", "流程", "步骤", "方法", "操作", "办理")),
    ("amount", ("多少", "几个", "几台", "几次", "几件", "比例", "上限", "最高", "最多", "金额")),
    ("time", ("什么时候", "多久", "几天", "几号", "何时", "几点", "时间", "期限", "截止", "周期")),
    ("where", ("哪里", "在哪", "哪儿", "入口", "哪个", "哪些", "地址")),
    ("why", ("为什么", "为啥", "怎么回事", "原因", "凭什么")),
    ("whether", ("能不能", "可不可以", "可以吗", "能否", "是否", "会不会", "有没有", "行不行")),
    ("who", ("谁", "哪个部门", "找谁", "联系")),
    (
        "problem",
        (
            "没到",
            "未到",
            "失败",
            "不了",
            "报错",
            "错误",
            "异常",
            "没收到",
            "一直",
            "提示",
            "不成功",
        ),
    ),
)

NAMES: tuple[str, ...] = tuple(name for name, _ in INTENTS)
_PATTERNS = tuple(re.compile("|".join(map(re.escape, markers))) for _, markers in INTENTS)


def intents(normalized: str) -> frozenset[str]:
    """Return the question forms a normalised text shows."""
    return frozenset(
        name for name, pat in zip(NAMES, _PATTERNS, strict=True) if pat.search(normalized)
    )
