"""``write_atomically``: all or nothing, and rows the ORM reads back as if it wrote them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError

from bot.messages import (
    Actor,
    Invocation,
    Outgoing,
    OutgoingKind,
    Platform,
    Reply,
    ReplyTarget,
    Status,
)
from bot.store.database import Database
from bot.store.models import AuditEntry, InboxItem, InboxStatus, OutboxItem, OutboxStatus
from bot.store.queue_rows import Audit, audit_write, inbox_write, outbox_write
from bot.store.writes import Unchanged, Write, write_atomically

# microseconds included: the text form on SQLite must order and parse like the ORM's own
NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LATER = datetime(2030, 1, 2, 3, 4, 7, tzinfo=UTC)  # no microseconds: the other text form
TARGET = ReplyTarget(platform=Platform.GITHUB, channel="acme/web#12", message="4001")


def invocation(key: str = "delivery-1") -> Invocation:
    return Invocation(
        id="inv-" + key,
        platform=Platform.GITHUB,
        actor=Actor(platform=Platform.GITHUB, id="7", name="octo é"),
        text="ping ✓",
        reply_to=TARGET,
        delivery_key=key,
        received_at=NOW,
    )


def outgoing(key: str, kind: OutgoingKind = OutgoingKind.MESSAGE) -> Outgoing:
    return Outgoing(
        target=TARGET,
        reply=Reply(title="pong", status=Status.OK, paragraphs=("naïve ✓",)),
        key=key,
        invocation_id="inv-delivery-1",
        kind=kind,
    )


async def test_rows_written_here_read_back_through_the_models(database: Database) -> None:
    audit = Audit(platform="github", actor="github:7", decision="allowed", command="ping")
    ack = outgoing("ack:1", OutgoingKind.ACKNOWLEDGEMENT)
    await write_atomically(
        database,
        [
            inbox_write(database, invocation(), NOW),
            outbox_write(database, ack, NOW, NOW, available_at=LATER),
            audit_write(database, audit, NOW),
        ],
    )

    inbox = await InboxItem.get(delivery_key="delivery-1")
    assert (inbox.platform, inbox.status, inbox.attempts) == ("github", InboxStatus.PENDING, 0)
    assert Invocation.from_dict(inbox.invocation) == invocation()
    assert (inbox.available_at, inbox.received_at, inbox.finished_at) == (NOW, NOW, None)
    row = await OutboxItem.get(key="ack:1")
    assert (row.status, row.kind, row.priority, row.attempts) == (
        OutboxStatus.PENDING,
        "acknowledgement",
        1,
        0,
    )
    assert (row.available_at, row.created_at, row.received_at) == (LATER, NOW, NOW)
    assert ReplyTarget.from_dict(row.target) == TARGET
    assert Reply.from_dict(row.reply) == ack.reply
    [entry] = await AuditEntry.all()
    assert (entry.at, entry.platform, entry.actor, entry.decision, entry.command) == (
        NOW,
        "github",
        "github:7",
        "allowed",
        "ping",
    )
    # and the ORM's own rows order with these in time
    assert await OutboxItem.filter(available_at__gt=NOW).count() == 1
    assert await OutboxItem.filter(available_at__lte=NOW).count() == 0


async def test_a_write_that_changes_the_wrong_number_of_rows_undoes_the_others(
    database: Database,
) -> None:
    update = Write(
        "UPDATE chatops_inbox SET status = 'done' WHERE delivery_key = ?",
        ("no-such-delivery",),
        must_change=1,
    )
    with pytest.raises(Unchanged) as caught:
        await write_atomically(database, [inbox_write(database, invocation(), NOW), update])

    assert (caught.value.index, caught.value.changed) == (1, 0)
    assert await InboxItem.all().count() == 0


async def test_a_repeated_delivery_changes_nothing_and_says_so(database: Database) -> None:
    await write_atomically(database, [inbox_write(database, invocation(), NOW)])

    with pytest.raises(Unchanged) as caught:
        await write_atomically(
            database,
            [
                inbox_write(database, invocation(), NOW),
                outbox_write(database, outgoing("ack:again"), NOW, NOW),
            ],
        )

    assert (caught.value.index, caught.value.changed) == (0, 0)
    assert await InboxItem.all().count() == 1
    assert await OutboxItem.all().count() == 0


async def test_a_duplicate_key_rolls_back_and_raises_the_orm_error(database: Database) -> None:
    await write_atomically(database, [outbox_write(database, outgoing("reply:1"), NOW, None)])

    with pytest.raises(IntegrityError):
        await write_atomically(
            database,
            [
                audit_write(database, Audit(platform="github", actor="bot", decision="x"), NOW),
                outbox_write(database, outgoing("reply:1"), NOW, None),
            ],
        )

    assert await AuditEntry.all().count() == 0
    assert await OutboxItem.all().count() == 1


async def test_it_changes_rows_the_orm_then_sees(database: Database) -> None:
    await write_atomically(database, [inbox_write(database, invocation(), NOW)])
    changed = await write_atomically(
        database,
        [
            Write(
                "UPDATE chatops_inbox SET status = 'done', finished_at = ? WHERE delivery_key = ?",
                (LATER.isoformat(" ") if database.dialect == "sqlite" else LATER, "delivery-1"),
                must_change=1,
            )
        ],
    )

    assert changed == [1]
    row = await InboxItem.get(delivery_key="delivery-1")
    assert (row.status, row.finished_at) == (InboxStatus.DONE, LATER)
