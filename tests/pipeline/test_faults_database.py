"""The pipeline survives its database: faults in the middle of a stream of commands.

Each test streams ``@chatops tick <n>`` comments (50 a second, a few seconds long)
through the real app, whose database link breaks in the middle: the proxy cuts it,
``pg_terminate_backend`` ends the bot's connections, the proxy stalls it, or slows
every round trip by 500 ms. Then the link is restored, the deliveries that were not
accepted are sent again with the same delivery id (as GitHub redelivers), and the test
waits, bounded, until every command has a reply at the fake GitHub.

The contract (issue 14, DESIGN "The one pipeline"), checked by ``verdict``: every
delivery is answered within GitHub's 10 s, with 2xx (accepted) or 503 (redeliver);
every command ends up accepted, and has exactly one reply, its own, in its thread;
the app is never restarted. On SQLite the same holds while another process holds the
write lock longer than the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from tests.fault_stream import CLEAN, Answer, Stack, fault_stack, terminate_backends, verdict

RATE = 50.0  # deliveries per second
COUNT = 250  # five seconds of them
FAULT_AT = 1.0  # seconds into the stream
REDELIVERY_WINDOW = 8.0  # seconds to get every refused delivery accepted after restore
RECOVERY = 12.0  # seconds for every reply to arrive after the redeliveries

Step = Callable[[], Awaitable[None]]


async def _stream_with_fault(
    stack: Stack, inject: Step, restore: Step, hold: float
) -> dict[str, object]:
    """Stream, inject the fault at ``FAULT_AT``, restore ``hold`` seconds later, settle."""
    deliveries = stack.deliveries(COUNT)
    streaming = asyncio.create_task(stack.stream(deliveries, RATE))
    try:
        await asyncio.sleep(FAULT_AT)
        await inject()
        await asyncio.sleep(hold)
    finally:
        await restore()
    answers: list[Answer] = await streaming
    answers += await stack.redeliver(deliveries, answers, REDELIVERY_WINDOW)
    await stack.settle(deliveries, RECOVERY)
    await asyncio.sleep(0.5)  # time for a wrongly repeated reply to show up
    return await verdict(stack, deliveries, answers)


def _sync(action: Callable[[], object]) -> Step:
    async def step() -> None:
        action()

    return step


async def test_a_cut_link_mid_stream_loses_and_repeats_no_reply(postgres_url: str) -> None:
    async with fault_stack(postgres_url) as stack:
        proxy = stack.proxy
        found = await _stream_with_fault(stack, _sync(proxy.cut), _sync(proxy.restore), hold=3.0)

        assert found == CLEAN


async def test_a_black_holed_link_mid_stream_loses_and_repeats_no_reply(
    postgres_url: str,
) -> None:
    async with fault_stack(postgres_url) as stack:
        proxy = stack.proxy
        cut = _sync(lambda: proxy.cut(blackhole=True))
        found = await _stream_with_fault(stack, cut, _sync(proxy.restore), hold=3.0)

        assert found == CLEAN


async def test_terminated_backends_mid_stream_lose_and_repeat_no_reply(
    postgres_url: str,
) -> None:
    terminated: list[int] = []

    async def terminate_twice() -> None:
        # a second apart, so that the connections the pool opened again are ended too
        terminated.append(await terminate_backends(postgres_url))
        await asyncio.sleep(1.0)
        terminated.append(await terminate_backends(postgres_url))

    async with fault_stack(postgres_url) as stack:
        found = await _stream_with_fault(stack, terminate_twice, _sync(lambda: None), hold=1.0)

        assert found == CLEAN
        assert terminated[0] > 0  # the bot's connections really were ended


async def test_a_stalled_link_mid_stream_loses_and_repeats_no_reply(postgres_url: str) -> None:
    async with fault_stack(postgres_url) as stack:
        proxy = stack.proxy
        found = await _stream_with_fault(stack, _sync(proxy.stall), _sync(proxy.restore), hold=3.0)

        assert found == CLEAN


async def test_a_slow_link_answers_503_in_time_and_redeliveries_get_one_reply_each(
    postgres_url: str,
) -> None:
    async with fault_stack(postgres_url) as stack:
        proxy = stack.proxy
        slow = _sync(lambda: proxy.slow(250))  # 250 ms each way: +500 ms per round trip
        # slow for longer than GitHub waits, so that the intake's deadline must act
        found = await _stream_with_fault(stack, slow, _sync(proxy.restore), hold=11.0)

        assert found == CLEAN


async def test_sqlite_write_lock_held_past_the_busy_timeout_loses_and_repeats_no_reply(
    sqlite_url: str,
) -> None:
    async with fault_stack(sqlite_url) as stack:
        path = sqlite_url.split("://", 1)[1]
        with _write_lock_holder(path) as (take, release):
            found = await _stream_with_fault(stack, take, release, hold=6.0)

        assert found == CLEAN


@contextmanager
def _write_lock_holder(path: str) -> Iterator[tuple[Step, Step]]:
    """Another connection that takes SQLite's write lock on ``take`` and lets go on ``release``.

    It runs in a thread of its own, as another process's connection would, so the bot's
    writers wait on the lock (past the busy timeout: "database is locked") while it is held.
    """
    take, release, taken = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            take.wait(timeout=120)
            if not release.is_set():
                connection.execute("BEGIN IMMEDIATE")
                taken.set()
                release.wait(timeout=120)
                connection.execute("ROLLBACK")
        finally:
            connection.close()

    worker = threading.Thread(target=hold, name="sqlite-write-lock")
    worker.start()

    async def start() -> None:
        take.set()
        if not await asyncio.to_thread(taken.wait, 30):
            raise AssertionError("could not take the SQLite write lock")

    async def stop() -> None:
        release.set()

    try:
        yield start, stop
    finally:
        release.set()
        take.set()
        worker.join(timeout=120)
