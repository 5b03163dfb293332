"""The worker run loop: slots, wake-ups, failures and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from bot.pipeline.loop import keep_busy
from tests.fakes.waiting import wait_until

LOG = logging.getLogger("tests.loop")


class Queue:
    """Items to claim, a record of what was processed, and items that block until released."""

    def __init__(self, items: list[str], blocking: frozenset[str] = frozenset()) -> None:
        self.items = list(items)
        self.done: list[str] = []
        self.release = asyncio.Event()
        self.blocking = blocking
        self.claims: list[int] = []
        self.failures = 0

    async def claim(self, limit: int) -> list[str]:
        self.claims.append(limit)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database went away")
        taken, self.items = self.items[:limit], self.items[limit:]
        return taken

    async def process(self, item: str) -> None:
        if item in self.blocking:
            await self.release.wait()
        self.done.append(item)


def start(
    queue: Queue,
    stop: asyncio.Event,
    wake: asyncio.Event,
    slots: int = 2,
    poll_interval: float = 0.01,
) -> asyncio.Task[None]:
    return asyncio.create_task(
        keep_busy(
            queue.claim,
            queue.process,
            slots=slots,
            stop=stop,
            wake=wake,
            poll_interval=poll_interval,
            log=LOG,
            name="test",
        )
    )


async def test_a_slow_item_does_not_hold_back_the_others() -> None:
    queue = Queue(["slow", "b", "c", "d"], blocking=frozenset({"slow"}))
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = start(queue, stop, wake)

    await wait_until(lambda: queue.done == ["b", "c", "d"])
    queue.release.set()
    stop.set()
    await loop
    assert queue.done == ["b", "c", "d", "slow"]
    assert max(queue.claims) <= 2


async def test_stop_finishes_in_flight_work_and_claims_nothing_more() -> None:
    queue = Queue(["slow", "x"], blocking=frozenset({"slow"}))
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = start(queue, stop, wake, slots=1)

    await wait_until(lambda: queue.items == ["x"])
    stop.set()
    await asyncio.sleep(0.05)
    assert not loop.done()  # waiting for the item in flight
    queue.release.set()
    await asyncio.wait_for(loop, timeout=5)
    assert (queue.done, queue.items) == (["slow"], ["x"])


async def test_a_failing_claim_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    queue = Queue(["a"])
    queue.failures = 2
    stop, wake = asyncio.Event(), asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="tests.loop"):
        loop = start(queue, stop, wake)

        await wait_until(lambda: queue.done == ["a"])
        stop.set()
        await loop
    # one line per failure, without a traceback: an outage must not flood the log
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "test: claim failed (ConnectionError: database went away); retrying", None)
    ] * 2


async def test_cancelling_the_loop_cancels_work_in_flight() -> None:
    queue = Queue(["stuck"], blocking=frozenset({"stuck"}))
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = start(queue, stop, wake)

    await wait_until(lambda: queue.items == [] and len(queue.claims) > 0)
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    assert loop.cancelled()
    assert queue.done == []


async def test_wake_claims_new_work_before_the_poll_interval() -> None:
    queue = Queue([])
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = start(queue, stop, wake, poll_interval=60.0)

    await wait_until(lambda: len(queue.claims) == 1)
    queue.items.append("new")
    wake.set()

    await wait_until(lambda: queue.done == ["new"], within=5.0)
    stop.set()
    await loop


class CountingEvent(asyncio.Event):
    """An event that counts how often someone waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    async def wait(self) -> bool:  # type: ignore[override]
        self.waits += 1
        return await super().wait()


async def test_with_every_slot_busy_wake_ups_are_not_waited_on_and_do_not_spin() -> None:
    queue = Queue(["a", "b", "c"], blocking=frozenset({"a", "b"}))
    stop, wake = asyncio.Event(), CountingEvent()
    loop = start(queue, stop, wake, slots=2, poll_interval=60.0)

    await wait_until(lambda: queue.claims == [2])
    waits_when_full = wake.waits
    for _ in range(50):  # new work keeps arriving while nothing can be claimed
        wake.set()
        await asyncio.sleep(0)
    assert (wake.waits - waits_when_full, queue.claims) == (0, [2])

    queue.release.set()

    await wait_until(lambda: sorted(queue.done) == ["a", "b", "c"])
    stop.set()
    await loop
