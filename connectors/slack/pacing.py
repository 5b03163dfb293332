"""Space out messages to one Slack channel: at most one per ``interval`` seconds.

Slack allows ``chat.postMessage`` about one message per second per channel, with short
bursts tolerated (docs.slack.dev, "Rate limits"). ``ChannelPacer.turn(channel)`` waits
until the channel's previous message is ``interval`` seconds old, then holds the channel
while the caller posts, so concurrent senders to one channel go one at a time and others
are not held up.

Not done: pacing across replicas (each process paces its own sends; a 429 that still
happens is reported to the outbox, which waits as Slack asks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


class ChannelPacer:
    def __init__(
        self,
        interval: float,
        monotonic: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def turn(self, channel: str) -> AsyncIterator[None]:
        """Wait for ``channel``'s slot, hold it while the body posts, then start the interval."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None and self._interval > 0:
                wait = last + self._interval - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = self._monotonic()
