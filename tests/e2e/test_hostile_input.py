"""Hostile input on every JSON endpoint: each gets a 4xx JSON error and is the client's fault.

Every request here is written byte by byte on a plain socket, so nothing in an HTTP client
tidies it first. After each one the server must still answer, no ERROR record may be
logged and nothing may be sent to Sentry: bad input is not a fault of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

import aiohttp
import pytest
import sentry_sdk

from bot.clock import utc_now
from bot.console import SignInThrottle
from bot.serve import Server
from escalation.incidents import lifecycle, service
from escalation.incidents.sources import sign
from tests.support.servers import build_server

SECRET = "alert-secret-for-hostile-tests"
COOKIE = "helpdesk_console"
HOLE = b'"@@HOSTILE@@"'  # where a case puts its value into an endpoint's valid body
CJK = re.compile(r"[\u4e00-\u9fff]")
AGENT = (7101, "小李")


# ---------------------------------------------------------------- the server and its state


@dataclass
class Target:
    """The running server, a signed-in console session and an incident to act on."""

    server: Server
    cookie: str = ""
    incident: str = ""
    token: str = ""
    captured: list[BaseException] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.server.settings.web_host


@pytest.fixture
async def target(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Target]:
    srv = build_server(database_url, alert_secret=SECRET)
    await srv.start()
    try:
        runtime = srv.runtime
        assert runtime is not None
        await runtime.agents.add(AGENT[0], AGENT[1], "supervisor", utc_now())
        t = Target(srv, token=await runtime.agents.issue_token(AGENT[0]))
        monkeypatch.setattr(sentry_sdk, "capture_exception", t.captured.append)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(srv.url + "api/console/login", json={"token": t.token}) as r:
                assert r.status == 200, await r.text()
            t.cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
            async with http.post(
                srv.url + "api/console/incidents", json={"level": "Ⅳ", "title": "测试事件"}
            ) as r:
                assert r.status == 201, await r.text()
                t.incident = (await r.json())["incident"]["reference"]
        caplog.set_level(logging.WARNING)
        caplog.clear()
        yield t
    finally:
        await srv.stop()


def _no_faults(t: Target, caplog: pytest.LogCaptureFixture) -> None:
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors
    assert t.captured == [], t.captured


# ---------------------------------------------------------------- raw HTTP


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> str:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        found = json.loads(self.body)
        assert isinstance(found, dict), found
        assert isinstance(found.get("error"), str), found
        assert found["error"].strip(), found
        return str(found["error"])


def _request(
    method: str, path: str, headers: list[str | bytes], body: bytes | None = None
) -> bytes:
    lines: list[bytes] = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    lines.append(b"Connection: close")
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    if body is not None and not any(
        (h if isinstance(h, bytes) else h.encode()).lower().startswith(b"content-length")
        for h in headers
    ):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


async def _send(t: Target, raw: bytes, *, half_close: bool = False) -> Answer | None:
    """Send raw bytes; return the answer, or None when the server just closed."""
    reader, writer = await asyncio.open_connection(t.host, t.server.port)
    try:
        with contextlib.suppress(ConnectionError):  # refused early: the answer is still there
            writer.write(raw)
            await writer.drain()
            if half_close:
                writer.write_eof()
        data = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


# ---------------------------------------------------------------- endpoints and cases


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # "{incident}" is the target's incident
    valid: dict[str, object]
    field: str  # where a case's value goes
    console: bool = False  # needs the session cookie
    signed: bool = False  # an alert: signed over whatever body is sent
    chinese: bool = True

    def url(self, t: Target) -> str:
        return self.path.format(incident=t.incident)

    def body(self, value: bytes) -> bytes:
        template = json.dumps({**self.valid, self.field: "@@HOSTILE@@"}, ensure_ascii=False)
        return template.encode().replace(HOLE, value)

    def headers(self, t: Target, body: bytes, stamp: str | None = None) -> list[str | bytes]:
        headers: list[str | bytes] = []
        if self.console:
            headers.append(f"Cookie: {COOKIE}={t.cookie}")
        if self.signed:
            stamp = str(int(time.time())) if stamp is None else stamp
            headers += [
                f"X-Helpdesk-Timestamp: {stamp}",
                f"X-Helpdesk-Signature: {sign(SECRET, stamp, body)}",
            ]
        return headers


ENDPOINTS = (
    Endpoint("web chat", "/api/messages", {"session": "h1", "text": "补贴怎么领"}, "text"),
    Endpoint("console sign-in", "/api/console/login", {"token": "not-a-token"}, "token"),
    Endpoint(
        "console declare",
        "/api/console/incidents",
        {"level": "Ⅳ", "title": "测试"},
        "title",
        console=True,
    ),
    Endpoint(
        "console incident note",
        "/api/console/incidents/{incident}/note",
        {"text": "进展"},
        "text",
        console=True,
    ),
    Endpoint(
        "alerts",
        "/api/alerts",
        {"title": "接口超时", "category": "系统故障"},
        "title",
        signed=True,
        chinese=False,
    ),
)


@dataclass(frozen=True)
class Case:
    """A hostile body: the whole of it, or one value in the endpoint's valid body."""

    id: str
    whole: bytes | None = None
    value: bytes | None = None
    content_type: str = "application/json"
    extra: tuple[str, ...] = ()

    def body(self, endpoint: Endpoint) -> bytes:
        if self.whole is not None:
            return self.whole
        assert self.value is not None
        return endpoint.body(self.value)


