"""Shared fixtures: engines are slow to build (jieba loads its dictionary), so build once."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.engine import Engine
from knowledge.kb import BUNDLED_KB, load_kb

FIXTURES = Path(__file__).parent / "fixtures"
MINI_KB = FIXTURES / "mini_kb.yaml"


@pytest.fixture(scope="session")
def mini_engine() -> Engine:
    return Engine(load_kb(MINI_KB))


@pytest.fixture(scope="session")
def bundled_engine() -> Engine:
    return Engine(load_kb(BUNDLED_KB))
