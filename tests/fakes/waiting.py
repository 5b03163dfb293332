"""Wait for a condition that real background tasks make true, with a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.01


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``within`` seconds.

    The bound is generous on purpose: a condition that holds comes true in milliseconds,
    but a shared 2-core machine running the whole suite has been seen to take over 10 s."""
    for _ in range(int(within / POLL_SECONDS)):
        if await condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"condition not met within {within}s")
