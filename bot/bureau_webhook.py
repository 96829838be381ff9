"""Deliver digests to the bureau's own system: POST the JSON body, signed like inbound
alerts (`X-Helpdesk-Timestamp`, `X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">`), retried with backoff until a 2xx answer. Reports to the bureau
(初报, 续报, 终报) go the same way; `settled` hears of each delivery that was accepted or
tried, so an incident shows where its reports stand."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import aiohttp

from escalation.digests.schedule import Digests
from escalation.incidents.sources import sign

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=15)


async def deliver_webhooks(
    digests: Digests,
    url: str,
    secret: str,
    now: datetime,
    settled: Callable[[Sequence[str], datetime], Awaitable[None]] | None = None,
) -> int:
    """Send the deliveries due now; return how many were accepted."""
    items = await digests.claim_webhooks(now)
    if not items:
        return 0
    accepted = 0
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for item in items:
            raw = item.body.encode("utf-8")
            stamp = str(int(now.timestamp()))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Helpdesk-Timestamp": stamp,
                "X-Helpdesk-Signature": sign(secret, stamp, raw),
                "X-Helpdesk-Delivery": item.key,  # the same on every retry: dedupe on it
            }
            try:
                async with http.post(url, data=raw, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        await digests.webhook_delivered(item.id, resp.status, now)
                        accepted += 1
                    else:
                        await digests.webhook_failed(
                            item.id, f"HTTP {resp.status}", now, status=resp.status
                        )
            except (aiohttp.ClientError, TimeoutError) as exc:
                await digests.webhook_failed(item.id, f"{type(exc).__name__}: {exc}", now)
    if settled is not None:
        await settled([item.key for item in items], now)
    return accepted
