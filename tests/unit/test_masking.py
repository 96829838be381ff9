import io
import json
import logging
import re
import sys
from datetime import date
from decimal import Decimal

import pytest
import sentry_sdk
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from sqlalchemy.exc import IntegrityError

from bot.monitoring import (
    MaskingFilter,
    MaskingFormatter,
    before_breadcrumb,
    before_send,
    sentry_options,
    setup_logging,
)
from handlers import intake
from handlers.intake import parse_details
from handlers.types import FlowState
from knowledge.masking import find_mobile, mask_pii

TO_FULL = str.maketrans("0123456789+-.()Xx ", "０１２３４５６７８９＋－．（）Ｘｘ\u3000")
TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
PHONE, ID_NO, CARD = "13812345678", "110105194912310021", "6222021234567890123"


# ------------------------------------------------------------------ what is masked
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # resident ID numbers, 18 and 15 characters, in any grouping and width
        ("身份证110101199003071234", "身份证110101********1234"),
        ("身份证11010119900307123X", "身份证110101********123X"),
        ("110105 19491231 002X", "110105********002X"),
        ("110105-1949-1231-002X", "110105********002X"),
        ("110 105 1949 1231 002x", "110105********002x"),
        ("110105.19491231.002X", "110105********002X"),
        ("110105_19491231_002X", "110105********002X"),
        ("110105\u00a019491231\u00a0002X", "110105********002X"),
        ("110105\u300019491231\u3000002X", "110105********002X"),
        ("110105\u201319491231\u2014002X", "110105********002X"),
        ("号码１１０１０５１９４９１２３１００２Ｘ。", "号码110105********002X。"),
        ("老身份证 110105491231002", "老身份证 110105*****1002"),
        ("订单号：110105194912310021", "订单号：110105********0021"),  # an ID all the same
        # mainland mobiles, with the prefix kept as typed
        ("电话13812345678", "电话138****5678"),
        ("电话 +86 138-1234-5678", "电话 +86 138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138.1234.5678", "138****5678"),
        ("138_1234_5678", "138****5678"),
        ("138 - 1234 - 5678", "138****5678"),
        ("138\u20131234\u20135678", "138****5678"),
        ("138\u30001234\u30005678", "138****5678"),
        ("1381234 5678", "138****5678"),
        ("1381234.5678", "138****5678"),
        ("手机１３８１２３４５６７８", "手机138****5678"),
        ("手机１３８－１２３４－５６７８", "手机138****5678"),
        ("8613812345678", "86138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("0086 138 1234 5678", "0086 138****5678"),
        ("(+86)13812345678", "(+86)138****5678"),
        ("（＋８６）１３８ １２３４ ５６７８", "（＋８６）138****5678"),
        ("+86 (0) 139 1234 5678", "+86 (0) 139****5678"),
        ("13812345678 13987654321", "138****5678 139****4321"),
        ("2025-06-02 13812345678", "2025-06-02 138****5678"),
        ("phone=%2B8613812345678", "phone=%2B86138****5678"),
        ("user_13812345678@163.com", "user_138****5678@163.com"),
        # bank cards
        ("卡号6222021234567890123", "卡号6222***********0123"),
        ("6222 0212 3456 7890 123", "6222***********0123"),
        ("6222-0212-3456-7890", "6222********7890"),
        ("622202 1234567890123", "6222***********0123"),
        ("卡号：６２２２ ０２１２ ３４５６ ７８９０", "卡号：6222********7890"),
        ("订单有问题，我的卡号是6222021234567890123", "订单有问题，我的卡号是6222***********0123"),
        # fixed lines with an area code
        ("010-12345678", "010-****5678"),
        ("0755 1234 5678", "0755 ****5678"),
        ("0755-1234567", "0755-***4567"),
        ("(0755)12345678", "(0755)****5678"),
        ("（0755）1234-5678", "（0755）****5678"),
        ("+86 755 12345678", "+86 755 ****5678"),
        ("+86 10 8888 6666", "+86 10 ****6666"),
        ("0755－12345678", "0755－****5678"),
        ("075512345678", "0755****5678"),
        ("0755-12345678-123", "0755-****5678-123"),
        ("我的座机0755-12345678", "我的座机0755-****5678"),
        ("请拨打我的电话 0755-12345678", "请拨打我的电话 0755-****5678"),
        ("客服热线 13800000000", "客服热线 138****0000"),  # a mobile is always masked
        # in a traceback or SQL parameters
        (
            "[parameters: ('13812345678', '110101199003071234')]",
            "[parameters: ('138****5678', '110101********1234')]",
        ),
        (
            "ValueError: bad id 110105194912310021 for +86 138 1234 5678",
            "ValueError: bad id 110105********0021 for +86 138****5678",
        ),
    ],
)
def test_personal_numbers_are_masked_in_every_common_form(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "订单号202506021234567890",
        "订单号 6222021234567890123",
        "订单号：6222 0212 3456 7890 123",
        "单号6222021234567890",
        "订单编号 6222021234567890123",
        "Order No. 6222021234567890123",
        "order#6222021234567890123",
        "金额12345元",
        "3000元，1,000.50元，1234567.89元，¥12,345,678.00",
        "12345 12315 95588 10086",
        "400-820-8820，800-810-8888，4008208820，400 1234 5678，+86 400 820 8820",
        "2025-06-02 2025.06.02 2025/06/02 20250602 2025年6月2日",
        "2025-06-02 2025-06-03 至 2025-06-30",
        "09:30-18:00，13:45:00",
        "工单 T20250602-0042，事件 I20250602-0001",
        "T20250602-13812345678",
        "A1234567890 SN6222021234567890123 13812345678abc",
        "12345678901234567890123",
        "192.168.100.200 139.196.23.145 10.0.0.1",
        "0.2345678901 3.14159265358 1.3333333333 12.345678901",
        "金额130000000.00元，1300000.5元",
        "1717315200 1717315200123",
        "550e8400-e29b-41d4-a716-075512345678",
        # an organisation's published landline, introduced as such
        "消费者客服热线0755-2370 8866，商户专线0755-2370 8867",
        "联系人：平台客服值班室 0755-23708866；或拨打0755-86702024按2号键",
        "服务热线：(0755)2370 8866",
        "已脱敏：138****5678、110105********002X、6222***********0123、0755-****5678",
        "没有数字的一句话",
        "",
    ],
)
def test_dates_amounts_references_and_service_numbers_stay(text: str) -> None:
    assert mask_pii(text) == text


