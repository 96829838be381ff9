"""Files: images to upload, file ids, what the bot uploads or names, and downloads."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from tests.support.botapi.errors import ApiError, JSONDict, bad_request
from tests.support.botapi.params import Params, UploadedFile
from tests.support.botapi.state import EmulatorState

FILE_ID_PREFIXES: Final = {
    "photo": "AgACAgUAAxkBAAI",
    "document": "BQACAgUAAxkBAAI",
    "sticker": "CAACAgUAAxkBAAI",
    "voice": "AwACAgUAAxkBAAI",
}
FILE_EXTENSIONS: Final = {"photo": "jpg", "document": "pdf", "sticker": "webp", "voice": "oga"}
# Bots may download files of up to 20 MB; getFile refuses anything larger.
MAX_DOWNLOAD_BYTES: Final = 20 * 1024 * 1024


def make_png(width: int = 1, height: int = 1) -> bytes:
    """A valid grey PNG image of the given size (handy as a photo to upload)."""
    raw = (b"\x00" + b"\x80" * width) * height

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG, WebP or BMP image; None if it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
            index += 2 + int(segment_length)
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if data[12:16] == b"VP8X" and len(data) >= 30:
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return width, height
        return 512, 512
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    return None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    file_path: str
    #: A document's name and a document's or voice note's type, as they were sent; a file
    #: sent again by its file_id keeps them.
    name: str | None = None
    mime: str | None = None


def voice_object(stored: StoredFile, duration: int) -> JSONDict:
    """The Voice object of a stored voice note."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": duration,
        "mime_type": stored.mime or "audio/ogg",
        "file_size": len(stored.content),
    }


class FileStore(EmulatorState):
    """File ids and contents, mixed into BotApiEmulator (whose state it uses)."""

    def _store_file(
        self, kind: str, content: bytes, *, name: str | None = None, mime: str | None = None
    ) -> StoredFile:
        number = next(self._file_counter)
        digest = hashlib.sha256(f"{self.token}:{kind}:{number}".encode()).digest()
        file_id = FILE_ID_PREFIXES[kind] + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        unique_id = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        path = f"{kind}s/file_{number}.{FILE_EXTENSIONS[kind]}"
        stored = StoredFile(file_id, unique_id, kind, content, path, name, mime)
        self._files[file_id] = stored
        return stored

    def _photo_sizes(self, content: bytes, width: int, height: int) -> list[JSONDict]:
        """PhotoSize objects of the thumbnails Telegram makes, smallest first."""
        sizes: list[JSONDict] = []
        longest = max(width, height)
        for limit in (90, 320, 800, 1280, 2560):
            scale = min(1.0, limit / longest)
            size_w, size_h = max(1, round(width * scale)), max(1, round(height * scale))
            data = content if scale == 1.0 else make_png(size_w, size_h)
            stored = self._store_file("photo", data)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": size_w,
                    "height": size_h,
                }
            )
            if scale == 1.0:
                break
        return sizes

    def _media(
        self, params: Params, kind: str
    ) -> tuple[JSONDict | list[JSONDict], UploadedFile | None]:
        """The photo, document or voice note of a send request: an upload, a known file_id
        or a URL."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if value in (None, ""):
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                size = image_size(value.content)
                if size is None:
                    raise bad_request("IMAGE_PROCESS_FAILED")
                width, height = size
                if width + height > 10000 or max(width, height) > 20 * min(width, height):
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
                return self._photo_sizes(value.content, width, height), value
            if kind == "voice":
                mime = value.content_type or "audio/ogg"
                voice = self._store_file("voice", value.content, mime=mime)
                return voice_object(voice, params.integer("duration") or 0), value
            stored = self._store_file("document", value.content)
            document: JSONDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": value.filename or "document",
                "mime_type": value.content_type or "application/octet-stream",
                "file_size": len(value.content),
            }
            return document, value
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if urlsplit(value).scheme in ("http", "https"):
            # The real server would download it; the emulator never leaves the machine.
            if kind == "photo":
                return self._photo_sizes(make_png(800, 600), 800, 600), None
            stored = self._store_file("document", b"%PDF-1.4\n%%EOF\n")
            name = urlsplit(value).path.rpartition("/")[2] or "file"
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": name,
                "mime_type": "application/pdf",
                "file_size": len(stored.content),
            }, None
        known = self._files.get(value)
        if known is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if known.kind != kind:
            raise bad_request(
                f"can't use file of type {known.kind.capitalize()} as {kind.capitalize()}"
            )
        if kind == "photo":
            size = image_size(known.content) or (800, 600)
            return self._photo_sizes(known.content, *size), None
        if kind == "voice":
            return voice_object(known, params.integer("duration") or 0), None
        return {
            "file_id": known.file_id,
            "file_unique_id": known.file_unique_id,
            "file_name": known.name or known.file_path.rpartition("/")[2],
            "mime_type": known.mime or "application/octet-stream",
            "file_size": len(known.content),
        }, None

    async def _get_file(self, params: Params) -> JSONDict:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _serve_file(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._respond(ApiError(401, "Unauthorized").envelope(), 401)
        for stored in self._files.values():
            if stored.file_path == file_path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return self._respond(ApiError(404, "Not Found").envelope(), 404)
