"""`helpdesk serve`: the web server always, Telegram too when a token is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime

from aiohttp import web
from telegram.error import InvalidToken, NetworkError

from bot.app import Runtime, build_runtime
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import ConfigError, Settings
from bot.scheduler import Jobs
from bot.telegram_app import TelegramChannel
from bot.web import build_web_app
from handlers import texts

log = logging.getLogger(__name__)

# How long a server waits between attempts to reach Telegram when it could not at start:
# doubling from the first to the last, so a Bot API that is back is found within a minute.
TELEGRAM_RETRY_FIRST = 1.0
TELEGRAM_RETRY_MAX = 60.0


class Server:
    """The running helpdesk: runtime, web site and optional Telegram channel."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        # The one clock of this server: every job and channel reads it (bot/clock.py);
        # tests pass a ManualClock and move it.
        self.clock = clock
        self.runtime: Runtime | None = None
        self.telegram: TelegramChannel | None = None
        self._runner: web.AppRunner | None = None
        self.jobs: Jobs | None = None
        self.port: int = settings.web_port
        # Set once Telegram accepted the bot (getMe, commands, webhook or polling).
        self.telegram_ready = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.runtime = await build_runtime(self.settings, self.clock)
        if self.settings.telegram_token is not None:
            self.telegram = TelegramChannel(self.settings, self.runtime.core, self.clock)
        webhook = self.telegram.webhook if self.telegram and self.settings.webhook_url else None
        app = build_web_app(self.runtime, webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web_host, self.settings.web_port)
        await site.start()
        if self._runner.addresses:  # the real port when 0 asked for any free one
            self.port = int(self._runner.addresses[0][1])
        try:
            reached = self.telegram is None or await self._try_telegram()
        except ConfigError:
            await self.stop()
            raise
        if not reached:
            # Telegram unreachable: the web chat, the console and the jobs go on, the
            # replies for Telegram wait in the outbox, and the bot keeps trying.
            self._connecting = asyncio.create_task(self._reach_telegram(), name="telegram-connect")
        dispatch = self._dispatch_telegram if self.telegram is not None else None
        self.jobs = Jobs(self.runtime, dispatch, self.clock)
        self.jobs.start()

    async def _try_telegram(self) -> bool:
        """Start the Telegram channel once; False when Telegram could not be reached."""
        assert self.telegram is not None
        try:
            await self.telegram.start()
        except InvalidToken:
            await self.telegram.app.bot.shutdown()  # its connections, opened for getMe
            raise ConfigError(
                "HELPDESK_TELEGRAM_TOKEN: Telegram refused this bot token. Copy the token "
                "@BotFather gave the bot again (it looks like 123456:ABC-…), or unset it "
                "to run without Telegram."
            ) from None
        except NetworkError as exc:  # TimedOut is one too
            log.warning("telegram: cannot reach the Bot API (%s); the web chat runs on", exc)
            return False
        self.telegram_ready.set()
        return True

    async def _reach_telegram(self) -> None:
        delay = TELEGRAM_RETRY_FIRST
        while True:
            await asyncio.sleep(delay)
            try:
                if await self._try_telegram():
                    log.info("telegram: connected")
                    return
            except ConfigError as exc:
                log.error("telegram: %s", exc)
                return
            delay = min(delay * 2, TELEGRAM_RETRY_MAX)

    async def _dispatch_telegram(self, now: datetime) -> int:
        """Send queued Telegram replies, once the channel is connected."""
        if self.telegram is None or not self.telegram_ready.is_set():
            return 0
        return await self.telegram.dispatch_outbox(now)

    async def run_now(self, job: str) -> int:
        """Run one scheduled job once, now ("sla-sweep", "digests", "outbox", ...)."""
        if self.jobs is None:
            raise RuntimeError("the server has not started: no jobs to run")
        return await self.jobs.run_now(job)

    @property
    def url(self) -> str:
        return f"http://{self.settings.web_host}:{self.port}/"

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self.jobs is not None:
            await self.jobs.stop()
        if self.telegram is not None:
            await self.telegram.stop()
            # A bot that never connected is not shut down with its application: its
            # connections are closed here (a no-op for one that was).
            await self.telegram.app.bot.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.runtime is not None:
            await self.runtime.close()


async def serve_forever(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    server = Server(settings)
    await server.start()
    print(texts.SERVE_STARTED.format(url=server.url), flush=True)  # noqa: T201 (make run)
    if server.telegram is not None and server.telegram_ready.is_set():
        print(texts.SERVE_TELEGRAM_CONNECTED, flush=True)  # noqa: T201
    elif server.telegram is not None:
        print(texts.SERVE_TELEGRAM_RETRYING, flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
