"""Wait for a condition that real background tasks make true, with a bound."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.01


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], within: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``within`` seconds.

    ``condition`` is a plain check (``lambda: len(sent) == 2``) or a coroutine function
    for one that reads the database; an awaitable result is awaited.

    The bound is generous on purpose: a condition that holds comes true in milliseconds,
    but a shared 2-core machine running the whole suite has been seen to take over 10 s."""
    for _ in range(int(within / POLL_SECONDS)):
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"condition not met within {within}s")
