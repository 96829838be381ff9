from datetime import timedelta
from pathlib import Path

import pytest

from escalation.config_files import parse_duration, read_mapping


class FileError(ValueError):
    pass


def test_durations_are_minutes_hours_or_days_of_the_given_length() -> None:
    day = timedelta(hours=7, minutes=30)
    assert parse_duration("30m", day, "x", FileError) == timedelta(minutes=30)
    assert parse_duration(" 4h ", day, "x", FileError) == timedelta(hours=4)
    assert parse_duration("2d", day, "x", FileError) == timedelta(hours=15)


def test_a_duration_without_a_unit_raises_the_callers_error_naming_the_field() -> None:
    with pytest.raises(FileError, match=r"plan.yaml: levels.I.wait: '30' is not a duration"):
        parse_duration("30", timedelta(hours=24), "plan.yaml: levels.I.wait", FileError)


def test_a_mapping_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: [2, 3]\n", encoding="utf-8")
    assert read_mapping(path, FileError) == {"a": 1, "b": [2, 3]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "file not found"),
        ("a: [1", "not valid YAML"),
        ("- 1\n", "must be a mapping"),
        ("holidays: [2025-13-01]\n", "a value is not valid"),
    ],
)
def test_a_file_that_is_not_a_mapping_raises_the_callers_error(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "x.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(FileError, match=f"x.yaml: .*{message}"):
        read_mapping(path, FileError)
