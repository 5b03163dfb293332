"""Named leases and the small state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store.database import Database
from bot.store.leases import Leases
from bot.store.state import StateStore
from tests.fakes.clock import FakeClock

TTL = timedelta(seconds=30)


async def test_a_live_lease_has_one_holder_until_it_expires(database: Database) -> None:
    clock, leases = FakeClock(), Leases()

    assert await leases.acquire("gateway", "replica-a", clock.now(), TTL) is True
    assert await leases.acquire("gateway", "replica-b", clock.now(), TTL) is False
    clock.advance(20)
    assert await leases.acquire("gateway", "replica-a", clock.now(), TTL) is True  # renewed
    clock.advance(20)
    assert await leases.acquire("gateway", "replica-b", clock.now(), TTL) is False
    assert await leases.holder("gateway", clock.now()) == "replica-a"
    clock.advance(31)
    assert await leases.holder("gateway", clock.now()) is None
    assert await leases.acquire("gateway", "replica-b", clock.now(), TTL) is True
    assert await leases.holder("gateway", clock.now()) == "replica-b"


async def test_release_frees_only_the_holders_own_lease(database: Database) -> None:
    clock, leases = FakeClock(), Leases()
    await leases.acquire("gateway", "replica-a", clock.now(), TTL)

    await leases.release("gateway", "replica-b")
    assert await leases.holder("gateway", clock.now()) == "replica-a"
    await leases.release("gateway", "replica-a")
    assert await leases.acquire("gateway", "replica-b", clock.now(), TTL) is True


async def test_racing_for_a_free_lease_has_exactly_one_winner(database: Database) -> None:
    clock, leases = FakeClock(), Leases()
    holders = [f"replica-{i}" for i in range(8)]

    won = await asyncio.gather(
        *(leases.acquire("scheduler", holder, clock.now(), TTL) for holder in holders)
    )

    assert sum(won) == 1
    assert await leases.holder("scheduler", clock.now()) == holders[won.index(True)]


async def test_state_values_are_replaced_whole_and_survive_reads(database: Database) -> None:
    clock, state = FakeClock(), StateStore()

    assert await state.get("github.redelivery") is None
    await state.put("github.redelivery", {"last_id": 7, "guids": ["a"]}, clock.now())
    await state.put("github.redelivery", {"last_id": 9}, clock.now())

    assert await state.get("github.redelivery") == {"last_id": 9}