def test_masking_keeps_the_untouched_text_in_its_own_width() -> None:
    assert (
        mask_pii("（订单）　电话：１３８１２３４５６７８，谢谢！")
        == "（订单）　电话：138****5678，谢谢！"
    )


@pytest.mark.parametrize(
    ("text", "mobile"),
    [
        ("联系我 １３８１２３４５６７８", "13812345678"),
        ("电话 +86 138.1234.5678", "13812345678"),
        ("(+86) 139-1234-5678 或 13812345678", "13912345678"),
        ("座机 0755-12345678", None),
        ("身份证 110105194912310021", None),
        ("没有", None),
    ],
)
def test_find_mobile_returns_the_first_mobile_as_eleven_digits(
    text: str, mobile: str | None
) -> None:
    assert find_mobile(text) == mobile


# ------------------------------------------------------------------ properties
SEPARATORS = ["", " ", "-", ".", "_", "\u00a0", "\u3000", "\u2013", "\u2014", "－", "．", " - "]
PREFIXES = ["", "+86", "+86 ", "86", "86-", "0086 ", "(+86)", "（+86）", "+86-", "＋８６ ", "0"]
GROUPINGS = [(11,), (3, 4, 4), (3, 8), (7, 4), (4, 4, 3), (3, 3, 5), (1,) * 11]
CHINESE = st.text(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
    | st.sampled_from("，。！？：；、“”（） "),
    max_size=12,
)


def _grouped(digits: str, sizes: tuple[int, ...], seps: list[str]) -> str:
    out, at = [], 0
    for i, size in enumerate(sizes):
        out.append(("" if i == 0 else seps[i - 1]) + digits[at : at + size])
        at += size
    return "".join(out)


@st.composite
def rendered_mobiles(draw: st.DrawFn) -> tuple[str, str, str]:
    number = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    sizes = draw(st.sampled_from(GROUPINGS))
    if len(sizes) > 4:  # spaced digit by digit: one separator throughout
        seps = [draw(st.sampled_from(SEPARATORS[1:]))] * (len(sizes) - 1)
    else:
        seps = [draw(st.sampled_from(SEPARATORS)) for _ in sizes[1:]]
    prefix = draw(st.sampled_from(PREFIXES))
    body = _grouped(number, sizes, seps)
    if draw(st.booleans()):
        body = body.translate(TO_FULL)
    return number, prefix, prefix + body


