"""Evidence kept with the ticket: a customer's photo, PDF and voice note go into the
attachments folder and the ticket, the agents' group gets each under the card, the console
lists and serves them to signed-in agents only, and the limits refuse what is too big or
one too many."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import utc_now
from bot.db import make_sessions
from bot.serve import Server
from escalation.privacy.purge import purge
from escalation.privacy.subject import erase_user, export_user
from escalation.tickets import notices
from handlers import texts
from storage.models import Outbox, TicketEntry, TicketFile
from tests.support.botapi import BotApiEmulator
from tests.support.console import _jar
from tests.support.journeys import AGENT_ID, complain, desk_server, groups, sla_file

PDF = b"%PDF-1.4\n% a receipt\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
MAX_MB = 0.05  # 52,428 bytes ("51 KB"): a small limit, so a too-big file is quick to make
PER_TICKET = 3


@pytest.fixture
async def files_desk(
    database_url: str, emulator: BotApiEmulator, tmp_path: Path
) -> AsyncIterator[Server]:
    srv = await desk_server(
        database_url,
        emulator,
        sla_file(tmp_path),
        attachments_dir=tmp_path / "attachments",
        attachment_max_mb=MAX_MB,
        attachments_per_ticket=PER_TICKET,
    )
    try:
        yield srv
    finally:
        await srv.stop()


def _content(emulator: BotApiEmulator, file_id: str) -> bytes:
    return emulator._files[file_id].content


async def _rows(srv: Server) -> list[TicketFile]:
    assert srv.runtime is not None
    async with make_sessions(srv.runtime.db)() as s:
        return list((await s.execute(select(TicketFile).order_by(TicketFile.id))).scalars())


async def test_photos_and_files_the_customer_sends_are_kept_with_the_ticket_and_relayed(
    files_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5512, first_name="小明")
    ref = await complain(consumer)
    card = await agents_group.next_reply()

    photo = await consumer.send_photo(caption="这是收银小票", width=640, height=480)
    added = await consumer.next_reply()
    assert ref in (added.text or "")
    assert added.text is not None
    assert added.text.startswith("已收到您的照片")
    relayed_photo = await agents_group.next_reply()
    assert relayed_photo.method == "sendPhoto"
    assert ref in (relayed_photo.caption or "")
    assert "这是收银小票" in (relayed_photo.caption or "")
    assert relayed_photo.raw["reply_to_message"]["message_id"] == card.message_id
    largest = photo.raw["photo"][-1]["file_id"]
    assert relayed_photo.params["photo"] == largest  # by its id, not uploaded again
    assert relayed_photo.upload is None

    await consumer.send_document("发票.pdf", content=PDF)
    added = await consumer.next_reply()
    assert added.text == texts.FILE_ADDED.format(
        kind="文件", name="发票.pdf", size=notices.file_size_text(len(PDF)), ref=ref
    )
    relayed_pdf = await agents_group.next_reply()
    assert relayed_pdf.method == "sendDocument"
    assert relayed_pdf.raw["document"]["file_name"] == "发票.pdf"
    assert relayed_pdf.raw["reply_to_message"]["message_id"] == card.message_id

    downloads = len(emulator.calls_to("getFile"))
    await consumer.send_document("录像.pdf", content=bytes(60 * 1024))
    refused = await consumer.next_reply()
    assert refused.text == texts.FILE_TOO_BIG.format(
        kind="文件", size="60 KB", limit="51 KB", ref=ref
    )
    assert len(emulator.calls_to("getFile")) == downloads  # refused before downloading

    await consumer.send_voice(duration=5)
    assert (await consumer.next_reply()).text is not None
    assert (await agents_group.next_reply()).method == "sendVoice"
    await consumer.send_photo()
    assert (await consumer.next_reply()).text == texts.FILE_TOO_MANY.format(
        ref=ref, limit=PER_TICKET, kind="照片"
    )
    await agents_group.assert_no_reply()

    assert files_desk.runtime is not None
    folder = files_desk.settings.attachments_folder
    rows = await _rows(files_desk)
    assert [(r.kind.value, r.mime, r.author) for r in rows] == [
        ("photo", "image/png", "telegram:5512"),  # the emulator's photos are PNG
        ("document", "application/pdf", "telegram:5512"),
        ("voice", "audio/ogg", "telegram:5512"),
    ]
    assert rows[1].name == "发票.pdf"
    expected = [_content(emulator, largest), PDF, None]
    for row, content in zip(rows, expected, strict=True):
        on_disk = (folder / row.path).read_bytes()
        assert hashlib.sha256(on_disk).hexdigest() == row.sha256
        assert row.size == len(on_disk)
        if content is not None:
            assert on_disk == content
        assert "发票" not in row.path  # the customer's name is never a path
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == sorted(
        r.path for r in rows
    )

    detail = await files_desk.runtime.desk.views.detail(ref, utc_now())
    assert [f.name for f in detail.files][1] == "发票.pdf"
    lines = [text for kind, _, text, _ in detail.thread if kind == "customer"]
    assert any("【附件·照片】" in line and "这是收银小票" in line for line in lines)
    assert any("【附件·文件】发票.pdf" in line for line in lines)


async def test_the_console_lists_a_tickets_files_and_serves_them_to_agents_only(
    files_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    consumer = emulator.private_chat(user_id=5520)
    ref = await complain(consumer)
    await agents_group.next_reply()
    photo = await consumer.send_photo(width=320, height=240)
    await consumer.next_reply()
    await consumer.send_document("发票.pdf", content=PDF)
    await consumer.next_reply()

    assert files_desk.runtime is not None
    token = await files_desk.runtime.agents.issue_token(AGENT_ID)
    base = files_desk.url
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(f"{base}api/console/tickets/{ref}") as resp:
            assert resp.status == 401
        async with stranger.get(f"{base}api/console/tickets/{ref}/files/1") as resp:
            assert resp.status == 401
            assert "登录" in (await resp.json())["error"]

    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        async with http.post(f"{base}api/console/login", json={"token": token}) as resp:
            assert resp.status == 200
        async with http.get(f"{base}api/console/tickets/{ref}") as resp:
            files = (await resp.json())["files"]
        assert [(f["kind"], f["name"], f["inline"]) for f in files] == [
            ("photo", files[0]["name"], True),
            ("document", "发票.pdf", False),
        ]
        assert files[1]["size"] == len(PDF)

        async with http.get(base + files[0]["url"].lstrip("/")) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/png"
            assert resp.headers["Content-Disposition"].startswith("inline;")
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert await resp.read() == _content(emulator, photo.raw["photo"][-1]["file_id"])
        async with http.get(base + files[1]["url"].lstrip("/")) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/pdf"
            disposition = resp.headers["Content-Disposition"]
            assert disposition.startswith("attachment;")
            assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf" in disposition
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert await resp.read() == PDF
        other = await complain(emulator.private_chat(user_id=5521))
        for wrong in (f"tickets/{other}/files/{files[0]['id']}", f"tickets/{ref}/files/999"):
            async with http.get(f"{base}api/console/{wrong}") as resp:
                assert resp.status == 404, wrong


async def test_without_an_open_ticket_a_photo_is_explained_and_not_kept(
    files_desk: Server, emulator: BotApiEmulator
) -> None:
    consumer = emulator.private_chat(user_id=5530)
    await consumer.send(texts.CHOICE_CONSUMER)
    await consumer.next_reply()
    await consumer.send_photo()
    reply = await consumer.next_reply()
    assert reply.text == texts.FILE_NO_TICKET
    assert reply.buttons == list(texts.OFFER_CHOICES)
    await consumer.send_sticker()
    assert (await consumer.next_reply()).text == texts.NON_TEXT
    assert emulator.calls_to("getFile") == []
    assert await _rows(files_desk) == []
    assert not files_desk.settings.attachments_folder.exists()


async def test_erasing_or_purging_a_closed_ticket_deletes_its_files(
    files_desk: Server, emulator: BotApiEmulator
) -> None:
    agents_group, _ = groups(emulator)
    agent = agents_group.member(AGENT_ID, "小王")
    assert files_desk.runtime is not None
    sessions = make_sessions(files_desk.runtime.db)
    folder = files_desk.runtime.files.folder
    kept: dict[str, list[Path]] = {}
    for user_id in (5540, 5541):
        consumer = emulator.private_chat(user_id=user_id)
        ref = await complain(consumer)
        await agents_group.next_reply()
        await consumer.send_document("合同.pdf", content=PDF)
        await consumer.next_reply()
        await agents_group.next_reply()
        await agent.send(f"/close {ref} 已处理")
        await agents_group.next_reply()
        await consumer.next_reply()
        kept[f"telegram:{user_id}"] = [
            folder.root / r.path
            for r in await _rows(files_desk)
            if r.author.endswith(str(user_id))
        ]
    assert all(p.exists() for paths in kept.values() for p in paths)

    export = await export_user(sessions, "telegram:5540")
    [listed] = export["tickets"][0]["files"]
    assert (listed["name"], listed["size"], listed["mime"]) == (
        "合同.pdf",
        len(PDF),
        "application/pdf",
    )
    assert listed["sha256"] == hashlib.sha256(PDF).hexdigest()

    erased = await erase_user(sessions, "telegram:5540", utc_now(), "test", folder)
    assert erased.counts.files == 1
    assert not any(p.exists() for p in kept["telegram:5540"])
    assert all(p.exists() for p in kept["telegram:5541"])

    report = await purge(sessions, 30, utc_now() + timedelta(days=31), files=folder)
    assert report.counts.files == 1
    assert not any(p.exists() for p in kept["telegram:5541"])
    assert await _rows(files_desk) == []
    async with sessions() as s:
        relayed = (
            await s.execute(select(Outbox).where(Outbox.attachment_kind.is_not(None)))
        ).scalars()
        assert all(r.attachment_ref is None and r.attachment is None for r in relayed)
        entries = (await s.execute(select(TicketEntry.text))).scalars()
        assert not any("合同.pdf" in text for text in entries)
