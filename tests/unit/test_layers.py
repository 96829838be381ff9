"""The import arrows of the house style: bot -> handlers -> escalation -> storage ->
knowledge (the schema, the conversation record and the retry know nothing above them)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "knowledge": {"knowledge"},
    "storage": {"storage", "knowledge"},
    "escalation": {"escalation", "storage", "knowledge"},
    "handlers": {"handlers", "escalation", "storage", "knowledge"},
    "bot": {"bot", "handlers", "escalation", "storage", "knowledge"},
}
FRAMEWORKS = {"telegram", "aiohttp", "apscheduler", "sentry_sdk"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downwards() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path) & set(ALLOWED):
                if name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_frameworks_appear_only_in_bot() -> None:
    wrong = []
    for package in ("knowledge", "storage", "escalation", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path) & FRAMEWORKS:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []
