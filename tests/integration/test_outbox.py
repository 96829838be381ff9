"""The outbox's one delivery loop with a channel's Sender: each outcome recorded as it
happens, a permanent failure given up, a passing one retried later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.lease import NEVER
from storage.models import Outbox, OutboxPurpose
from storage.outbox import OutboxItem, OutboxQueue, SendFailed, outbound

AT = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)


class ScriptedSender:
    """A channel that delivers, refuses or stumbles, by the item's text."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def send(self, item: OutboxItem) -> int | None:
        self.seen.append(item.text)
        if item.text == "blocked":
            raise SendFailed("Forbidden: bot was blocked by the user", permanent=True)
        if item.text == "flaky":
            raise SendFailed("Timed out", permanent=False)
        return 900 + item.chat_id


async def test_deliver_records_each_outcome_and_retries_only_what_may_pass(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        for chat_id, text in ((1, "hello"), (2, "blocked"), (3, "flaky")):
            s.add(outbound(chat_id=chat_id, purpose=OutboxPurpose.REPLY, text=text, at=AT))
    queue = OutboxQueue(sessions)
    sender = ScriptedSender()
    later = AT + timedelta(seconds=1)

    assert await queue.deliver(sender, AT, lambda: later) == 3
    assert sender.seen == ["hello", "blocked", "flaky"]
    async with sessions() as s:
        rows = {r.text: r for r in (await s.execute(select(Outbox))).scalars()}
    assert rows["hello"].sent_at == later
    assert rows["hello"].tg_message_id == 901
    assert rows["blocked"].sent_at is None
    assert rows["blocked"].claimed_until == NEVER  # given up, kept for the record
    assert rows["flaky"].sent_at is None
    assert rows["flaky"].not_before > later  # retried after a pause

    # Nothing is due again at once: the delivered and the given-up are done, the flaky waits.
    assert await queue.deliver(sender, later, lambda: later) == 0
    retry_at = rows["flaky"].not_before
    assert await queue.deliver(sender, retry_at, lambda: retry_at) == 1
    assert sender.seen[-1] == "flaky"
