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
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package, allowed in ALLOWED.items()
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path) & set(ALLOWED)
        if name not in allowed
    ]
    assert wrong == []


def test_frameworks_appear_only_in_bot() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in ("knowledge", "storage", "escalation", "handlers")
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path) & FRAMEWORKS
    ]
    assert wrong == []


# The wings of escalation/ and the other wings each may use: a one-way order. A module at
# escalation/'s top (routing.py, agents.py, ...) is shared: any wing may use it, and it uses
# no wing.
WINGS = {
    "risk": set(),
    "tickets": set(),
    "incidents": {"risk"},
    "digests": {"incidents", "risk", "tickets"},
    "privacy": {"digests", "tickets"},
}


def _wing(path: Path) -> str | None:
    """The wing a file of escalation/ belongs to, or None for a shared top-level module."""
    parts = path.relative_to(ROOT / "escalation").parts
    name = parts[0].removesuffix(".py")
    return name if name in WINGS else None


def _escalation_imports(path: Path) -> set[str]:
    """The first part under escalation/ of every escalation module the file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
            if node.module == "escalation":
                modules = [f"escalation.{alias.name}" for alias in node.names]
        names.update(m.split(".")[1] for m in modules if m.startswith("escalation."))
    return names


def test_escalation_wings_use_each_other_one_way() -> None:
    wrong: list[str] = []
    shared = {p.stem for p in (ROOT / "escalation").glob("*.py")} - set(WINGS) - {"__init__"}
    for path in (ROOT / "escalation").rglob("*.py"):
        wing = _wing(path)
        allowed = shared | ({wing} | WINGS[wing] if wing else set())
        wrong.extend(
            f"{path.relative_to(ROOT)} uses escalation.{name}"
            for name in _escalation_imports(path) - allowed
        )
    assert wrong == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Every product module and the product modules it imports (anywhere in the file)."""
    files = {_module_name(p): p for package in ALLOWED for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in files
                    else node.module
                    for a in node.names
                ]
            edges.update(t for t in targets if t in files and t != name)
        graph[name] = edges
    return graph


def test_no_import_circle() -> None:
    graph = _graph()
    circles: list[str] = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert circles == []
