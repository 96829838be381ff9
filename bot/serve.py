"""`helpdesk serve`: the web server always, Telegram too when a token is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.app import Runtime, build_runtime
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.scheduler import Jobs
from bot.telegram_app import TelegramChannel
from bot.web import build_web_app
from handlers import texts

log = logging.getLogger(__name__)


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
        if self.telegram is not None:
            await self.telegram.start()
        dispatch = self.telegram.dispatch_outbox if self.telegram is not None else None
        self.jobs = Jobs(self.runtime, dispatch, self.clock)
        self.jobs.start()

    async def run_now(self, job: str) -> int:
        """Run one scheduled job once, now ("sla-sweep", "digests", "outbox", ...)."""
        if self.jobs is None:
            raise RuntimeError("the server has not started: no jobs to run")
        return await self.jobs.run_now(job)

    @property
    def url(self) -> str:
        return f"http://{self.settings.web_host}:{self.port}/"

    async def stop(self) -> None:
        if self.jobs is not None:
            await self.jobs.stop()
        if self.telegram is not None:
            await self.telegram.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.runtime is not None:
            await self.runtime.close()


async def serve_forever(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    server = Server(settings)
    await server.start()
    print(texts.SERVE_STARTED.format(url=server.url), flush=True)  # noqa: T201 (make run)
    if server.telegram is not None:
        print(texts.SERVE_TELEGRAM_CONNECTED, flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
