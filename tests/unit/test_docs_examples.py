"""The documentation cannot rot: every format docs/formats.md describes has an example under
docs/examples/ that the project's own loader accepts, every `helpdesk` command the README and
docs/ mention exists, and every link between them leads somewhere."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from escalation.digests.stats import read_stats_file
from escalation.incidents.plan import load_plan
from escalation.risk.evaluate import read_labelled
from escalation.tickets.calendar import load_calendar
from escalation.tickets.sla import load_policy
from knowledge.evaluate import load_queries
from knowledge.kb import load_kb

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
FORMATS = DOCS / "formats.md"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _kb(path: Path) -> int:
    return len(load_kb(path).entries)


def _queries(path: Path) -> int:
    # Against the example KB, so every `expected` id must name one of its entries.
    return len(load_queries(path, load_kb(EXAMPLES / "kb.yaml")))


def _risk(path: Path) -> int:
    return len(read_labelled(path))


def _stats(path: Path) -> int:
    return len(read_stats_file(path))


def _sla(path: Path) -> int:
    return len(load_policy(path).rules)


def _calendar(path: Path) -> int:
    return len(load_calendar(path).holidays)


def _plan(path: Path) -> int:
    return len(load_plan(path).triggers)


LOADERS: dict[str, Callable[[Path], int]] = {
    "kb.yaml": _kb,
    "queries.jsonl": _queries,
    "risk.jsonl": _risk,
    "stats.csv": _stats,
    "sla.yaml": _sla,
    "calendar.yaml": _calendar,
    "plan.yaml": _plan,
}


def _sections(text: str) -> dict[str, str]:
    """Return each `## ` section of a page by its heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _example_links(text: str) -> set[str]:
    return set(re.findall(r"\]\(examples/([^)#]+)\)", text))


def test_every_format_section_links_its_example() -> None:
    sections = _sections(FORMATS.read_text("utf-8"))
    assert len(sections) == len(LOADERS)
    for heading, body in sections.items():
        assert _example_links(body), f"docs/formats.md, section {heading!r}: no example linked"


def test_the_examples_folder_holds_what_formats_md_links_and_nothing_else() -> None:
    linked = _example_links(FORMATS.read_text("utf-8"))
    on_disk = {p.name for p in EXAMPLES.iterdir()}
    assert linked == on_disk == set(LOADERS)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_example_loads_through_the_projects_own_loader(name: str) -> None:
    assert LOADERS[name](EXAMPLES / name) > 0


def _mentioned_commands() -> set[tuple[str, ...]]:
    """Return the command words of each `helpdesk …` in inline code, or starting a line of
    a code block."""
    words = r"helpdesk ([a-z]+)(?: ([a-z]+))?"
    inline = re.compile(r"`(?:\.venv/bin/)?" + words)
    in_block = re.compile(r"^\s*(?:\.venv/bin/)?" + words, re.MULTILINE)
    found: set[tuple[str, ...]] = set()
    for page in PAGES:
        text = page.read_text("utf-8")
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        matches = [*inline.finditer(text), *(m for b in blocks for m in in_block.finditer(b))]
        found.update(tuple(w for w in m.groups() if w) for m in matches)
    return found


def test_the_docs_mention_the_main_commands() -> None:
    assert {("serve",), ("config",), ("agents", "add"), ("kb", "check")} <= _mentioned_commands()


@pytest.mark.parametrize("words", sorted(_mentioned_commands()), ids=" ".join)
def test_every_command_the_docs_mention_exists(
    words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    capsys.readouterr()
    assert exit_.value.code == 0, f"helpdesk {' '.join(words)} is not a command"


def _slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", page.read_text("utf-8"), re.MULTILINE)}


def _local_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.DOTALL)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [link for link in links if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_between_the_pages_leads_somewhere(page: Path) -> None:
    for link in _local_links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name}: link {link!r} leads to no file"
        if anchor:
            assert anchor in _anchors(path), f"{page.name}: link {link!r} names no heading"


def test_the_readme_names_formats_md_by_its_place_in_docs() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    assert "docs/formats.md" in text
    assert not re.findall(r"(?<![/\w])formats\.md", text)
