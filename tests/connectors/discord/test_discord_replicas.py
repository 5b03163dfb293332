"""Several replicas: only the holder of the gateway lease keeps a gateway session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from bot.store.database import Database
from bot.store.leases import Leases
from connectors.discord.gateway import LEASE_NAME, GatewayClient, GatewayLeader, GatewaySession
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.fakes.waiting import wait_until

TTL = 0.3


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake
        fake.assert_no_violations()


async def ignore(_event: str, _data: Mapping[str, Any], _bot: str) -> None:
    return None


def leader(name: str, fake: FakeDiscord, clock: FakeClock) -> GatewayLeader:
    log = logging.getLogger(f"test.{name}")

    def open_session() -> GatewaySession:
        client = GatewayClient(api_url=fake.api_url, on_event=ignore, log=log)
        return GatewaySession(client, fake.token)

    return GatewayLeader(
        leases=Leases(), clock=clock, holder=name, ttl=TTL, open_session=open_session, log=log
    )


async def test_the_second_replica_waits_and_takes_over_when_the_first_stops(
    database: Database, fake: FakeDiscord
) -> None:
    clock = FakeClock()
    first, second = leader("replica-a", fake, clock), leader("replica-b", fake, clock)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first_task = asyncio.create_task(first.run(stop_first))
    await wait_until(lambda: ready(fake))
    second_task = asyncio.create_task(second.run(stop_second))

    async def second_tried_thrice() -> bool:
        return second.steps >= 3

    await wait_until(second_tried_thrice)
    assert (fake.gateway_connections, len(fake.identifies)) == (1, 1)
    assert await Leases().holder(LEASE_NAME, clock.now()) == "replica-a"
    assert second.session is None

    stop_first.set()
    await first_task

    async def taken_over() -> bool:
        return fake.gateway_connections == 2 and await ready(fake)

    await wait_until(taken_over)
    assert await Leases().holder(LEASE_NAME, clock.now()) == "replica-b"
    stop_second.set()
    await second_task
    assert await Leases().holder(LEASE_NAME, clock.now()) is None


async def test_a_replica_that_loses_its_lease_closes_the_gateway(
    database: Database, fake: FakeDiscord
) -> None:
    clock = FakeClock()
    only = leader("replica-a", fake, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(only.run(stop))
    await wait_until(lambda: ready(fake))

    # the replica stalls past its lease; another takes the lease meanwhile
    clock.advance(TTL * 2)
    assert await Leases().acquire(LEASE_NAME, "replica-b", clock.now(), timedelta(seconds=60))

    async def disconnected() -> bool:
        return only.session is None and not fake.ready.is_set()

    await wait_until(disconnected)
    stop.set()
    await task
    assert await Leases().holder(LEASE_NAME, clock.now()) == "replica-b"


async def ready(fake: FakeDiscord) -> bool:
    return fake.ready.is_set()
