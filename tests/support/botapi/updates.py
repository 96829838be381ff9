"""Getting updates to the bot: long polling (getUpdates) and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Final
from urllib.parse import urlsplit

from aiohttp import ClientError

from tests.support.botapi.errors import ApiError, JSONDict, bad_request
from tests.support.botapi.models import Described, Webhook, WebhookFailure, clone, unix_now
from tests.support.botapi.params import Params
from tests.support.botapi.state import EmulatorState

_SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
# Update types delivered when a bot never specified allowed_updates (or passed an empty list).
DEFAULT_UPDATE_TYPES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_ALL_UPDATE_TYPES: Final = DEFAULT_UPDATE_TYPES | {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS


class UpdateDelivery(EmulatorState):
    """getUpdates and the webhook methods, mixed into BotApiEmulator (whose state it
    uses)."""

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _drop_unwanted(self, allowed: frozenset[str]) -> None:
        kept = [u for u in self._updates if next(k for k in u if k != "update_id") in allowed]
        self._updates = kept

    def _allowed(self, params: Params) -> frozenset[str] | None:
        if not params.has("allowed_updates"):
            return None
        value = params.json("allowed_updates", "can't parse allowed updates JSON object")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request("can't parse allowed updates JSON object")
        return frozenset(v for v in value if v in _ALL_UPDATE_TYPES) or DEFAULT_UPDATE_TYPES

    async def _get_updates(self, params: Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = min(max(params.integer("timeout") or 0, 0), 50)
        allowed = self._allowed(params)
        if allowed is not None:
            self._allowed_updates = allowed
        before = len(self._updates)
        self._confirm(offset)
        if len(self._updates) != before:
            self._touch()
        # A newer getUpdates request terminates any older one that is still waiting.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        terminated = False

        def ready() -> bool:
            nonlocal terminated
            terminated = self._poll_generation != generation
            self._drop_unwanted(self._allowed_updates)
            return bool(self._updates) or terminated or self._closing

        await self._wait_for(ready, timeout)
        if terminated:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if self._updates:
            self._touch()
        return [clone(u) for u in self._updates[:limit]]

    async def _set_webhook(self, params: Params) -> Described:
        url = (params.text("url") or "").strip()
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if parts.scheme == "http" and not is_loopback(url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = self._allowed(params)
        if allowed is not None:
            self._allowed_updates = allowed
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        unchanged = self._webhook is not None and self._webhook.url == url
        await self._stop_webhook_task()
        self._webhook = Webhook(url, secret, max_connections, params.text("ip_address"))
        if is_loopback(url):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(self._webhook))
        else:
            # Never leave the machine: remember the URL but do not deliver.
            self._webhook.last_error_date = unix_now()
            self._webhook.last_error_message = "emulator delivers only to loopback addresses"
        return Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def _delete_webhook(self, params: Params) -> Described:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        existed = self._webhook is not None
        await self._stop_webhook_task()
        self._webhook = None
        return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _get_webhook_info(self, params: Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        webhook = self._webhook
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.ip_address:
                info["ip_address"] = webhook.ip_address
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
            if self._allowed_updates != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._webhook_busy = False

    async def _deliver_webhooks(self, webhook: Webhook) -> None:
        """POST pending updates one by one to the webhook, retrying on failures."""
        while not self._closing:
            await self._wait_for(lambda: bool(self._updates) or self._closing, 3600.0)
            if self._closing:
                return
            self._drop_unwanted(self._allowed_updates)
            if not self._updates:
                continue
            update = self._updates[0]
            self._webhook_busy = True
            try:
                error = await self._post_update(webhook, update)
            finally:
                self._webhook_busy = False
            if error is not None:
                self.webhook_failures.append(WebhookFailure(clone(update), error))
            with contextlib.suppress(ValueError):
                self._updates.remove(update)
            self._touch()
            self._notify()

    async def _post_update(self, webhook: Webhook, update: JSONDict) -> str | None:
        """Deliver one update; returns None on success or the last error."""
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        error = "not attempted"
        for attempt in range(self.webhook_attempts):
            status: int | None = None
            try:
                async with self._client.post(webhook.url, data=body, headers=headers) as reply:
                    status = reply.status
                    await reply.read()
                if 200 <= status < 300:
                    self.webhook_deliveries.append((clone(update), status))
                    return None
                error = f"Wrong response from the webhook: {status} {reply.reason}"
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}: {exc}"
            self.webhook_deliveries.append((clone(update), status))
            webhook.last_error_date = unix_now()
            webhook.last_error_message = error
            if attempt + 1 < self.webhook_attempts:
                await asyncio.sleep(self.webhook_retry_delay * 2**attempt)
        return error
