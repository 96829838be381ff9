"""The emulator's own tests: a running emulator and python-telegram-bot's `Bot` on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from tests.support.botapi import BotApiEmulator, running_emulator
from tests.support.botapi.samples import TOKEN


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with running_emulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as ptb_bot:
        yield ptb_bot
