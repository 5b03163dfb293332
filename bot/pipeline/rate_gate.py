"""The rate gate the connectors send through: pacing and retry-after windows per key.

A key names an installation (or token) and a route class, as the connector chooses:
``github:installation:42:write``, ``slack:chat.postMessage:C123``, a Discord route bucket.
The gate's state lives in the store (``bot.store.gates``), so every replica honours it.

- ``write_slot(key)`` reserves the key's next slot (``spacing`` after the previous one and
  after any block) and sleeps until it. A slot further away than ``max_wait`` is not
  taken: it raises ``bot.pipeline.delivery.RateLimited`` with the wait, so the sender puts the
  message back without holding a send (and its lease) open.
- ``read_slot(key)`` only waits for a block (reads are not spaced); a block further away
  than ``max_wait`` raises ``RateLimited`` as well.
- ``blocked(key, until, reason)`` closes the key after a 429 or a secondary-limit 403.

Invariants: the time comes from the injected clock and waiting from the injected sleep;
a slot is reserved in one statement, so two replicas never take the same one; the gate
never retries a request itself, it only says when one may go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.pipeline.delivery import RateLimited
from bot.store.gates import GateState, Refusal, Slot

Sleep = Callable[[float], Awaitable[None]]


class GateBackend(Protocol):
    """Where gates are kept (``bot.store.gates.GateStore``)."""

    async def reserve(
        self, key: str, now_ms: int, spacing_ms: int, max_wait_ms: int
    ) -> Slot | Refusal: ...

    async def block(self, key: str, until_ms: int, reason: str, now_ms: int) -> None: ...

    async def state(self, key: str) -> GateState | None: ...


class RateGate:
    def __init__(
        self,
        store: GateBackend,
        clock: Clock,
        *,
        spacing: float,
        max_wait: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._clock = clock
        self._spacing_ms = round(spacing * 1000)
        self._max_wait_ms = round(max_wait * 1000)
        self._sleep = sleep

    @property
    def spacing(self) -> float:
        return self._spacing_ms / 1000

    async def write_slot(self, key: str) -> None:
        """Wait for ``key``'s next slot, or raise ``RateLimited`` if it is out of reach."""
        now = self._now_ms()
        taken = await self._store.reserve(key, now, self._spacing_ms, self._max_wait_ms)
        if isinstance(taken, Refusal):
            raise RateLimited(taken.reason, (taken.until_ms - now) / 1000)
        if taken.at_ms > now:
            await self._sleep((taken.at_ms - now) / 1000)

    async def read_slot(self, key: str) -> None:
        """Wait while ``key`` is blocked for a short while; ``RateLimited`` if for longer."""
        state = await self._store.state(key)
        now = self._now_ms()
        if state is None or state.blocked_until_ms <= now:
            return
        wait_ms = state.blocked_until_ms - now
        if wait_ms > self._max_wait_ms:
            raise RateLimited(state.reason or f"{key} is closed", wait_ms / 1000)
        await self._sleep(wait_ms / 1000)

    async def blocked(self, key: str, until: datetime, reason: str) -> None:
        """Close ``key`` until ``until`` (a later block already in place stays)."""
        await self._store.block(key, _ms(until), reason, self._now_ms())

    async def blocked_for(self, key: str, seconds: float, reason: str) -> None:
        """Close ``key`` for ``seconds`` from now."""
        now = self._now_ms()
        await self._store.block(key, now + round(seconds * 1000), reason, now)

    async def closed_for(self, key: str) -> float:
        """Seconds until ``key`` opens again (0 when it is open)."""
        state = await self._store.state(key)
        if state is None:
            return 0.0
        return max(0, state.blocked_until_ms - self._now_ms()) / 1000

    def _now_ms(self) -> int:
        return _ms(self._clock.now())


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
