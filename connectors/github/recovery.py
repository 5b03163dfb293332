"""Ask GitHub to redeliver what failed while the bot could not answer (App mode).

GitHub does not retry a failed delivery on its own, but an App can list its recent
deliveries (``GET /app/hook/deliveries``, newest first) and request a redelivery of
any of them (``POST /app/hook/deliveries/{id}/attempts``). ``Redeliverer.run`` walks the
deliveries newer than the last one it saw, finds the original deliveries that never got
a 2xx answer (no later attempt with the same GUID succeeded either), asks for each to be
redelivered, and then remembers the newest delivery id as its cursor.

Invariants:
- The first run only sets the cursor: without a record of what was seen, replaying
  days-old commands would surprise more than it helps.
- Only original deliveries are redelivered, never redeliveries, so a delivery that keeps
  failing is asked for again at most once per run that sees it as new.
- One replica runs it at a time (a lease); a redelivered command that was in fact
  processed inserts nothing, because the inbox is keyed by the delivery GUID.
- At most ``max_pages`` pages are read per run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.store.leases import Leases
from bot.store.state import StateStore
from connectors.github.auth import AppTokens

CURSOR = "github.redelivery.cursor"
LEASE = "github.redelivery"
LEASE_TTL = timedelta(minutes=5)
PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class RedeliveryResult:
    seen: int
    redelivered: tuple[int, ...]
    cursor: int | None


@dataclass
class Redeliverer:
    tokens: AppTokens
    state: StateStore
    leases: Leases
    clock: Clock
    holder: str
    log: logging.Logger
    max_pages: int = 10

    async def run(self) -> RedeliveryResult | None:
        """One pass; None if another replica holds the lease."""
        now = self.clock.now()
        if not await self.leases.acquire(LEASE, self.holder, now, LEASE_TTL):
            return None
        try:
            return await self._run()
        finally:
            await self.leases.release(LEASE, self.holder)

    async def _run(self) -> RedeliveryResult:
        stored = await self.state.get(CURSOR)
        cursor = int(stored["last_id"]) if isinstance(stored, dict) else None
        deliveries = await self._newer_than(cursor)
        newest = max((int(d["id"]) for d in deliveries), default=cursor)
        redelivered: list[int] = []
        if cursor is not None:
            api = self.tokens.app_api()
            for delivery_id in _failed_originals(deliveries):
                await api.post(
                    "/app/hook/deliveries/{delivery_id}/attempts",
                    {"delivery_id": delivery_id},
                    data=b"",
                )
                redelivered.append(delivery_id)
        if newest is not None:
            await self.state.put(CURSOR, {"last_id": newest}, self.clock.now())
        if redelivered:
            self.log.info("asked GitHub to redeliver %d failed deliveries", len(redelivered))
        return RedeliveryResult(len(deliveries), tuple(redelivered), newest)

    async def _newer_than(self, cursor: int | None) -> list[dict[str, Any]]:
        """Deliveries newer than ``cursor`` (all of the first page when there is none)."""
        api = self.tokens.app_api()
        found: list[dict[str, Any]] = []
        limit = PAGE_SIZE if cursor is None else self.max_pages * PAGE_SIZE
        async for delivery in api.getiter(f"/app/hook/deliveries?per_page={PAGE_SIZE}"):
            if cursor is not None and int(delivery["id"]) <= cursor:
                break
            found.append(delivery)
            if len(found) >= limit:
                break
        return found


def _failed_originals(deliveries: list[dict[str, Any]]) -> list[int]:
    """Ids of original deliveries whose GUID never got a 2xx answer, oldest first."""
    succeeded = {d["guid"] for d in deliveries if 200 <= int(d.get("status_code") or 0) < 300}
    failed = [
        int(d["id"]) for d in deliveries if not d.get("redelivery") and d["guid"] not in succeeded
    ]
    return sorted(failed)
