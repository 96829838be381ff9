"""The attachments folder writes files under names it chooses, and nothing else."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.attachments import AttachmentFolder, NotStored

AT = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)


def _partial_files(root: Path) -> list[Path]:
    return list(root.rglob("*.part"))


async def test_files_are_written_whole_under_new_names_and_removed(tmp_path: Path) -> None:
    folder = AttachmentFolder(tmp_path / "attachments")
    first = await folder.write(b"%PDF-1.4", "application/pdf", AT)
    second = await folder.write(b"%PDF-1.4", "application/pdf", AT)
    assert first != second
    assert first.startswith("2025/06/")
    assert first.endswith(".pdf")
    assert await folder.read(first) == b"%PDF-1.4"
    assert _partial_files(tmp_path) == []

    assert await folder.remove([first, first, "2025/06/" + "0" * 32 + ".pdf"]) == 1
    with pytest.raises(FileNotFoundError):
        await folder.read(first)
    assert await folder.read(second) == b"%PDF-1.4"


@pytest.mark.parametrize("path", ["../helpdesk.db", "/etc/passwd", "2025/06/x.pdf", "a\n"])
async def test_a_path_it_never_wrote_is_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "helpdesk.db").write_bytes(b"keep")
    folder = AttachmentFolder(tmp_path / "attachments")
    with pytest.raises(NotStored):
        await folder.read(path)
    assert await folder.remove([path]) == 0
    assert (tmp_path / "helpdesk.db").read_bytes() == b"keep"
