"""Journey helpers the end-to-end tests share: the desk's chats and people, a fast SLA
policy, a server wired to the Bot API emulator, a complaint taken down in a private chat,
and `helpdesk serve` in its own process for the restart tests."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from bot.clock import SYSTEM_CLOCK, Clock
from bot.serve import Server
from escalation.tickets.rules import find_reference
from handlers import texts
from knowledge.kb import BUNDLED_KB
from tests.support.botapi import BotApiEmulator, ChatHandle, GroupHandle
from tests.support.servers import TELEGRAM_TOKEN, build_server

AGENTS_CHAT = -1001000000001
SUPERVISORS_CHAT = -1001000000002
AGENT_ID = 7001
SUPERVISOR_ID = 7002
LEADERSHIP_CHAT = -1001000000003
BUREAU_CHAT = -1001000000004  # reports and digests only

# A 24/7 calendar and seconds-long clocks, so the SLA stages happen during the test.
FAST_SLA = """
calendar: 24x7
warning: {percent: 50, before: 0m}
notify: {warning: [agents], breach: [agents, supervisors]}
outside_hours: hold
rules:
  - match: {}
    first_response: {first}
    next_response: 1h
    resolution: 2h
"""


def sla_file(tmp_path: Path, first: str = "10h") -> Path:
    path = tmp_path / "sla.yaml"
    path.write_text(FAST_SLA.replace("{first}", first), encoding="utf-8")
    return path


async def desk_server(
    database_url: str,
    emulator: BotApiEmulator,
    sla: Path,
    clock: Clock = SYSTEM_CLOCK,
    **extra: object,
) -> Server:
    srv = build_server(
        database_url,
        emulator,
        clock=clock,
        agent_chat_id=AGENTS_CHAT,
        supervisor_chat_id=SUPERVISORS_CHAT,
        sla_path=sla,
        sla_sweep_seconds=0.2,
        outbox_poll_seconds=0.1,
        **extra,
    )
    await srv.start()
    assert srv.runtime is not None
    at = clock.now()
    await srv.runtime.agents.add(AGENT_ID, "小王", "agent", at)
    await srv.runtime.agents.add(SUPERVISOR_ID, "李主管", "supervisor", at)
    return srv


async def complain(
    chat: ChatHandle,
    description: str = "6月2日在某某电器店买冰箱，店员不让用补贴",
    category: str = "商户拒用补贴",
    details: str | None = None,
) -> str:
    """Take a complaint down in a private chat (`details`: the order number, merchant and
    phone step, skipped without); return its reference."""
    await chat.send(texts.CHOICE_CONSUMER)
    await chat.next_reply()
    await chat.send(texts.CHOICE_COMPLAIN)
    await chat.next_reply()
    await chat.next_reply()
    await chat.press("投诉")
    await chat.next_reply()
    await chat.press(category)
    await chat.next_reply()
    await chat.send(description)
    await chat.next_reply()
    if details is None:
        await chat.press(texts.CHOICE_SKIP)
    else:
        await chat.send(details)
    opened = await chat.next_reply()
    found = find_reference(opened.text or "")
    assert found, opened.text
    return found


def groups(emu: BotApiEmulator) -> tuple[GroupHandle, GroupHandle]:
    return emu.group(AGENTS_CHAT, "客服组"), emu.group(SUPERVISORS_CHAT, "主管组")


async def start_bot(
    emu: BotApiEmulator, database_url: str, **extra: str
) -> asyncio.subprocess.Process:
    """`helpdesk serve` in its own process, polling the emulator; `extra` adds settings."""
    env = {
        **os.environ,
        "HELPDESK_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "HELPDESK_TELEGRAM_BASE_URL": emu.base_url,
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_KB_PATH": str(BUNDLED_KB),
        "HELPDESK_WEB_PORT": "0",
        "HELPDESK_LOG_LEVEL": "WARNING",
        # A dead process's claimed replies are taken over after 3 s, not 30.
        "HELPDESK_OUTBOX_LEASE_SECONDS": "3",
        **extra,
    }
    polls = len(emu.calls_to("getUpdates"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await emu.wait_until(
        lambda: len(emu.calls_to("getUpdates")) > polls or proc.returncode is not None,
        60,
        "the bot polling",
    )
    assert proc.returncode is None, "the bot process exited during start-up"
    return proc


PHONE = "13812345678"
ID_CARD = "440301199001011234"


async def _say(server: Server, session: str, *texts: str) -> None:
    async with aiohttp.ClientSession() as http:
        for text in texts:
            async with http.post(
                server.url + "api/messages", json={"session": session, "text": text}
            ) as resp:
                assert resp.status == 200, await resp.text()
