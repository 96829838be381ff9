"""The bot's own account and menu: getMe, logOut/close, the command lists, getChat."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from tests.support.botapi.errors import JSONDict, bad_request
from tests.support.botapi.params import Params, normalize
from tests.support.botapi.state import EmulatorState

MAX_COMMANDS: Final = 100
_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_COMMAND_SCOPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


class ProfileMethods(EmulatorState):
    """getMe, logOut, the command methods and getChat, mixed into BotApiEmulator."""

    async def _get_me(self, params: Params) -> JSONDict:
        me = self.bot_user.to_dict()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=not self.privacy_mode,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    async def _log_out(self, params: Params) -> bool:
        return True

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope: Any = {"type": "default"}
        if params.has("scope"):
            scope = params.json("scope", "can't parse BotCommandScope JSON object")
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise bad_request("unsupported bot command scope type")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._chat(Params(normalize({"chat_id": scope.get("chat_id")})))
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: Params) -> bool:
        if not params.has("commands"):
            raise bad_request('parameter "commands" is required')
        commands = params.json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_key(params)
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        if not commands:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JSONDict]:
        return [dict(c) for c in self._commands.get(self._command_key(params), [])]

    async def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    async def _get_chat(self, params: Params) -> JSONDict:
        state = self._chat(params)
        info = state.to_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info
