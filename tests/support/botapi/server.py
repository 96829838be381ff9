"""The emulator itself: the aiohttp app on a loopback port, its one route, the state the
methods share, and what tests ask of it (chats, calls, holds, waits)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from aiohttp import ClientSession, ClientTimeout, web

from tests.support.botapi.chats import ChatHandle, GroupHandle, UserActions
from tests.support.botapi.errors import ApiError, JSONDict, bad_request
from tests.support.botapi.files import FileStore
from tests.support.botapi.messages import MessageMethods
from tests.support.botapi.models import (
    BotMessage,
    ChatState,
    Described,
    FailedCall,
    TelegramUser,
    clone,
)
from tests.support.botapi.params import Params, UploadedFile, normalize
from tests.support.botapi.profile import ProfileMethods
from tests.support.botapi.updates import DEFAULT_UPDATE_TYPES, UpdateDelivery

_TOKEN_RE: Final = re.compile(r"\d+:[A-Za-z0-9_-]+")
_Handler = Callable[[Params], Awaitable[Any]]


class BotApiEmulator(UserActions, FileStore, UpdateDelivery, ProfileMethods, MessageMethods):
    """A strict Telegram Bot API emulator for one bot.

    The state is assigned here (`EmulatorState` declares what the mixins share); the mixins
    hold the methods by concern (users' actions, files, updates, the bot's profile, messages)
    and use it through ``self``.

    Args:
        token: the bot's token; requests with another token get 401 Unauthorized.
        username: the bot's username (``getMe``, ``/command@username``).
        first_name: the bot's display name.
        privacy_mode: like BotFather's setting; in groups where the bot is no administrator,
            only commands and replies to the bot reach it.
        webhook_attempts: how often a webhook delivery is tried before it is given up.
        webhook_retry_delay: seconds before the first retry (doubling afterwards).
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        username: str = "helpdesk_test_bot",
        first_name: str = "补贴客服",
        privacy_mode: bool = True,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.privacy_mode = privacy_mode
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.bot_user = TelegramUser(
            id=int(token.split(":", 1)[0]),
            first_name=first_name,
            username=username,
            language_code=None,
            is_bot=True,
        )
        #: Every request to a known method as (method, params), failed ones included.
        self.calls: list[tuple[str, JSONDict]] = []
        #: Requests the emulator rejected, with the error it returned.
        self.failed_calls: list[FailedCall] = []
        #: Method names the bot called that the emulator does not know (answered 404).
        self.unknown_methods: list[str] = []
        #: Methods whose requests wait in `hold` until `release` (to freeze a bot mid-send).
        self._held_methods: set[str] = set()
        self._released = asyncio.Event()
        #: How many requests are waiting in a hold right now.
        self.holding = 0
        self.webhook_failures = []
        self.webhook_deliveries = []

        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._client = None
        self._closing = False
        self._changed = asyncio.Event()
        self._inflight = 0
        self._last_activity = 0.0
        self._update_ids = itertools.count(10001)
        self._updates = []
        self._allowed_updates = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._webhook = None
        self._webhook_task = None
        self._webhook_busy = False
        self._users = {}
        self._chats = {}
        self._handles = {}
        self._groups = {}
        self._queries = {}
        self._query_ids = itertools.count(1)
        self._files = {}
        self._file_counter = itertools.count(1)
        self._commands = {}
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._log_out,
                "close": self._log_out,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendVoice": self._send_voice,
                "forwardMessage": self._forward_message,
                "copyMessage": self._copy_message,
                "getFile": self._get_file,
                "getChat": self._get_chat,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://127.0.0.1:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` / ``Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self._require_port()}/file/bot"

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("the emulator is not running; await start() first")
        return self.port

    async def start(self, port: int = 0) -> None:
        """Serve on loopback: on `port`, or any free one when it is 0."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = int(sock.getsockname()[1])
        self._runner = runner
        self._client = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        """Stop serving: pending long polls return, webhook delivery ends, sockets close."""
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.port = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-facing API

    def private_chat(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> ChatHandle:
        """The private chat between the bot and that user (created on first use)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._user(user_id, first_name, last_name, username, language_code)
        state = self._chats.get(user_id)
        if state is None:
            state = ChatState(
                id=user_id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self._chats[user_id] = state
        return self._handle(state, user)

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> GroupHandle:
        """A group the bot is a member of (a supergroup if the id starts with -100)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id in self._groups:
            return self._groups[chat_id]
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100")
        state = ChatState(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            bot_is_admin=bot_is_admin,
        )
        self._chats[chat_id] = state
        handle = GroupHandle(self, state)
        self._groups[chat_id] = handle
        return handle

    def sent_messages(self, chat_id: int) -> list[BotMessage]:
        """All messages the bot sent to that chat, oldest first."""
        state = self._chats.get(chat_id)
        return list(state.bot_messages) if state else []

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by getUpdates (or delivered to the webhook)."""
        return [clone(u) for u in self._updates]

    def calls_to(self, method: str) -> list[JSONDict]:
        """The parameters of every call of that method, oldest first."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def my_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The commands set with setMyCommands for that scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [dict(c) for c in self._commands.get(key, [])]

    def hold(self, *methods: str) -> None:
        """Park requests to these methods, unanswered and unrecorded, until `release`."""
        self._held_methods.update(methods)
        self._released = asyncio.Event()

    def release(self) -> None:
        """Let parked requests go on; those whose client went away are dropped unrecorded,
        as a request the real server never received."""
        self._held_methods.clear()
        self._released.set()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Wait until `predicate()` holds after some request, or fail after `timeout` s."""
        if not await self._wait_for(predicate, timeout):
            raise AssertionError(f"{what} not reached within {timeout}s\n" + self.describe_state())

    async def wait_holding(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least `count` requests are parked."""
        if not await self._wait_for(lambda: self.holding >= count, timeout):
            raise AssertionError(f"only {self.holding} request(s) parked after {timeout}s")

    def expire_callback_queries(self) -> None:
        """Make every callback query too old to answer (as after the real server's timeout)."""
        for query in self._queries.values():
            query.expired = True

    async def wait_idle(self, timeout: float = 5.0, settle: float = 0.2) -> None:  # noqa: ASYNC109
        """Wait until every update was confirmed (or delivered to the webhook), no request is
        in flight, and nothing happened for ``settle`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle = await self._wait_for(
                lambda: not self._updates and self._inflight == 0 and not self._webhook_busy,
                deadline - loop.time(),
            )
            if idle:
                quiet_for = loop.time() - self._last_activity
                if quiet_for >= settle:
                    return
                if loop.time() + (settle - quiet_for) <= deadline:
                    await asyncio.sleep(settle - quiet_for)
                    continue
            raise AssertionError(
                f"the bot did not become idle within {timeout}s: "
                f"{len(self._updates)} unconfirmed update(s) (is it polling?), "
                f"{self._inflight} request(s) in flight\n" + self.describe_state()
            )

    def describe_state(self, chat_id: int | None = None) -> str:
        """A readable summary for assertion messages."""
        lines: list[str] = []
        chats = [self._chats[chat_id]] if chat_id in self._chats else list(self._chats.values())
        for state in chats:
            lines.append(f"chat {state.id} ({state.type}), bot messages:")
            for index, message in enumerate(state.bot_messages):
                marker = "consumed" if index < state.consumed else "new"
                lines.append(f"  [{marker}] {message.describe()}")
            if not state.bot_messages:
                lines.append("  (none)")
        if self._updates:
            lines.append(f"unconfirmed updates: {[u['update_id'] for u in self._updates]}")
        lines.extend(f"rejected {f.method}: {f.description}" for f in self.failed_calls[-5:])
        if self.unknown_methods:
            lines.append(f"unknown methods called: {sorted(set(self.unknown_methods))}")
        recent = [name for name, _ in self.calls if name != "getUpdates"][-10:]
        lines.append(f"recent calls (without getUpdates): {recent}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- HTTP layer

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return self._serve_file(path.removeprefix("/file/bot"))
        token, _, method = path.removeprefix("/bot").partition("/")
        if not path.startswith("/bot") or not method or "/" in method:
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        if not _TOKEN_RE.fullmatch(token):
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        if token != self.token:
            return self._respond(ApiError(401, "Unauthorized").envelope(), 401)
        entry = self._methods.get(method.lower())
        if entry is None:
            self.unknown_methods.append(method)
            return self._respond(ApiError(404, "Not Found").envelope(), 404)
        name, handler = entry
        polling = name == "getUpdates"
        if not polling:
            self._inflight += 1
            self._touch()
        try:
            values: JSONDict = {}
            if name in self._held_methods:
                await self._park(request)
            try:
                values = await self._read_params(request)
            finally:
                self.calls.append((name, values))
            result = await handler(Params(values))
        except ApiError as error:
            self.failed_calls.append(FailedCall(name, values, error.code, error.description))
            return self._respond(error.envelope(), error.code)
        except Exception as exc:  # a bug in the emulator: make it loud, not a silent 500
            description = f"Internal Server Error: emulator failed: {exc!r}"
            self.failed_calls.append(FailedCall(name, values, 500, description))
            return self._respond(ApiError(500, description).envelope(), 500)
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()
            self._notify()
        if isinstance(result, Described):
            body = {"ok": True, "result": result.result, "description": result.description}
        else:
            body = {"ok": True, "result": result}
        return self._respond(body, 200)

    async def _park(self, request: web.Request) -> None:
        self.holding += 1
        self._notify()
        try:
            await self._released.wait()
        finally:
            self.holding -= 1
        if request.transport is None or request.transport.is_closing():
            raise ApiError(499, "client closed the connection before the request was served")

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query)
        content_type = request.content_type
        if request.can_read_body:
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                raw.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[name] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    elif isinstance(value, bytes):
                        raw[name] = value.decode()
                    else:
                        raw[name] = value
        return normalize(raw)


@contextlib.asynccontextmanager
async def running_emulator(
    token: str = "123456:TEST", **options: Any
) -> AsyncIterator[BotApiEmulator]:
    """``async with running_emulator() as emu:`` — a started emulator, stopped afterwards."""
    emulator = BotApiEmulator(token, **options)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
