"""Settings read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.kb import BUNDLED_KB


@dataclass(frozen=True, slots=True)
class Settings:
    kb_path: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read HELPDESK_* variables; every one has an embedded default."""
        env = os.environ if env is None else env
        kb = env.get("HELPDESK_KB_PATH", "").strip()
        return cls(kb_path=Path(kb) if kb else BUNDLED_KB)
