"""The durable pipeline on SQLite and PostgreSQL: never twice, nothing lost."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import uuid
from datetime import timedelta

import pytest

from bot.app import builtin_commands
from bot.config import Config, OutboxSettings, WorkerSettings
from bot.context import Services
from bot.messages import (
    Actor,
    Field,
    Invocation,
    Outgoing,
    OutgoingKind,
    Platform,
    Reply,
    ReplyTarget,
    Status,
)
from bot.pipeline.assembly import Pipeline, build_pipeline
from bot.pipeline.delivery import DeliveryError, RetryLater, Undeliverable
from bot.store.database import Database
from bot.store.models import AuditEntry, InboxItem, InboxStatus, OutboxItem, OutboxStatus
from bot.store.queues import LeaseLost
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector

PONG = Reply(
    title="pong", status=Status.OK, fields=(Field("version", "9.9"), Field("uptime", "0s"))
)


def make_pipeline(
    database: Database, connector: RecordingConnector, clock: FakeClock, **outbox: float
) -> Pipeline:
    config = Config(
        workers=WorkerSettings(lease_seconds=60.0, handler_timeout=5.0, max_attempts=3),
        outbox=dataclasses.replace(OutboxSettings(), **outbox),  # type: ignore[arg-type]
    )
    return build_pipeline(
        config,
        database,
        commands=builtin_commands(),
        connectors={connector.platform: connector},
        services=Services(clock=clock, started_at=clock.now(), version="9.9"),
        log=logging.getLogger("chatops.test"),
    )


def invocation(clock: FakeClock, text: str = "ping", key: str | None = None) -> Invocation:
    return Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.SHELL,
        actor=Actor(platform=Platform.SHELL, id="local", name="local"),
        text=text,
        reply_to=ReplyTarget(platform=Platform.SHELL, channel="session"),
        delivery_key=key or uuid.uuid4().hex,
        received_at=clock.now(),
    )


async def drain(pipeline: Pipeline, clock: FakeClock, step: float = 0.0, rounds: int = 50) -> None:
    """Run both workers until neither finds work, moving the fake clock by ``step`` each round."""
    for _ in range(rounds):
        worked = await pipeline.inbox_worker.run_once() + await pipeline.sender.run_once()
        if not worked and step == 0.0:
            return
        clock.advance(step)


async def test_same_delivery_key_twice_runs_once(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    first = invocation(clock, key="delivery-1")
    again = dataclasses.replace(invocation(clock, key="delivery-1"))

    assert await pipeline.submit(first) is True
    assert await pipeline.submit(again) is False
    await drain(pipeline, clock)

    assert [(m.key, m.reply) for m in connector.sent] == [(f"reply:{first.id}", PONG)]
    assert await InboxItem.all().count() == 1
    decisions = await AuditEntry.all().order_by("id").values_list("decision", flat=True)
    assert decisions == ["ok", "sent"]


async def test_send_failing_three_times_then_succeeding_is_delivered_once(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock, backoff_base=1.0, backoff_cap=8.0)
    connector.fail_next([DeliveryError("platform down")] * 3)
    inv = invocation(clock)
    await pipeline.submit(inv)

    await drain(pipeline, clock, step=10.0, rounds=10)

    assert connector.attempts == [f"reply:{inv.id}"] * 4
    assert [m.reply for m in connector.sent] == [PONG]
    row = await OutboxItem.get(key=f"reply:{inv.id}")
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 4, "platform down")


async def test_send_that_always_fails_ends_as_dead_letter_with_reason(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock, max_attempts=4, backoff_cap=2.0)
    connector.fail_always(DeliveryError("channel_not_found"))
    inv = invocation(clock)
    await pipeline.submit(inv)

    await drain(pipeline, clock, step=5.0, rounds=12)

    row = await OutboxItem.get(key=f"reply:{inv.id}")
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 4)
    assert row.last_error == "gave up after 4 attempts: channel_not_found"
    assert connector.sent == []
    assert len(connector.attempts) == 4


async def test_undeliverable_is_dead_at_once(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    connector.fail_next([Undeliverable("message too long")])
    inv = invocation(clock)
    await pipeline.submit(inv)

    await drain(pipeline, clock)

    row = await OutboxItem.get(key=f"reply:{inv.id}")
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.DEAD, 1, "message too long")


async def test_retry_after_from_the_platform_is_honoured(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock, backoff_base=0.1, backoff_cap=0.1)
    connector.fail_next([RetryLater("ratelimited", retry_after=30.0)])
    await pipeline.submit(invocation(clock))
    await drain(pipeline, clock)
    assert connector.sent == []

    clock.advance(29.0)
    assert await pipeline.sender.run_once() == 0
    clock.advance(1.5)
    assert await pipeline.sender.run_once() == 1
    assert [m.reply for m in connector.sent] == [PONG]


async def test_expired_lease_is_taken_over_and_the_old_holder_cannot_complete(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    inv = invocation(clock)
    await pipeline.submit(inv)
    [stale] = await pipeline.inbox.claim(clock.now(), timedelta(seconds=60), 10)

    clock.advance(30)
    assert await pipeline.inbox_worker.run_once() == 0  # lease still held
    clock.advance(31)
    await drain(pipeline, clock)
    with pytest.raises(LeaseLost):
        await pipeline.inbox.complete(stale, clock.now(), [], [])

    late_pong = dataclasses.replace(
        PONG, fields=(Field("version", "9.9"), Field("uptime", "1m 1s"))
    )
    assert [m.reply for m in connector.sent] == [late_pong]
    row = await InboxItem.get(delivery_key=inv.delivery_key)
    assert (row.status, row.attempts) == (InboxStatus.DONE, 2)


async def test_invocation_that_keeps_killing_its_worker_gets_an_error_reply(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)  # workers.max_attempts = 3
    inv = invocation(clock)
    await pipeline.submit(inv)
    for _ in range(3):  # three workers claim it and die
        assert len(await pipeline.inbox.claim(clock.now(), timedelta(seconds=60), 10)) == 1
        clock.advance(61)

    await drain(pipeline, clock)

    [sent] = connector.sent
    ref = sent.reply.title.removeprefix("Something went wrong (ref ").removesuffix(")")
    assert sent.reply == Reply(
        title=f"Something went wrong (ref {ref})",
        status=Status.ERROR,
        paragraphs=(
            "This command was tried 3 times and could not be completed.",
            f"The details are in the bot's log under ref {ref}.",
        ),
    )


async def test_reply_for_a_platform_without_connector_waits_for_a_process_that_has_one(
    database: Database,
) -> None:
    clock = FakeClock()
    discord_only = make_pipeline(database, RecordingConnector(Platform.DISCORD), clock)
    inv = invocation(clock)
    await discord_only.submit(inv)
    await drain(discord_only, clock)
    row = await OutboxItem.get(key=f"reply:{inv.id}")
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)

    shell = RecordingConnector(Platform.SHELL)
    await drain(make_pipeline(database, shell, clock), clock)
    assert [m.key for m in shell.sent] == [f"reply:{inv.id}"]


async def test_claims_narrowed_to_keys_leave_other_work_alone(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    mine, theirs = invocation(clock, key="mine"), invocation(clock, key="theirs")
    await pipeline.submit(mine)
    await pipeline.submit(theirs)

    assert await pipeline.inbox_worker.run_once(keys=["mine"]) == 1
    assert await pipeline.sender.run_once(keys=[f"reply:{mine.id}"]) == 1
    assert [m.key for m in connector.sent] == [f"reply:{mine.id}"]
    assert await pipeline.queue_depths() == {
        "inbox": {"pending": 1, "claimed": 0},
        "outbox": {"pending": 0, "claimed": 0, "dead": 0, "waiting_for_connector": 0},
    }
    assert await InboxItem.filter(status="done").count() == 1
    assert await OutboxItem.filter(status="sent").count() == 1


async def test_queue_depths_count_the_rows_still_to_do_by_status(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    for _ in range(3):
        await pipeline.submit(invocation(clock))
    nothing_to_send = {"pending": 0, "claimed": 0, "dead": 0, "waiting_for_connector": 0}
    assert await pipeline.queue_depths() == {
        "inbox": {"pending": 3, "claimed": 0},
        "outbox": nothing_to_send,
    }
    await pipeline.inbox_worker.run_once()  # concurrency 4: all three done, replies queued
    # done rows are history (the metrics count them), not depth
    assert await pipeline.queue_depths() == {
        "inbox": {"pending": 0, "claimed": 0},
        "outbox": {**nothing_to_send, "pending": 3},
    }


async def test_replies_for_a_platform_no_connector_serves_are_waiting_not_in_flight(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    elsewhere = Outgoing(
        target=ReplyTarget(platform=Platform.SLACK, channel="C1"),
        reply=Reply(title="for a Slack channel"),
        key="notice:slack",
    )
    await pipeline.outbox.enqueue(elsewhere, clock.now())
    assert await pipeline.sender.run_once() == 0  # this process has only the shell connector
    depths = await pipeline.queue_depths()
    assert depths["outbox"] == {"pending": 0, "claimed": 0, "dead": 0, "waiting_for_connector": 1}
    assert await pipeline.outbox.waiting_for_connector({"shell"}) == {"slack": 1}


def test_backoff_is_full_jitter_capped_and_respects_retry_after() -> None:
    from bot.pipeline.retry import Backoff

    backoff = Backoff(base=1.0, cap=10.0)
    rng = random.Random(7)
    delays = [backoff.delay(attempt, rng) for attempt in (1, 2, 3, 4, 5, 6)]
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert backoff.delay(1, rng, retry_after=42.0) == 42.0


async def test_postgres_claims_skip_rows_another_transaction_has_locked(postgres_url: str) -> None:
    import asyncpg

    from bot.store.database import open_database

    database = await open_database(postgres_url, require_migrated=False)
    await database.migrate()
    clock = FakeClock()
    pipeline = make_pipeline(database, RecordingConnector(), clock)
    for key in ("a", "b", "c"):
        await pipeline.submit(invocation(clock, key=key))
    other = await asyncpg.connect(postgres_url.replace("postgres://", "postgresql://", 1))
    try:
        async with other.transaction():
            await other.execute("SELECT id FROM chatops_inbox WHERE delivery_key = 'a' FOR UPDATE")
            claims = await asyncio.wait_for(
                pipeline.inbox.claim(clock.now(), timedelta(seconds=60), 10), timeout=10
            )
        assert [claim.invocation.delivery_key for claim in claims] == ["b", "c"]
    finally:
        await other.close()
        await database.close()


async def test_enqueue_is_idempotent_by_key(database: Database) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    message = Outgoing(
        target=ReplyTarget(platform=Platform.SHELL, channel="s"),
        reply=Reply(title="run finished"),
        key="run:42:result",
    )
    assert await pipeline.outbox.enqueue(message, clock.now()) is True
    assert await pipeline.outbox.enqueue(message, clock.now()) is False
    await drain(pipeline, clock)
    assert connector.sent == [message]


async def test_acknowledged_submission_queues_one_acknowledgement_with_the_invocation(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    first = invocation(clock, key="delivery-ack")
    again = invocation(clock, key="delivery-ack")

    assert await pipeline.submit(first, acknowledge=True) is True
    assert await pipeline.submit(again, acknowledge=True) is False
    await drain(pipeline, clock)

    # the reply goes first; the acknowledgement, now pointless, is dropped unsent
    assert [(m.key, m.kind, m.target) for m in connector.sent] == [
        (f"reply:{first.id}", OutgoingKind.REPLY, first.reply_to),
    ]
    acknowledgement = await OutboxItem.get(key=f"ack:{first.id}")
    assert (acknowledgement.status, acknowledgement.last_error) == (
        OutboxStatus.DROPPED,
        f"superseded by reply:{first.id}",
    )


async def test_an_acknowledgement_goes_out_while_its_command_is_still_running(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock)
    first = invocation(clock, key="delivery-early-ack")
    assert await pipeline.submit(first, acknowledge=True) is True
    # the acknowledgement waits ``acknowledge_after`` (2 s) for an answer that would make
    # it pointless; the worker has not run the command when that time is up
    assert await pipeline.sender.run_once() == 0
    clock.advance(1.9)
    assert await pipeline.sender.run_once() == 0
    clock.advance(0.1)
    assert await pipeline.sender.run_once() == 1
    await drain(pipeline, clock)
    assert [(m.key, m.kind) for m in connector.sent] == [
        (f"ack:{first.id}", OutgoingKind.ACKNOWLEDGEMENT),
        (f"reply:{first.id}", OutgoingKind.REPLY),
    ]


async def test_replies_are_claimed_before_the_acknowledgements_of_newer_commands(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = make_pipeline(database, connector, clock, acknowledge_after=0.0)
    old = invocation(clock, key="delivery-old")
    assert await pipeline.submit(old) is True
    assert await pipeline.inbox_worker.run_once() == 1  # the old command's reply is queued
    clock.advance(1)
    newer = [invocation(clock, key=f"delivery-new-{n}") for n in range(6)]
    for item in newer:
        assert await pipeline.submit(item, acknowledge=True) is True
    claims = await pipeline.sender.claim(3)
    assert [claim.message.key for claim in claims] == [
        f"reply:{old.id}",
        f"ack:{newer[0].id}",
        f"ack:{newer[1].id}",
    ]
