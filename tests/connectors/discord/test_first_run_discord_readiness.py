"""``/readyz`` with the Discord gateway: the real app and discord.py against the fake.

A replica that holds the gateway lease is ready once its session is connected; a replica
that does not (another one holds the lease) is ready without a session.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store.database import open_database
from bot.store.leases import Leases
from connectors.discord.gateway import LEASE_NAME
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_app import RunningBot, running_bot
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until


async def readiness(bot: RunningBot) -> tuple[int, object]:
    response = await bot.client.get("/readyz")
    return response.status, await response.json()


async def test_the_replica_holding_the_gateway_is_ready_once_connected(database_url: str) -> None:
    async with checked(FakeDiscord()) as fake, running_bot(database_url, fake) as bot:
        async with asyncio.timeout(10):
            await fake.ready.wait()

        async def connected() -> bool:
            return (await readiness(bot))[0] == 200

        await wait_until(connected)
        assert await readiness(bot) == (200, {"status": "ready"})
        assert bot.runtime.leader is not None
        session = bot.runtime.leader.session
        assert session is not None

        # the session ends (as after a token reset) until the next renewal opens one again
        await session.client.close()
        await wait_until(session.done)
        assert await readiness(bot) == (
            503,
            {
                "status": "unavailable",
                "reason": "discord: gateway session ended (closed)",
                "problems": ["discord: gateway session ended (closed)"],
            },
        )


async def test_a_replica_whose_lease_another_holds_is_ready_without_a_session(
    database_url: str,
) -> None:
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    held = await Leases().acquire(
        LEASE_NAME, "another-replica", datetime.now(UTC), timedelta(minutes=10)
    )
    await database.close()
    assert held

    async with (
        checked(FakeDiscord()) as fake,
        running_bot(database_url, fake, migrated=True) as bot,
    ):

        async def tried() -> bool:
            return bot.runtime.leader is not None and bot.runtime.leader.steps > 0

        await wait_until(tried)
        assert await readiness(bot) == (200, {"status": "ready"})
        assert bot.runtime.leader is not None
        assert (bot.runtime.leader.session, fake.gateway_connections) == (None, 0)
