"""What a customer's file is called, what type it is, and which limit refuses it."""

from datetime import UTC, datetime

import pytest

from escalation.tickets.files import (
    FileLimits,
    Outcome,
    clean_mime,
    clean_name,
    image_type,
    inline_ok,
    refusal,
)
from escalation.tickets.notices import file_size_text
from tests.support.botapi import make_png

AT = datetime(2025, 6, 2, 1, 30, 5, tzinfo=UTC)
LIMITS = FileLimits(max_bytes=1000, per_ticket=3)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("发票.pdf", "发票.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\小明\\合同.docx", "合同.docx"),
        ("报告\x00\u202e.pdf", "报告.pdf"),
        ("...", "文件-20250602-093005"),
        (None, "文件-20250602-093005"),
    ],
)
def test_a_name_is_for_display_only_and_never_a_path(given: str | None, kept: str) -> None:
    assert clean_name(given, "document", AT) == kept


def test_a_long_name_keeps_its_extension() -> None:
    name = clean_name("长" * 200 + ".pdf", "document", AT)
    assert len(name) == 120
    assert name.endswith("长.pdf")


def test_a_photo_without_a_name_is_named_by_its_time_in_beijing() -> None:
    assert clean_name(None, "photo", AT) == "照片-20250602-093005"


@pytest.mark.parametrize(
    ("given", "kind", "kept"),
    [
        ("Application/PDF", "document", "application/pdf"),
        ("text/html; charset=utf-8", "document", "application/octet-stream"),
        (None, "voice", "audio/ogg"),
        ("", "photo", "image/jpeg"),
    ],
)
def test_a_type_is_kept_only_when_well_formed(given: str | None, kind: str, kept: str) -> None:
    assert clean_mime(given, kind) == kept


def test_an_image_is_known_by_its_bytes_not_its_claimed_type() -> None:
    png = make_png(4, 4)
    assert image_type(png) == "image/png"
    assert inline_ok("image/png", png)
    assert not inline_ok("image/jpeg", png)
    assert not inline_ok("image/svg+xml", b"<svg onload=alert(1)>")
    assert image_type(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # RIFF, but no WebP


@pytest.mark.parametrize(
    ("size", "count", "outcome"),
    [
        (1000, 0, None),
        (1001, 0, Outcome.TOO_BIG),
        (None, 2, None),
        (10, 3, Outcome.TOO_MANY),
        (5000, 3, Outcome.TOO_BIG),
    ],
)
def test_the_limits_refuse_a_file_too_big_or_one_too_many(
    size: int | None, count: int, outcome: Outcome | None
) -> None:
    assert refusal(size, count, LIMITS) is outcome


@pytest.mark.parametrize(
    ("size", "text"),
    [(820, "820 B"), (35 * 1024, "35 KB"), (10 * 1024 * 1024, "10 MB"), (2_516_582, "2.4 MB")],
)
def test_sizes_read_as_people_say_them(size: int, text: str) -> None:
    assert file_size_text(size) == text


def test_a_file_named_after_a_phone_or_an_id_card_is_shown_masked() -> None:
    name = clean_name("身份证110105199001011234 13812345678.jpg", "photo", AT)
    assert "110105199001011234" not in name
    assert "13812345678" not in name
    assert name.endswith(".jpg")
