"""Reading labelled risk files (docs/formats.md) and measuring the scorer on them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from escalation.risk.scorer import RiskResult
from escalation.risk.tags import LEVELS, TAGS


class RiskFileError(ValueError):
    """A labelled file that does not follow docs/formats.md; names the file, line and field."""


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    risk: str | None
    tags: tuple[str, ...]
    line: int


def read_labelled(path: Path, *, need_labels: bool = True) -> list[Labelled]:
    """Read a risk JSON Lines file; every error names the file and line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RiskFileError(f"{path}: 文件不存在 (file not found)") from None
    except UnicodeDecodeError as exc:
        raise RiskFileError(f"{path}: 不是 UTF-8 编码 (not UTF-8): {exc.reason}") from None
    rows: list[Labelled] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RiskFileError(f"{where}: 不是合法的 JSON (invalid JSON: {exc.msg})") from None
        if not isinstance(obj, dict):
            raise RiskFileError(f"{where}: 每行应是一个 JSON 对象 (expected an object)")
        text = obj.get("text")
        if not isinstance(text, str):
            raise RiskFileError(f"{where}: 字段 text 缺失或不是字符串 (field 'text')")
        risk = obj.get("risk")
        tags = obj.get("tags", [])
        if (need_labels or risk is not None) and risk not in LEVELS:
            raise RiskFileError(
                f"{where}: 字段 risk 应为 {' / '.join(LEVELS)} 之一，实为 {risk!r} (field 'risk')"
            )
        if need_labels or "tags" in obj:
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise RiskFileError(f"{where}: 字段 tags 应为字符串列表 (field 'tags')")
            unknown = [t for t in tags if t not in TAGS]
            if unknown:
                known = ", ".join(TAGS)
                raise RiskFileError(
                    f"{where}: 未知标签 {', '.join(unknown)}；可用：{known} (field 'tags')"
                )
        rows.append(Labelled(text, risk, tuple(tags or ()), n))
    return rows


def _f1(tp: int, fp: int, fn: int) -> float:
    if tp == 0:
        return 0.0
    p, r = tp / (tp + fp), tp / (tp + fn)
    return 2 * p * r / (p + r)


def evaluate(rows: Sequence[Labelled], scorer: Callable[[str], RiskResult]) -> dict[str, float]:
    """Accuracy, macro-F1 over the four levels, recall and precision of `high`, tag micro-F1."""
    predictions = [scorer(r.text) for r in rows]
    return measure(rows, predictions)


def measure(rows: Sequence[Labelled], predictions: Iterable[RiskResult]) -> dict[str, float]:
    preds = list(predictions)
    gold = [r.risk for r in rows]
    got = [p.level for p in preds]
    n = len(rows)
    f1s = []
    for level in LEVELS:
        tp = sum(1 for g, p in zip(gold, got, strict=True) if g == p == level)
        fp = sum(1 for g, p in zip(gold, got, strict=True) if p == level and g != level)
        fn = sum(1 for g, p in zip(gold, got, strict=True) if g == level and p != level)
        f1s.append(_f1(tp, fp, fn))
    high_tp = sum(1 for g, p in zip(gold, got, strict=True) if g == p == "high")
    high_gold = sum(1 for g in gold if g == "high")
    high_pred = sum(1 for p in got if p == "high")
    ttp = tfp = tfn = 0
    for r, p in zip(rows, preds, strict=True):
        want, have = set(r.tags), set(p.tags)
        ttp += len(want & have)
        tfp += len(have - want)
        tfn += len(want - have)
    return {
        "accuracy": sum(1 for g, p in zip(gold, got, strict=True) if g == p) / n if n else 0.0,
        "macro_f1": sum(f1s) / len(f1s),
        "high_recall": high_tp / high_gold if high_gold else 0.0,
        "high_precision": high_tp / high_pred if high_pred else 0.0,
        "tag_micro_f1": _f1(ttp, tfp, tfn),
    }
