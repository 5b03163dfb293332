"""Keep up to N claimed items in flight until told to stop.

``keep_busy`` is the run loop of both workers. It claims only as many rows as
it has free slots, starts one task per row, and claims again as soon as a slot
frees up, so one slow command never holds back the others (as waiting for a
whole batch would). With nothing to claim it sleeps until woken (new local
work), a task finishes, or the poll interval passes (work from other
replicas, retries coming due). With every slot busy it waits for a task to
finish (or the poll interval): wake-ups cannot help then, and must not make
it spin.

Invariants:
- Once ``stop`` is set nothing new is claimed; the call returns after the tasks
  in flight finish. The caller bounds that wait and cancels if needed: a
  cancelled row's lease expires and another worker takes it.
- A failing claim (say, the database is briefly gone) is logged and retried
  after the poll interval; it never ends the loop. Each claim runs in a copy of the
  loop's context, so nothing a failed claim leaves in a context variable (a database
  transaction, say) can outlive it and poison the next cycle.
- ``heartbeat`` beats after each claim that the database answered and each finished
  task: a heartbeat that stops while there is work means the loop is stuck.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


class Heartbeat:
    """When a loop last finished a cycle, in ``monotonic`` seconds."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._last = monotonic()

    def beat(self) -> None:
        self._last = self._monotonic()

    def age(self) -> float:
        """Seconds since the last beat."""
        return self._monotonic() - self._last


async def keep_busy(
    claim: Callable[[int], Awaitable[Sequence[T]]],
    process: Callable[[T], Coroutine[Any, Any, None]],
    *,
    slots: int,
    stop: asyncio.Event,
    wake: asyncio.Event,
    poll_interval: float,
    log: Log,
    name: str,
    heartbeat: Heartbeat | None = None,
) -> None:
    in_flight: set[asyncio.Task[None]] = set()

    def finished(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        if heartbeat is not None:
            heartbeat.beat()
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: task failed", name, exc_info=task.exception())

    try:
        while not stop.is_set():
            free = slots - len(in_flight)
            claimed: Sequence[T] = ()
            if free > 0:
                wake.clear()
                try:
                    claimed = await _isolated(claim, free)
                except Exception as exc:
                    log.warning(
                        "%s: claim failed (%s: %s); retrying", name, type(exc).__name__, exc
                    )
                else:
                    if heartbeat is not None:
                        heartbeat.beat()
            for item in claimed:
                task = asyncio.create_task(process(item))
                in_flight.add(task)
                task.add_done_callback(finished)
            if claimed and len(claimed) == free:
                continue  # there may be more: claim again once a slot is free
            # with every slot busy, only a finished task (or stop) can let more work in:
            # waiting on ``wake`` then would return at once, again and again, and spin
            full = len(in_flight) >= slots
            await _idle(stop, None if full else wake, in_flight, poll_interval)
    except asyncio.CancelledError:
        for task in in_flight:
            task.cancel()
        raise
    finally:
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)


async def _isolated(claim: Callable[[int], Awaitable[Sequence[T]]], free: int) -> Sequence[T]:
    """Run one claim in a copy of the current context (see the module docstring)."""

    async def run() -> Sequence[T]:
        return await claim(free)

    return await asyncio.create_task(run(), context=contextvars.copy_context())


async def _idle(
    stop: asyncio.Event,
    wake: asyncio.Event | None,
    in_flight: set[asyncio.Task[None]],
    poll_interval: float,
) -> None:
    """Wait for a stop, a wake-up (if given), a finished task or the poll interval."""
    events = [stop] if wake is None else [stop, wake]
    signals = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(
            [*signals, *in_flight], timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in signals:
            waiter.cancel()
