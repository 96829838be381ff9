"""The attachments folder: the bytes of the files customers attach to tickets.

The service names every file itself (a random name under a year-month folder, with an
extension from the file's type), so nothing a customer sends ever becomes a path; the
database row (storage.models.TicketFile) keeps the path relative to the folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

# What the service writes: "2025/06/<32 hex>.<ext>"; anything else is not one of ours.
_STORED = re.compile(r"\d{4}/\d{2}/[0-9a-f]{32}\.[a-z0-9]{1,5}")
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "audio/ogg": "oga",
    "audio/mpeg": "mp3",
    "text/plain": "txt",
}


class NotStored(ValueError):
    """A path that the attachments folder never wrote."""


def extension_for(mime: str) -> str:
    """Return the extension a stored file of this type gets ("bin" when unknown)."""
    return EXTENSIONS.get(mime, "bin")


class AttachmentFolder:
    """Write, read and remove attached files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _full(self, path: str) -> Path:
        if not _STORED.fullmatch(path):
            raise NotStored(f"{path!r} is not a path the attachments folder wrote")
        return self.root / path

    async def write(self, data: bytes, mime: str, at: datetime) -> str:
        """Store the bytes under a new name; return the path relative to the folder."""
        path = f"{at:%Y/%m}/{secrets.token_hex(16)}.{extension_for(mime)}"
        await asyncio.to_thread(self._write, self._full(path), data)
        return path

    @staticmethod
    def _write(full: Path, data: bytes) -> None:
        full.parent.mkdir(parents=True, exist_ok=True)
        partial = full.with_suffix(full.suffix + ".part")
        with partial.open("xb") as out:  # a name never used before: never overwrite
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(full)  # whole or absent, never half a file

    async def read(self, path: str) -> bytes:
        """Return a stored file's bytes; FileNotFoundError when it is gone."""
        return await asyncio.to_thread(self._full(path).read_bytes)

    async def remove(self, paths: Iterable[str]) -> int:
        """Delete stored files (those already gone are fine); return how many went."""
        return await asyncio.to_thread(self._remove, list(paths))

    def _remove(self, paths: list[str]) -> int:
        removed = 0
        for path in paths:
            try:
                self._full(path).unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except (OSError, NotStored) as exc:  # the row is gone; say so, go on
                log.warning("attachments: could not remove %s: %s", path, exc)
        return removed