@settings(max_examples=300, deadline=None)
@given(rendered_mobiles(), CHINESE, CHINESE)
def test_a_mobile_in_any_form_never_shows_its_middle_digits(
    mobile: tuple[str, str, str], before: str, after: str
) -> None:
    number, prefix, rendered = mobile
    middle = number[3:7]
    kept = re.sub(r"\D", "", prefix.translate(TO_ASCII)) + number[:3]
    assume(middle not in kept and middle != number[7:])
    text = before + rendered + after
    masked = mask_pii(text)

    assert middle not in masked.translate(TO_ASCII)
    assert middle.translate(TO_FULL) not in masked
    assert re.sub(r"\D", "", masked.translate(TO_ASCII)) == kept + number[7:]
    assert find_mobile(text) == number


@st.composite
def rendered_ids(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(["110105", "310115", "440305", "500103", "650102"]))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31)))
    serial = draw(st.from_regex(r"[0-9]{3}[0-9Xx]", fullmatch=True))
    number = f"{region}{born:%Y%m%d}{serial}"
    cuts = sorted(draw(st.sets(st.sampled_from([3, 6, 9, 10, 12, 14, 15]), max_size=4)))
    assume(all(b - a >= 3 for a, b in zip([0, *cuts], [*cuts, 18], strict=True)))
    sep = draw(st.sampled_from(SEPARATORS))
    pieces = [number[a:b] for a, b in zip([0, *cuts], [*cuts, 18], strict=True)]
    rendered = sep.join(pieces)
    if draw(st.booleans()):
        rendered = rendered.translate(TO_FULL)
    return number, rendered


@settings(max_examples=200, deadline=None)
@given(rendered_ids(), CHINESE, CHINESE)
def test_an_id_number_in_any_grouping_never_shows_its_birth_date(
    id_no: tuple[str, str], before: str, after: str
) -> None:
    number, rendered = id_no
    born = number[6:14]
    assume(born not in number[:6] + number[14:])
    masked = mask_pii(before + rendered + after).translate(TO_ASCII)
    assert born not in re.sub(r"\D", "", masked)
    assert number[:6] + "********" + number[14:].translate(TO_ASCII) in masked.replace("Ｘ", "X")


@settings(max_examples=200, deadline=None)
@given(
    st.dates(),
    st.sampled_from(["{:%Y-%m-%d}", "{:%Y.%m.%d}", "{:%Y%m%d}", "{:%Y/%m/%d}", "T{:%Y%m%d}-0042"]),
    st.decimals(min_value=0, max_value=10**9, places=2),
    CHINESE,
)
def test_dates_amounts_and_references_are_never_masked(
    day: date, form: str, amount: Decimal, words: str
) -> None:
    text = f"{words}{form.format(day)}，金额{amount}元，{amount:,}元"
    assert mask_pii(text) == text


# ------------------------------------------------------------------ logs
class Failing(Exception):
    pass


def _raise_integrity_error(phone: str) -> None:
    raise IntegrityError(
        "INSERT INTO ticket (contact_phone, note) VALUES (?, ?)",
        (phone, "身份证 110105 19491231 002X"),
        Exception("UNIQUE constraint failed: ticket.contact_phone"),
    )


@pytest.fixture
def root_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The root logger with one plain handler writing to a string, as setup_logging finds it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    monkeypatch.setattr(root, "level", root.level)
    httpx = logging.getLogger("httpx")
    monkeypatch.setattr(httpx, "level", httpx.level)
    return stream


def test_setup_logging_masks_tracebacks_and_exception_arguments(
    root_stream: io.StringIO,
) -> None:
    setup_logging("INFO")
    log = logging.getLogger("helpdesk.test")
    try:
        _raise_integrity_error("13812345678")
    except IntegrityError:
        log.exception("saving the ticket of %s failed", "１３８ １２３４ ５６７８")
    try:
        raise Failing("用户 +86 139-1234-5678 身份证 110105194912310021", ("6222021234567890123",))
    except Failing:
        log.exception("unexpected", stack_info=True)

    out = root_stream.getvalue()
    assert "Traceback" in out
    assert "IntegrityError" in out
    assert "Failing" in out
    assert "Stack (most recent call last)" in out
    assert "138****5678" in out
    assert "139****5678" in out
    assert "110105********002X" in out
    for raw in ("12345678", "1234 5678", "１２３４", "19491231", "6222021234567890123"):
        assert raw not in out
    assert out.startswith("ERROR saving the ticket of 138****5678 failed")  # its own format


def test_the_filter_leaves_a_masked_traceback_for_handlers_that_do_not_mask() -> None:
    stream = io.StringIO()
    plain = logging.StreamHandler(stream)  # a handler someone added without our formatter
    plain.addFilter(MaskingFilter())
    logger = logging.getLogger("helpdesk.test.plain")
    logger.addHandler(plain)
    logger.propagate = False
    try:
        try:
            _raise_integrity_error("13812345678")
        except IntegrityError:
            logger.exception("failed")
    finally:
        logger.removeHandler(plain)
        logger.propagate = True
    assert "138****5678" in stream.getvalue()
    assert "13812345678" not in stream.getvalue()


