"""`helpdesk stats import` and `helpdesk report`: files in, files out, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.reports import periods
from tests.support.stats import HEADER, ROW, SAMPLE


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "h.db"
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


@pytest.mark.usefixtures("db")
def test_stats_import_loads_the_sample_and_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "import", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "已导入" in out
    assert "个行业" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + ROW.replace("9500", "九千") + "\n", encoding="utf-8")
    assert main(["stats", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err
    assert "第 2 行" in err
    assert "领券人数" in err


@pytest.mark.usefixtures("db")
def test_report_writes_one_file_a_day_with_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "import", str(SAMPLE)]) == 0
    out_dir = tmp_path / "out"
    args = ["report", "daily", "--date", "2025-06-01", "--to", "2025-06-03"]
    assert main([*args, "--format", "csv", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [f"daily-2025-06-0{d}.csv" for d in (1, 2, 3)]
    assert "3/3" in captured.err
    first = (out_dir / "daily-2025-06-01.csv").read_bytes()
    assert first.startswith(b"\xef\xbb\xbf")  # one byte-order mark, for Excel
    text = first.decode("utf-8-sig")
    assert not text.startswith("\ufeff")  # and only one
    assert "家电" in text
    # The period in Beijing time, as the bureau reads it: the day starts at 00:00 +08:00.
    assert "开始,2025-06-01T00:00:00+08:00" in text
    assert main(["report", "weekly", "--date", "2025-06-04", "--out", str(out_dir)]) == 0
    assert (out_dir / "weekly-2025-06-02.md").read_text("utf-8").startswith("#")


def test_report_ranges_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    assert periods("weekly", date(2025, 6, 4), date(2025, 6, 18)) == [
        date(2025, 6, 2),
        date(2025, 6, 9),
        date(2025, 6, 16),
    ]
    with pytest.raises(ValueError, match="before"):
        periods("daily", date(2025, 6, 4), date(2025, 6, 1))
    assert main(["report", "daily", "--date", "2025-06-04", "--to", "2020-01-01"]) == 2
    assert "before" in capsys.readouterr().err
