"""Incident helpers the end-to-end tests share: the plan with its minutes turned into seconds,
the chats it notifies, the settings that point the helpdesk at them, a server on the plan
with the desk's people registered, and the incident cards a chat was sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.clock import SYSTEM_CLOCK, Clock
from bot.serve import Server
from escalation.incidents.plan import DEFAULT_PLAN
from tests.support.botapi import BotApiEmulator
from tests.support.journeys import (
    AGENT_ID,
    AGENTS_CHAT,
    BUREAU_CHAT,
    LEADERSHIP_CHAT,
    SUPERVISOR_ID,
    SUPERVISORS_CHAT,
)
from tests.support.servers import build_server


def fast_plan(tmp_path: Path, **level_iii: Any) -> Path:
    """The shipped plan with level Ⅲ's minutes turned into seconds (0.05m = 3 s)."""
    plan = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    iii = plan["levels"]["III"]
    iii["deadlines"] = {
        "acknowledge": "0.1m",  # also the pause before the chain runs again
        "first_report": "2m",
        "follow_up": "0.1m",
        "final_report": "0.05m",
        "reminder": "10m",
    }
    iii["chain"] = [{"notify": "oncall", "wait": "0.04m"}, {"notify": "supervisors"}]
    iii.update(level_iii)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    return path


def plan_chats(emu: BotApiEmulator) -> None:
    """The bot is a member of every chat the plan notifies."""
    emu.group(AGENTS_CHAT, "客服组")
    emu.group(SUPERVISORS_CHAT, "主管组")
    emu.group(LEADERSHIP_CHAT, "平台领导")
    emu.group(BUREAU_CHAT, "区商务局")


def plan_settings(plan: Path) -> dict[str, object]:
    return {
        "agent_chat_id": AGENTS_CHAT,
        "supervisor_chat_id": SUPERVISORS_CHAT,
        "leadership_chat_id": LEADERSHIP_CHAT,
        "bureau_chat_id": BUREAU_CHAT,
        "plan_path": plan,
        "sla_sweep_seconds": 0.2,
        "outbox_poll_seconds": 0.1,
        # The bureau's chat gets digests too; these tests count only incident reports.
        "digest_daily_cron": "",
        "digest_weekly_cron": "",
        "digest_hourly_cron": "",
    }


async def incident_server(
    database_url: str,
    emulator: BotApiEmulator,
    plan: Path,
    clock: Clock = SYSTEM_CLOCK,
    **extra: object,
) -> Server:
    srv = build_server(database_url, emulator, clock=clock, **{**plan_settings(plan), **extra})
    await srv.start()
    assert srv.runtime is not None
    at = clock.now()
    await srv.runtime.agents.add(AGENT_ID, "小王", "agent", at)
    await srv.runtime.agents.add(SUPERVISOR_ID, "李主管", "supervisor", at)
    return srv


def cards(emu: BotApiEmulator, chat: int, ref: str) -> list[str]:
    return [
        m.text or ""
        for m in emu.sent_messages(chat)
        if (m.text or "").startswith("🚨 事件") and ref in (m.text or "")
    ]
