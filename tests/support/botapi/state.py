"""The state the emulator's mixins share: every attribute they use, with its type (assigned
in ``BotApiEmulator.__init__``), the plumbing that wakes waiters, and typed declarations of
the methods one mixin calls on another."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

if TYPE_CHECKING:
    from tests.support.botapi.chats import ChatHandle, GroupHandle
    from tests.support.botapi.errors import JSONDict
    from tests.support.botapi.files import StoredFile
    from tests.support.botapi.models import (
        CallbackQueryHandle,
        ChatState,
        TelegramUser,
        Webhook,
        WebhookFailure,
    )
    from tests.support.botapi.params import Params, UploadedFile


class EmulatorState:
    """What ``BotApiEmulator`` holds and its mixins use through ``self``."""

    # The bot.
    token: str
    privacy_mode: bool
    bot_user: TelegramUser
    # Webhook delivery settings and records.
    webhook_attempts: int
    webhook_retry_delay: float
    #: Updates that could not be delivered to the webhook.
    webhook_failures: list[WebhookFailure]
    #: Webhook deliveries as (update, HTTP status or None on connection errors).
    webhook_deliveries: list[tuple[JSONDict, int | None]]
    # Serving.
    _client: ClientSession | None
    _closing: bool
    _changed: asyncio.Event
    _last_activity: float
    # Updates.
    _update_ids: itertools.count[int]
    _updates: list[JSONDict]
    _allowed_updates: frozenset[str]
    _poll_generation: int
    _webhook: Webhook | None
    _webhook_task: asyncio.Task[None] | None
    _webhook_busy: bool
    # Users, chats, button presses, files, commands.
    _users: dict[int, TelegramUser]
    _chats: dict[int, ChatState]
    _handles: dict[tuple[int, int], ChatHandle]
    _groups: dict[int, GroupHandle]
    _queries: dict[str, CallbackQueryHandle]
    _query_ids: itertools.count[int]
    _files: dict[str, StoredFile]
    _file_counter: itertools.count[int]
    _commands: dict[tuple[str, str], list[JSONDict]]

    @property
    def webhook_url(self) -> str:
        return self._webhook.url if self._webhook else ""

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _touch(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._last_activity = asyncio.get_running_loop().time()

    async def _wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds; False if ``timeout`` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()

    @staticmethod
    def _respond(body: JSONDict, status: int) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
        )

    # Defined by one mixin, called from another (or from the chat handles); the assembled
    # class inherits the definitions, which come before these in its MRO.

    def describe_state(self, chat_id: int | None = None) -> str:
        """A readable summary for assertion messages (BotApiEmulator)."""
        raise NotImplementedError

    def _store_file(
        self, kind: str, content: bytes, *, name: str | None = None, mime: str | None = None
    ) -> StoredFile:
        """Store a file under a new file id (FileStore)."""
        raise NotImplementedError

    def _photo_sizes(self, content: bytes, width: int, height: int) -> list[JSONDict]:
        """The PhotoSize objects of a photo (FileStore)."""
        raise NotImplementedError

    def _media(
        self, params: Params, kind: str
    ) -> tuple[JSONDict | list[JSONDict], UploadedFile | None]:
        """The photo, document or voice note of a send request (FileStore)."""
        raise NotImplementedError

    def _chat(self, params: Params, name: str = "chat_id") -> ChatState:
        """The chat a request names (MessageMethods)."""
        raise NotImplementedError
