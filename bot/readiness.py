"""Is this process able to take and answer commands right now? Fast, and truthful.

``/readyz`` asks ``Readiness.problems()``. It is ready when:
- the database answers a ping within ``ping_timeout`` seconds and has no unapplied
  migrations;
- neither the inbox worker nor the outbox sender is stalled: a loop whose heartbeat is
  older than ``stalled_after`` seconds while its queue has work it could take;
- every platform check the integrations registered (a gateway session, say) passes.

Invariants:
- The whole check ends within ``ping_timeout`` plus the queue count's own timeout (the
  same bound), both under a second by configuration, whatever the database does: a
  stalled database makes it answer "not ready", never hang. Each check runs in a task
  of its own that is abandoned at its timeout, because cancelling a query on a stalled
  connection can itself wait on that connection.
- A failure says what failed, never how to reach it (no URLs, no secrets).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.pipeline.loop import Heartbeat
from bot.store.database import Database

# what a queue's "has work" check reads: pending rows this process could take
WorkCount = Callable[[], Awaitable[int]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Loop:
    """One worker loop as readiness sees it: its heartbeat, and whether it has work."""

    name: str
    heartbeat: Heartbeat
    pending: WorkCount


@dataclass(frozen=True, slots=True)
class Readiness:
    database: Database
    ping_timeout: float
    stalled_after: float
    loops: tuple[Loop, ...] = ()
    platforms: Mapping[str, Callable[[], Awaitable[str | None]]] = field(default_factory=dict)
    # checks given up at their timeout, still unwinding in the background
    _abandoned: set[asyncio.Task[Any]] = field(default_factory=set)

    async def _within(self, work: Awaitable[T]) -> T:
        """``work``'s result, or ``TimeoutError`` after ``ping_timeout`` without waiting for
        its cancellation to finish."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.ping_timeout)
        if not done:
            task.cancel()
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned.discard)
            raise TimeoutError
        return task.result()

    async def problems(self) -> list[str]:
        """Why this process is not ready; empty when it is."""
        database = await self._database_problem()
        if database is not None:
            return [database]  # nothing else can be checked without it
        found = [problem for loop in self.loops if (problem := await self._stalled(loop))]
        for name, check in sorted(self.platforms.items()):
            try:
                problem = await self._within(check())
            except TimeoutError:
                problem = "no answer in time"
            except Exception as exc:
                problem = type(exc).__name__
            if problem is not None:
                found.append(f"{name}: {problem}")
        return found

    async def _database_problem(self) -> str | None:
        try:
            pending = await self._within(self._ping())
        except TimeoutError:
            return f"database: no answer within {self.ping_timeout:g}s"
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        if pending:
            return f"{len(pending)} unapplied migration(s); run `chatops migrate`"
        return None

    async def _ping(self) -> list[str]:
        await self.database.ping()
        if self.database.migrations_verified:
            return []
        return await self.database.unapplied_migrations()

    async def _stalled(self, loop: Loop) -> str | None:
        age = loop.heartbeat.age()
        if age <= self.stalled_after:
            return None
        try:
            waiting = await self._within(loop.pending())
        except Exception:
            return f"{loop.name}: no cycle for {age:.0f}s"
        if waiting == 0:
            return None  # idle, not stuck
        return f"{loop.name}: no cycle for {age:.0f}s with {waiting} waiting"
