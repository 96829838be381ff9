"""Where the tests' own data files are (tests/fixtures): the small knowledge base and the
labelled risk samples."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures"
MINI_KB = FIXTURES / "mini_kb.yaml"
