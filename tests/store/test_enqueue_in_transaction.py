"""``enqueue_in_transaction``: the queue's own outbox row, committed with the caller's writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from bot.messages import Outgoing, OutgoingKind, Platform, Reply, ReplyTarget, Status
from bot.store.database import Database
from bot.store.models import OutboxItem, StateEntry
from bot.store.outbox import OutboxQueue, enqueue_in_transaction
from bot.store.transactions import transaction

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
TARGET = ReplyTarget(platform=Platform.GITLAB, channel="group/app", thread="!7")


def outgoing(key: str, title: str = "run passed") -> Outgoing:
    return Outgoing(
        target=TARGET,
        reply=Reply(title=title, status=Status.OK, paragraphs=("naïve ✓",)),
        key=key,
        invocation_id="inv-1",
        kind=OutgoingKind.MESSAGE,
    )


def row_of(row: OutboxItem) -> dict[str, Any]:
    """Everything an outbox row holds but its id and key."""
    return {
        "platform": row.platform,
        "target": row.target,
        "reply": row.reply,
        "invocation_id": row.invocation_id,
        "kind": row.kind,
        "priority": row.priority,
        "status": row.status,
        "attempts": row.attempts,
        "available_at": row.available_at,
        "claim_token": row.claim_token,
        "lease_until": row.lease_until,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "received_at": row.received_at,
        "sent_at": row.sent_at,
    }


async def test_it_writes_the_row_enqueue_writes_with_the_callers_writes(
    database: Database,
) -> None:
    await OutboxQueue(database).enqueue(outgoing("by-queue"), NOW)

    async with transaction():
        await StateEntry.create(name="settled", value={"run": 1}, updated_at=NOW)
        await enqueue_in_transaction(outgoing("in-transaction"), NOW)

    assert row_of(await OutboxItem.get(key="in-transaction")) == row_of(
        await OutboxItem.get(key="by-queue")
    )
    assert (await StateEntry.get(name="settled")).value == {"run": 1}


async def settle(key: str, fail: bool = False) -> None:
    """A caller's transaction: its own write, then the message, then maybe a failure."""
    async with transaction():
        await StateEntry.create(name="settled", value={"key": key}, updated_at=NOW)
        await enqueue_in_transaction(outgoing(key, "second"), NOW)
        if fail:
            raise RuntimeError("caller failed")


async def test_a_key_already_queued_raises_and_rolls_the_caller_back(
    database: Database,
) -> None:
    await OutboxQueue(database).enqueue(outgoing("alert:1", "first"), NOW)

    with pytest.raises(IntegrityError):
        await settle("alert:1")

    assert [(row.key, row.reply["title"]) for row in await OutboxItem.all()] == [
        ("alert:1", "first")
    ]
    assert await StateEntry.all().count() == 0


async def test_it_rolls_back_with_the_caller(database: Database) -> None:
    with pytest.raises(RuntimeError, match="caller failed"):
        await settle("run:9", fail=True)

    assert (await OutboxItem.all().count(), await StateEntry.all().count()) == (0, 0)
