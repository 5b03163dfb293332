"""The shared rate gate: slots and blocks in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from bot.pipeline.delivery import RateLimited
from bot.pipeline.rate_gate import RateGate
from bot.store.database import Database
from bot.store.gates import GateStore, Refusal, Slot
from tests.fakes.clock import FakeClock

KEY = "github:installation:1:write"


class Sleeps:
    """Records what the gate asked to sleep, and lets time pass on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.clock.advance(seconds)


def ms(clock: FakeClock) -> int:
    return round(clock.now().timestamp() * 1000)


async def test_concurrent_reservations_get_distinct_slots_a_spacing_apart(
    database: Database,
) -> None:
    clock, store = FakeClock(), GateStore(database)
    now = ms(clock)

    taken = await asyncio.gather(*(store.reserve(KEY, now, 1000, 4500) for _ in range(8)))

    slots = sorted(t.at_ms - now for t in taken if isinstance(t, Slot))
    assert slots == [0, 1000, 2000, 3000, 4000]
    refusals = [t for t in taken if isinstance(t, Refusal)]
    assert (
        refusals
        == [Refusal(now + 500, f"requests to {KEY} are queued for the next slots", blocked=False)]
        * 3
    )


async def test_a_block_moves_only_later_and_slots_start_after_it(database: Database) -> None:
    clock, store = FakeClock(), GateStore(database)
    now = ms(clock)

    await store.block(KEY, now + 10_000, "GitHub answered 429", now)
    await store.block(KEY, now + 3_000, "a shorter wait, later", now)

    assert await store.reserve(KEY, now, 1000, 2000) == Refusal(
        now + 10_000, "GitHub answered 429", blocked=True
    )
    assert await store.reserve(KEY, now + 9_000, 1000, 2000) == Slot(now + 10_000)
    assert await store.reserve(KEY, now + 9_000, 1000, 2000) == Slot(now + 11_000)
    # another key is not affected
    assert await store.reserve("github:installation:2:write", now, 1000, 0) == Slot(now)


async def test_write_slot_waits_for_its_slot_and_refuses_one_out_of_reach(
    database: Database,
) -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    gate = RateGate(GateStore(database), clock, spacing=1.0, max_wait=2.0, sleep=sleeps)

    for _ in range(3):
        await gate.write_slot(KEY)
    assert sleeps.asked == [1.0, 1.0]  # the first went at once, each next a second later

    await gate.blocked_for(KEY, 30, "GitHub answered 429: secondary rate limit")
    with pytest.raises(RateLimited) as raised:
        await gate.write_slot(KEY)
    assert (raised.value.reason, raised.value.retry_after) == (
        "GitHub answered 429: secondary rate limit",
        30.0,
    )
    clock.advance(30)
    await gate.write_slot(KEY)
    assert sleeps.asked == [1.0, 1.0]


async def test_read_slot_waits_only_for_a_block(database: Database) -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    gate = RateGate(GateStore(database), clock, spacing=1.0, max_wait=2.0, sleep=sleeps)
    read = "github:installation:1:read"

    await gate.read_slot(read)
    await gate.read_slot(read)
    assert sleeps.asked == []

    await gate.blocked_for(read, 1.5, "primary limit used up")
    await gate.read_slot(read)
    assert sleeps.asked == [1.5]

    await gate.blocked_for(read, 60, "primary limit used up")
    with pytest.raises(RateLimited) as raised:
        await gate.read_slot(read)
    assert (raised.value.reason, raised.value.retry_after) == ("primary limit used up", 60.0)
    assert await gate.closed_for(read) == 60.0
