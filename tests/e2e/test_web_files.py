"""Evidence from the web chat: a photo uploaded with the ticket open is kept with it,
relayed to the agents' group as an upload and listed in the console; a file over the limit
is refused before it is read whole, a retried upload is kept once, and without a ticket
nothing is kept."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from bot.db import make_sessions
from bot.serve import Server
from escalation.tickets import notices
from handlers import texts
from storage.models import TicketFile
from tests.support.botapi import BotApiEmulator
from tests.support.browser import chromium_driver, chromium_missing_reason
from tests.support.console import _jar, _open_complaint
from tests.support.journeys import AGENT_ID, desk_server, groups, sla_file

MAX_MB = 0.05  # 52,428 bytes ("51 KB")


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (grey pixels)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png()


@pytest.fixture
async def web_files_desk(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    srv = await desk_server(
        database_url,
        emulator,
        sla_file(tmp_path),
        attachments_dir=tmp_path / "attachments",
        attachment_max_mb=MAX_MB,
    )
    try:
        yield srv
    finally:
        await srv.stop()


async def upload(
    srv: Server,
    session: str,
    data: bytes,
    *,
    name: str = "小票.png",
    mime: str = "image/png",
    client_id: str | None = None,
    caption: str | None = None,
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("session", session)
    if client_id is not None:
        form.add_field("id", client_id)
    if caption is not None:
        form.add_field("caption", caption)
    form.add_field("file", data, filename=name, content_type=mime)
    async with (
        aiohttp.ClientSession() as http,
        http.post(srv.url + "api/messages/file", data=form) as resp,
    ):
        return resp.status, await resp.json()


async def _rows(srv: Server) -> list[TicketFile]:
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        return list((await s.execute(select(TicketFile).order_by(TicketFile.id))).scalars())


async def test_a_photo_uploaded_in_the_web_chat_is_kept_relayed_and_listed(
    web_files_desk: Server, emulator: BotApiEmulator
) -> None:
    srv = web_files_desk
    agents_group, _ = groups(emulator)
    ref = await _open_complaint(srv, "w1")
    card = await agents_group.next_reply()

    status, body = await upload(srv, "w1", PNG, client_id="u1", caption="这是收银小票")
    assert status == 200, body
    [added] = body["replies"]
    assert added["text"] == texts.FILE_ADDED.format(
        kind="照片", name="小票.png", size=notices.file_size_text(len(PNG)), ref=ref
    )
    relayed = await agents_group.next_reply()
    assert relayed.method == "sendPhoto"
    assert ref in (relayed.caption or "")
    assert "这是收银小票" in (relayed.caption or "")
    assert relayed.raw["reply_to_message"]["message_id"] == card.message_id
    assert relayed.upload is not None  # the bytes themselves: the web has no file id

    # The same upload again (a lost answer, the page retries): the same answer, one file.
    status, again = await upload(srv, "w1", PNG, client_id="u1", caption="这是收银小票")
    assert status == 200
    assert again["replies"][0]["text"] == added["text"]

    [row] = await _rows(srv)
    assert (row.kind.value, row.mime, row.author, row.name) == (
        "photo",
        "image/png",
        "web:w1",
        "小票.png",
    )
    on_disk = (srv.settings.attachments_folder / row.path).read_bytes()
    assert on_disk == PNG
    assert row.sha256 == hashlib.sha256(PNG).hexdigest()
    await agents_group.assert_no_reply()

    assert srv.runtime is not None
    token = await srv.runtime.agents.issue_token(AGENT_ID)
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        async with http.post(f"{srv.url}api/console/login", json={"token": token}) as resp:
            assert resp.status == 200
        async with http.get(f"{srv.url}api/console/tickets/{ref}") as resp:
            files = (await resp.json())["files"]
        assert [(f["kind"], f["name"], f["inline"]) for f in files] == [
            ("photo", "小票.png", True)
        ]
        async with http.get(srv.url + files[0]["url"].lstrip("/")) as resp:
            assert resp.status == 200
            assert await resp.read() == PNG


async def test_a_pdf_and_a_voice_note_get_their_kinds(
    web_files_desk: Server, emulator: BotApiEmulator
) -> None:
    srv = web_files_desk
    agents_group, _ = groups(emulator)
    await _open_complaint(srv, "w2")
    await agents_group.next_reply()
    pdf = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
    assert (await upload(srv, "w2", pdf, name="发票.pdf", mime="application/pdf"))[0] == 200
    assert (await agents_group.next_reply()).method == "sendDocument"
    voice = b"OggS" + bytes(500)
    assert (await upload(srv, "w2", voice, name="语音.ogg", mime="audio/ogg"))[0] == 200
    assert (await agents_group.next_reply()).method == "sendVoice"
    assert [r.kind.value for r in await _rows(srv)] == ["document", "voice"]


async def test_an_upload_over_the_limit_is_refused_and_nothing_kept(
    web_files_desk: Server,
) -> None:
    srv = web_files_desk
    await _open_complaint(srv, "w3")
    status, body = await upload(srv, "w3", bytes(60 * 1024), name="录像.mp4", mime="video/mp4")
    assert status == 413
    assert body["error"] == texts.WEB_UPLOAD_TOO_BIG.format(limit="51 KB")
    assert await _rows(srv) == []
    assert not srv.settings.attachments_folder.exists()


async def test_without_an_open_ticket_an_upload_is_explained_and_not_kept(
    web_files_desk: Server,
) -> None:
    srv = web_files_desk
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            srv.url + "api/messages", json={"session": "w4", "text": texts.CHOICE_CONSUMER}
        ) as resp,
    ):
        assert resp.status == 200
    status, body = await upload(srv, "w4", PNG, client_id="n1")
    assert status == 200, body
    [reply] = body["replies"]
    assert reply["text"] == texts.FILE_NO_TICKET
    assert reply["choices"] == list(texts.OFFER_CHOICES)
    assert await _rows(srv) == []
    assert not srv.settings.attachments_folder.exists()


async def test_a_malformed_upload_is_a_client_error(web_files_desk: Server) -> None:
    srv = web_files_desk
    async with aiohttp.ClientSession() as http:
        async with http.post(srv.url + "api/messages/file", json={"session": "w5"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == texts.WEB_UPLOAD_NOT_FORM
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("session", "w5")
        form.add_field("caption", "没有文件")
        async with http.post(srv.url + "api/messages/file", data=form) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == texts.WEB_UPLOAD_NO_FILE
    status, body = await upload(srv, "bad session!", PNG)
    assert status == 400
    assert body["error"] == texts.WEB_BAD_SESSION


def _attach_in_chromium(url: str, session: str, photo: Path, ref: str) -> list[str]:
    """Open the page as `session` (whose complaint is open), attach a photo with the 📎."""
    with chromium_driver() as driver:
        driver.get(url)
        wait = WebDriverWait(driver, 15)
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), "您好"))
        driver.execute_script(
            "window.localStorage.setItem('helpdesk-session', arguments[0])", session
        )
        driver.refresh()
        attach = wait.until(ec.element_to_be_clickable((By.ID, "attach")))
        assert attach.text == "📎"
        accept = driver.find_element(By.ID, "file").get_attribute("accept") or ""
        assert accept == "image/*,application/pdf,audio/*"
        # What choosing a file in the dialog the 📎 opens does.
        driver.find_element(By.ID, "file").send_keys(str(photo))
        wait.until(ec.text_to_be_present_in_element((By.ID, "messages"), f"已加入工单 {ref}"))
        return [el.text for el in driver.find_elements(By.CSS_SELECTOR, ".msg")]


async def test_a_photo_attached_in_chromium_is_kept_with_the_ticket(
    web_files_desk: Server, tmp_path: Path
) -> None:
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    if "postgresql" in web_files_desk.settings.database_url:
        pytest.skip("the browser journey runs once, on SQLite; the API tests cover PostgreSQL")
    ref = await _open_complaint(web_files_desk, "browser1")
    photo = tmp_path / "小票.png"
    photo.write_bytes(PNG)
    bubbles = await asyncio.to_thread(
        _attach_in_chromium, web_files_desk.url, "browser1", photo, ref
    )
    assert "📎 小票.png" in bubbles
    assert any(b.startswith("已收到您的照片“小票.png”") for b in bubbles)
    [row] = await _rows(web_files_desk)
    assert (row.author, row.mime, row.size) == ("web:browser1", "image/png", len(PNG))