def test_a_log_call_with_a_bad_format_reports_its_arguments_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("helpdesk.test.bad")
    logger.addHandler(handler)
    logger.propagate = False
    phone = PHONE
    try:
        logger.error("call back %d", phone)  # logging reports the error on stderr
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    reported = capsys.readouterr().err
    assert "138****5678" in reported
    assert PHONE not in reported + stream.getvalue()


def test_the_formatter_alone_masks_the_message_and_the_traceback() -> None:
    try:
        raise Failing("手机 13812345678")
    except Failing:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "id %s", ("110105194912310021",), sys.exc_info()
        )
    text = MaskingFormatter("%(message)s").format(record)
    assert text.startswith("id 110105********0021\nTraceback")
    assert "Failing: 手机 138****5678" in text
    assert "13812345678" not in text


# ------------------------------------------------------------------ Sentry
def test_sentry_before_send_masks_nested_strings_tuples_and_exception_values() -> None:
    event = {
        "message": "手机13812345678",
        "extra": {"list": ["110101199003071234"], "pair": ("13812345678", 3), "n": 13812345678},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "[parameters: ('138 1234 5678',)]",
                    "stacktrace": {"frames": [{"vars": {"card": "'6222021234567890123'"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "call (0755)12345678", "data": {}}]},
    }
    masked = before_send(event, None)
    assert masked["message"] == "手机138****5678"
    assert masked["extra"] == {
        "list": ["110101********1234"],
        "pair": ("138****5678", 3),
        "n": 13812345678,  # not a string: Sentry has already turned locals into strings
    }
    [value] = masked["exception"]["values"]
    assert value["value"] == "[parameters: ('138****5678',)]"
    assert value["stacktrace"]["frames"][0]["vars"] == {"card": "'6222***********0123'"}
    assert masked["breadcrumbs"]["values"][0]["message"] == "call (0755)****5678"


def test_sentry_before_breadcrumb_masks_the_crumb() -> None:
    crumb = {"category": "query", "message": "SELECT 1", "data": {"params": ("13812345678",)}}
    assert before_breadcrumb(crumb, {})["data"] == {"params": ("138****5678",)}


class Captured(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def test_a_real_sentry_event_carries_no_number_in_values_locals_or_breadcrumbs() -> None:
    transport = Captured()
    client = sentry_sdk.Client(
        **sentry_options("https://key@sentry.invalid/1"),
        transport=transport,
        default_integrations=False,
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        sentry_sdk.add_breadcrumb(message="user typed 13812345678", category="log")
        try:
            _raise_integrity_error("13812345678")
        except IntegrityError as exc:
            sentry_sdk.capture_exception(exc)
    client.close()

    [envelope] = transport.envelopes
    event = envelope.items[0].payload.json
    assert event is not None
    sent = json.dumps(event, ensure_ascii=False)
    assert '"phone": "\'138****5678\'"' in sent  # the frame's local variable
    assert "13812345678" not in sent
    assert "19491231" not in sent


# ------------------------------------------------------------------ complaint intake
@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("110105194912310021 龙华电器城", (None, "龙华电器城", None)),
        ("订单号：110105194912310021，商户 龙华电器城", (None, "龙华电器城", None)),
        ("手机 １３８１２３４５６７８ 龙华店", (None, "龙华店", "13812345678")),
        ("电话138.1234.5678，订单A1234567890", ("A1234567890", None, "13812345678")),
        ("(+86)138-1234-5678 国美 2号店", (None, "国美 2号店", "13812345678")),
        ("卡号 6222 0212 3456 7890 123 苏宁", (None, "苏宁", None)),
        ("座机 0755-12345678 商家 华强北店", (None, "华强北店", None)),
    ],
)
def test_details_never_carry_an_unmasked_number(
    text: str, parsed: tuple[str | None, str | None, str | None]
) -> None:
    assert parse_details(text) == parsed


def test_the_description_is_kept_masked_in_the_saved_state() -> None:
    state = FlowState(intake=(("step", "description"), ("type", "投诉"), ("category", "其他")))
    text = "我的手机13812345678，身份证110105194912310021，补贴没到账"
    step = intake.advance(text, state)
    assert dict(step.state.intake)["description"] == (
        "我的手机138****5678，身份证110105********0021，补贴没到账"
    )
    saved = step.state.to_json()
    assert "13812345678" not in saved
    assert "110105194912310021" not in saved
