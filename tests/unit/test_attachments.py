"""Which ticket keeps a customer's photo, file or voice note, and what they are told."""

from datetime import UTC, datetime

import pytest

from escalation.tickets.files import AttachResult, FileLimits, NewFile, Outcome
from handlers import texts
from handlers.attachments import on_non_text, result_text
from handlers.types import AttachEffect, FlowState, Incoming, MyTicket
from knowledge.kb import Audience

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
CONSUMER = FlowState(role=Audience.CONSUMER)
LIMITS = FileLimits(max_bytes=10 * 1024 * 1024, per_ticket=20)


async def _never(_limit: int) -> bytes:
    raise AssertionError("deciding never fetches the file")


def photo(kind: str = "photo") -> Incoming:
    new = NewFile(kind, None, None, 2048, _never, "file-id")
    return Incoming("telegram", "telegram:5512", "", NOW, kind=kind, attachment=new)


def ticket(status: str) -> MyTicket:
    return MyTicket("T20250602-0042", status, False, False, None, None)


@pytest.mark.parametrize("status", ["new", "assigned", "waiting", "reopened"])
def test_a_file_goes_to_the_ticket_still_being_worked(status: str) -> None:
    step = on_non_text(photo(), CONSUMER, ticket(status))
    assert step.effects == [AttachEffect("T20250602-0042")]
    assert step.replies == []  # the core says how storing it went


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_file_after_the_ticket_was_done_is_explained_not_kept(status: str) -> None:
    step = on_non_text(photo("document"), CONSUMER, ticket(status))
    assert step.effects == []
    assert step.replies[0].text == texts.FILE_NO_TICKET
    assert step.replies[0].choices == texts.OFFER_CHOICES


def test_a_file_without_a_ticket_says_to_register_first() -> None:
    step = on_non_text(photo("voice"), CONSUMER, None)
    assert step.effects == []
    assert "登记后再发送照片或文件" in step.replies[0].text


def test_a_file_during_the_complaint_waits_for_the_ticket() -> None:
    taking_down = FlowState(role=Audience.CONSUMER, intake=(("step", "description"),))
    step = on_non_text(photo(), taking_down, ticket("assigned"))
    assert step.effects == []
    assert step.replies[0].text == texts.FILE_DURING_INTAKE
    assert step.state == taking_down


def test_a_sticker_still_asks_for_text() -> None:
    sticker = Incoming("telegram", "telegram:5512", "", NOW, kind="sticker")
    step = on_non_text(sticker, CONSUMER, ticket("assigned"))
    assert step.replies[0].text == texts.NON_TEXT
    assert step.effects == []


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            AttachResult(Outcome.ADDED, "T1", "发票.pdf", 35 * 1024),
            "已收到您的文件“发票.pdf”（35 KB），已加入工单 T1，客服处理时会一并查看。",
        ),
        (
            AttachResult(Outcome.TOO_BIG, "T1", size=int(12.5 * 1024 * 1024)),
            "这个文件有 12.5 MB，超过了单个附件 10 MB 的上限，没有加入工单 T1。"
            "请压缩或截取关键部分后重新发送，或用文字说明。",
        ),
        (
            AttachResult(Outcome.TOO_MANY, "T1"),
            "工单 T1 已有 20 个附件，达到上限，这个文件没有加入。"
            "如还有重要材料，请用文字说明，客服会与您联系。",
        ),
    ],
)
def test_the_customer_is_told_the_outcome_and_the_limit(
    result: AttachResult, expected: str
) -> None:
    assert result_text(result, "document", LIMITS) == expected