CASES = (
    Case("nested 100,000 deep", whole=b"[" * 100_000 + b"]" * 100_000),
    Case("nested 100,000 deep, unclosed", whole=b"[" * 100_000),
    Case("nested 20,000 deep in a field", value=b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
    Case("nested 65 deep", value=b"[" * 65 + b"]" * 65),
    Case("a 5,000-digit integer", value=b"7" * 5_000),
    Case("a 101-digit integer", value=b"-" + b"9" * 101),
    Case("a float beyond range", value=b"1e999"),
    Case("a 5,000-digit float", value=b"0." + b"1" * 5_000),
    Case("NaN", value=b"NaN"),
    Case("-Infinity", value=b"-Infinity"),
    Case("a lone high surrogate", value=b'"abc\\ud800def"'),
    Case("a lone low surrogate", value=b'"\\udfff"'),
    Case("a reversed surrogate pair", value=b'"\\udc00\\ud83d"'),
    Case("a lone surrogate in a key", whole=b'{"\\ud800": 1, "text": "x"}'),
    Case("NUL escaped", value=b'"a\\u0000b"'),
    Case("ESC escaped", value=b'"a\\u001b[31mb"'),
    Case("a raw NUL byte", value=b'"a\x00b"'),
    Case("a raw control byte", value=b'"a\x07b"'),
    Case(
        "a bogus charset", whole=b'{"text": "x"}', content_type="application/json; charset=bogus"
    ),
    Case(
        "charset latin-1",
        whole='{"text": "café"}'.encode("latin-1"),
        content_type="application/json; charset=latin-1",
    ),
    Case(
        "charset utf-16",
        whole='{"text": "补贴"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    ),
    Case("bytes that are not UTF-8", value=b'"\xff\xfe\xfd"'),
    Case("Chinese in GBK", value='"补贴"'.encode("gbk")),
    Case("a UTF-8-encoded surrogate", value=b'"\xed\xa0\x80"'),
    Case("a byte-order mark", whole=b'\xef\xbb\xbf{"text": "x"}'),
    Case("a JSON array instead of an object", whole=b'["session", "text"]'),
    Case("a JSON string instead of an object", whole=b'"hello"'),
    Case("JSON null", whole=b"null"),
    Case("an empty body", whole=b""),
    Case("not JSON", whole=b"{not json"),
    Case("a number where a string belongs", value=b"5"),
    Case("an object where a string belongs", value=b'{"a": 1}'),
    Case("a list where a string belongs", value=b'["x"]'),
    Case("null where a string belongs", value=b"null"),
    Case("true where a string belongs", value=b"true"),
    Case("a huge body (1 MB)", value=b'"' + b"x" * 1_000_000 + b'"'),
    Case("a body just over the limit (300 KB)", value=b'"' + b"x" * 300_000 + b'"'),
    Case(
        "a body that is not gzip",
        whole=b"\x1f\x8bnot really gzip at all",
        extra=("Content-Encoding: gzip",),
    ),
)


def _case_request(t: Target, endpoint: Endpoint, case: Case) -> bytes:
    body = case.body(endpoint)
    headers = [f"Content-Type: {case.content_type}", *case.extra, *endpoint.headers(t, body)]
    return _request("POST", endpoint.url(t), headers, body)


async def _assert_refused(t: Target, endpoint: Endpoint, raw: bytes, what: str) -> str:
    answer = await _send(t, raw)
    assert answer is not None, f"{endpoint.name}, {what}: no answer"
    assert 400 <= answer.status < 500, (endpoint.name, what, answer)
    message = answer.error()
    if endpoint.chinese:
        assert CJK.search(message), (endpoint.name, what, message)
    return message


async def _assert_healthy(t: Target) -> None:
    """The server answers, and each endpoint still takes a valid request."""
    url = t.server.url
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "healthz") as r:
            assert r.status == 200, await r.text()
        async with http.post(url + "api/messages", json={"session": "ok", "text": "你好"}) as r:
            assert r.status == 200, await r.text()
        async with http.post(url + "api/console/login", json={"token": t.token}) as r:
            assert r.status == 200, await r.text()
        cookie = {"Cookie": f"{COOKIE}={t.cookie}"}
        async with http.post(
            url + f"api/console/incidents/{t.incident}/note",
            json={"text": "仍在处理"},
            headers=cookie,
        ) as r:
            assert r.status == 200, await r.text()
        # A new body each time: the same one within a second would be a replay.
        detail = secrets.token_hex(8)
        raw = json.dumps(
            {"title": "健康检查告警", "category": "健康检查", "detail": detail}
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Helpdesk-Timestamp": stamp,
            "X-Helpdesk-Signature": sign(SECRET, stamp, raw),
        }
        async with http.post(url + "api/alerts", data=raw, headers=headers) as r:
            assert r.status in (200, 201), await r.text()


# ---------------------------------------------------------------- the tests


# The cases run in one server per database, one after another, each followed by the
# health check: a server per case would cost a KB engine each (hundreds of them).
async def test_a_hostile_body_gets_a_4xx_json_error_on_every_endpoint(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    for case in CASES:
        for endpoint in ENDPOINTS:
            request = _case_request(target, endpoint, case)
            await _assert_refused(target, endpoint, request, case.id)
        _no_faults(target, caplog)
        await _assert_healthy(target)
        _no_faults(target, caplog)


TIMESTAMPS = (
    ("a superscript two", "²"),
    ("Arabic-Indic digits", "١٢٣"),
    ("Arabic-Indic digits of now", "".join(chr(0x660 + int(d)) for d in str(int(time.time())))),
    ("fullwidth digits of now", "".join(chr(0xFF10 + int(d)) for d in str(int(time.time())))),
    ("5,000 digits", "1" * 5_000),
    ("13 digits", "1" + "0" * 12),
    ("minus one", "-1"),
    ("a leading space", " 123"),
    ("a leading plus", f"+{int(time.time())}"),
    ("now with a fraction", f"{time.time():.3f}"),
    ("an exponent", "1.7e9"),
    ("hexadecimal", "0x6553f100"),
    ("underscores", "1_700_000_000"),
    ("empty", ""),
    ("a word", "now"),
)


async def test_an_odd_alert_timestamp_gets_a_401(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = ENDPOINTS[-1]
    body = json.dumps(alerts.valid).encode()
    assert target.server.runtime is not None
    for label, stamp in TIMESTAMPS:
        before = len(await target.server.runtime.incidents.active())
        headers = ["Content-Type: application/json", *alerts.headers(target, body, stamp)]
        answer = await _send(target, _request("POST", "/api/alerts", headers, body))
        assert answer is not None, (label, answer)
        assert answer.status == 401, (label, answer)
        assert "timestamp" in answer.error(), label
        _no_faults(target, caplog)
        assert len(await target.server.runtime.incidents.active()) == before, label
        await _assert_healthy(target)
        _no_faults(target, caplog)


SIGNATURES: tuple[tuple[str, bytes], ...] = (
    ("non-ASCII", "sha256=é".encode() + b"0" * 62),
    ("bytes that are not UTF-8", b"sha256=\xff\xfe" + b"0" * 62),
    ("uppercase hex", b"SHA256=" + b"A" * 64),
    ("too long", b"sha256=" + b"0" * 5_000),
    ("empty", b""),
)


async def test_an_odd_alert_signature_gets_a_401(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"title": "接口超时"}).encode()
    for label, given in SIGNATURES:
        headers: list[str | bytes] = [
            "Content-Type: application/json",
            f"X-Helpdesk-Timestamp: {int(time.time())}",
            b"X-Helpdesk-Signature: " + given,
        ]
        answer = await _send(target, _request("POST", "/api/alerts", headers, body))
        assert answer is not None, (label, answer)
        assert answer.status == 401, (label, answer)
        assert "signature" in answer.error(), label
        _no_faults(target, caplog)
        await _assert_healthy(target)


async def test_identifiers_with_a_trailing_newline_or_odd_bytes_are_refused(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = f"Cookie: {COOKIE}={target.cookie}"
    json_type = "Content-Type: application/json"
    ref = target.incident
    requests = {
        "session with a trailing newline": _request(
            "POST", "/api/messages", [json_type], b'{"session": "h1\\n", "text": "x"}'
        ),
        "id with a trailing newline": _request(
            "POST", "/api/messages", [json_type], b'{"session": "h1", "text": "x", "id": "m\\n"}'
        ),
        "id of 64 characters": _request(
            "POST",
            "/api/messages",
            [json_type],
            json.dumps({"session": "s" * 64, "text": "x", "id": "i" * 64}).encode(),
        ),
        "polled session with a trailing newline": _request(
            "GET", "/api/messages?session=h1%0A", []
        ),
        "polled session with NUL": _request("GET", "/api/messages?session=h1%00", []),
        "polled session not UTF-8": _request("GET", "/api/messages?session=%FF%FE", []),
        "incident reference with a trailing newline": _request(
            "GET", f"/api/console/incidents/{ref}%0A", [cookie]
        ),
        "incident reference with NUL": _request(
            "POST", f"/api/console/incidents/{ref}%00/note", [cookie, json_type], b"{}"
        ),
        "ticket reference with NUL": _request(
            "GET", "/api/console/tickets/T20250602-0001%00", [cookie]
        ),
        "ticket reference with a trailing newline": _request(
            "POST", "/api/console/tickets/T20250602-0001%0A/claim", [cookie]
        ),
        "ticket reference as an encoded surrogate": _request(
            "GET", "/api/console/tickets/%ED%A0%80", [cookie]
        ),
        "category too long": _request(
            "POST",
            "/api/console/incidents",
            [cookie, json_type],
            json.dumps({"level": "Ⅳ", "title": "测试", "category": "类" * 33}).encode(),
        ),
        "scope with NUL": _request("GET", "/api/console/queue?scope=all%00", [cookie]),
        "cookie not UTF-8": _request(
            "GET", "/api/console/queue", [b"Cookie: helpdesk_console=\xff\xfe" + b"a" * 40]
        ),
        "cookie with a NUL escape": _request(
            "GET", "/api/console/me", [b"Cookie: helpdesk_console=%00" + b"a" * 40]
        ),
        "no such route": _request("GET", "/api/nope", []),
        "wrong method": _request("PUT", "/api/messages", [json_type], b"{}"),
    }
    for what, raw in requests.items():
        answer = await _send(target, raw)
        assert answer is not None, (what, answer)
        assert 400 <= answer.status < 500, (what, answer)
        assert CJK.search(answer.error()), what
    _no_faults(target, caplog)
    await _assert_healthy(target)
    _no_faults(target, caplog)


async def test_a_long_category_in_an_alert_is_refused_before_the_database(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = ENDPOINTS[-1]
    body = json.dumps({"title": "接口超时", "category": "类" * 33}).encode()
    raw = _request(
        "POST",
        "/api/alerts",
        ["Content-Type: application/json", *alerts.headers(target, body)],
        body,
    )
    await _assert_refused(target, alerts, raw, "category of 33 characters")
    _no_faults(target, caplog)


async def test_requests_the_http_parser_refuses_are_warnings_not_errors(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """These never reach the application: aiohttp answers them itself, in plain text."""
    for what, raw in {
        "Content-Length not a number": b"POST /api/messages HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: abc\r\n\r\n{}",
        "two Content-Lengths": b"POST /api/messages HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "broken chunking": b"POST /api/messages HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "a request line too long": b"GET /api/messages?session="
        + b"a" * 20_000
        + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "a header too long": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: "
        + b"a" * 20_000
        + b"\r\n\r\n",
        "not HTTP": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
    }.items():
        answer = await _send(target, raw)
        assert answer is None or 400 <= answer.status < 500, (what, answer)
    # A body nobody reads is drained after the answer: it fails to decompress there.
    answer = await _send(
        target, _request("GET", "/healthz", ["Content-Encoding: gzip"], b"\x1f\x8bnot gzip")
    )
    assert answer is not None
    assert answer.status == 200
    # The body ends before its Content-Length: nobody is left to answer.
    await _send(
        target,
        _request(
            "POST",
            "/api/messages",
            ["Content-Type: application/json", "Content-Length: 100"],
            b'{"session"',
        ),
        half_close=True,
    )
    await asyncio.sleep(0.2)
    _no_faults(target, caplog)
    await _assert_healthy(target)
    _no_faults(target, caplog)


# ---------------------------------------------------------------- alerts: the signature


def _signed(body: Mapping[str, object]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "X-Helpdesk-Timestamp": stamp,
        "X-Helpdesk-Signature": sign(SECRET, stamp, raw),
    }


@contextlib.contextmanager
def _failing_once(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Iterator[None]:
    real: Callable[..., Awaitable[object]] = getattr(owner, name)
    calls = 0

    async def once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError(f"{name} failed for the test")
        return await real(*args, **kwargs)

    monkeypatch.setattr(owner, name, once)
    yield
    assert calls >= 2, f"{name} was not called again"


@pytest.mark.parametrize("where", ["alert", "_open", "_attach", "draft_report", "locked"])
async def test_a_failed_alert_leaves_its_signature_for_the_identical_retry(
    target: Target, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    runtime = target.server.runtime
    assert runtime is not None
    # draft_report: inside the opening's transaction; locked: inside _attach's.
    owner = {"draft_report": lifecycle, "locked": service}.get(where, runtime.incidents)
    url = target.server.url + "api/alerts"
    body = {"title": "补贴接口超时", "level": "Ⅲ", "category": "系统故障"}
    async with aiohttp.ClientSession() as http:
        attach = where in ("_attach", "locked")
        if attach:  # an incident of this category is open already
            raw, headers = _signed(dict(body, detail="首次"))
            async with http.post(url, data=raw, headers=headers) as r:
                assert r.status == 201, await r.text()
        raw, headers = _signed(body)
        with _failing_once(monkeypatch, owner, where):
            async with http.post(url, data=raw, headers=headers) as r:
                assert r.status == 500, await r.text()  # our fault: reported, code shown
            async with http.post(url, data=raw, headers=headers) as r:  # the sender retries
                assert r.status == (200 if attach else 201), await r.text()
        async with http.post(url, data=raw, headers=headers) as r:  # now it is a replay
            assert r.status == 401
            assert "replayed" in (await r.json())["error"]
    assert len(target.captured) == 1  # the one real fault
    titles = [v.title for v in await runtime.incidents.active()]
    assert titles.count("补贴接口超时") == 1


async def test_a_refused_alert_leaves_its_signature_unused(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    url = target.server.url + "api/alerts"
    async with aiohttp.ClientSession() as http:
        for body in ({"title": "告警", "level": "Ⅸ"}, {"title": 5}, {"title": "告警\u0000"}):
            raw, headers = _signed(body)
            for _ in range(2):  # the identical retry is judged on its content again
                async with http.post(url, data=raw, headers=headers) as r:
                    assert r.status == 400, await r.text()
        raw, headers = _signed({"title": "告警"})
        headers["Content-Type"] = "application/json; charset=koi8-r"
        for _ in range(2):
            async with http.post(url, data=raw, headers=headers) as r:
                assert r.status == 415, await r.text()
        headers["Content-Type"] = "application/json"
        async with http.post(url, data=raw, headers=headers) as r:
            assert r.status == 201, await r.text()
    _no_faults(target, caplog)


# ---------------------------------------------------------------- console sign-in throttle


async def _sign_in(
    t: Target, token: str, local: str = "127.0.0.1"
) -> tuple[int, dict[str, str], str]:
    connector = aiohttp.TCPConnector(local_addr=(local, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(t.server.url + "api/console/login", json={"token": token}) as r,
    ):
        return r.status, dict(r.headers), str((await r.json()).get("error", ""))


async def test_the_sixth_wrong_sign_in_from_one_address_is_refused_for_a_while(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        status, _, _ = await _sign_in(target, "a-wrong-guess-of-a-token")
        assert status == 401
    status, headers, error = await _sign_in(target, "a-wrong-guess-of-a-token")
    assert status == 429
    assert "分钟后再试" in error
    assert 0 < int(headers["Retry-After"]) <= 300
    assert headers["Content-Type"].startswith("application/json")
    # The right token from that address waits too: the throttle must not tell guesses apart.
    assert (await _sign_in(target, target.token))[0] == 429
    # Another address is not held up by this one's failures.
    assert (await _sign_in(target, target.token, local="127.0.0.2"))[0] == 200
    assert any(
        r.levelno == logging.WARNING and "refused a sign-in" in r.getMessage()
        for r in caplog.records
    )
    _no_faults(target, caplog)


async def test_bad_bodies_and_successful_sign_ins_are_not_counted_as_failures(
    target: Target,
) -> None:
    for _ in range(4):
        assert (await _sign_in(target, "wrong"))[0] == 401
    for _ in range(10):  # malformed: no guess was made
        assert (await _sign_in(target, "x" * 1000))[0] == 400
        assert (await _sign_in(target, "   "))[0] == 400
    for _ in range(3):
        assert (await _sign_in(target, target.token))[0] == 200
    assert (await _sign_in(target, "wrong"))[0] == 401  # the fifth failure
    assert (await _sign_in(target, target.token))[0] == 429


def test_the_throttle_forgets_failures_after_its_window() -> None:
    now = [1000.0]
    throttle = SignInThrottle(limit=5, window=300, clock=lambda: now[0])
    for _ in range(5):
        assert throttle.attempt("10.0.0.1") == 0
        now[0] += 10
    assert throttle.attempt("10.0.0.1") == 300 - 50
    assert throttle.attempt("10.0.0.2") == 0
    now[0] += 251
    assert throttle.attempt("10.0.0.1") == 0  # the first failure has aged out
    throttle.succeeded("10.0.0.1")
    assert throttle.attempt("10.0.0.1") == 0
    assert throttle.attempt("10.0.0.1") > 0
