"""Reading the wings' YAML files: a file whose top level is a mapping, and durations
written as 30m, 4h or 2d. The tickets' SLA and calendar and the incidents' plan read
their files through here; each passes its own error type, so a mistake names its file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")


def read_mapping(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping, raising `error` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found.") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc}).") from None
    except ValueError as exc:  # PyYAML builds dates itself: 2025-13-01 is a ValueError
        raise error(f"{path}: a value is not valid ({exc}); quote it or correct it.") from None
    if not isinstance(data, dict):
        raise error(f"{path}: the top level must be a mapping.")
    return data


def parse_duration(text: object, day: timedelta, where: str, error: type[ValueError]) -> timedelta:
    """Parse "30m", "4h" or "2d" (days of `day` length), raising `error` naming `where`."""
    m = _DURATION.match(str(text))
    if not m:
        raise error(f"{where}: {text!r} is not a duration such as 30m, 4h or 2d.")
    value, unit = float(m.group(1)), m.group(2)
    if unit == "m":
        return timedelta(minutes=value)
    if unit == "h":
        return timedelta(hours=value)
    return day * value
