"""The migrations match the models, and apply to a database that already holds rows, as an
upgrade meets it."""

from __future__ import annotations

import json
from datetime import timedelta

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from bot.messages import OutgoingKind, Platform, Reply, ReplyTarget
from bot.store.database import APP_LABEL, Database, tortoise_config
from bot.store.queues import OutboxQueue
from bot.store.sql import Statement
from tests.fakes.clock import FakeClock


async def test_make_migrations_finds_nothing_to_write() -> None:
    """The models, in the core's, the features' and the GitHub connector's modules
    (``bot.schema``), are what the migrations on disk build: ``make migrations`` would
    write no new migration. The autodetector needs no real database."""
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert [(writer.name, writer.operations) for writer in writers] == []


async def test_the_claim_index_migration_upgrades_a_queue_with_rows_in_it(
    database_url: str,
) -> None:
    from bot.store.database import open_database

    database: Database = await open_database(database_url, require_migrated=False)
    try:
        executor = MigrationExecutor(database.connection, tortoise_config(database_url)["apps"])
        await executor.migrate([MigrationTarget(app_label=APP_LABEL, name="0006_rate_gates")])
        now = FakeClock().now()
        target = json.dumps(ReplyTarget(platform=Platform.GITHUB, channel="acme/web#1").to_dict())
        reply = json.dumps(Reply(title="pong").to_dict())
        for key, kind in (("reply:1", "message"), ("ack:2", "acknowledgement")):
            insert = (
                "INSERT INTO chatops_outbox (key, platform, target, reply, invocation_id, kind, "
                "status, attempts, available_at, created_at) "
                "VALUES (?, 'github', ?, ?, '1', ?, 'pending', 0, ?, ?)"
            )
            await Statement(database, insert).count([key, target, reply, kind, now, now])

        assert await database.migrate() == ["0007_queue_claim_indexes", "0008_reply_kind"]

        _count, rows = await database.connection.execute_query(
            "SELECT key, priority, kind FROM chatops_outbox ORDER BY key"
        )
        assert [(row["key"], row["priority"], row["kind"]) for row in rows] == [
            ("ack:2", 1, "acknowledgement"),
            ("reply:1", 0, "reply"),  # the answer to invocation 1, now said by its kind
        ]
        # and the upgraded queue claims the reply first
        claims = await OutboxQueue(database).claim(now, timedelta(seconds=30), 1)
        assert [(claim.message.key, claim.message.kind) for claim in claims] == [
            ("reply:1", OutgoingKind.REPLY)
        ]
    finally:
        await database.close()
