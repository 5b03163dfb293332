"""What features and platforms add to the application besides commands: jobs and routes.

Both kinds of package hand these to the composition root (``bot.app``) as plain values;
neither touches the scheduler or the router itself.

Invariants:
- Every replica runs every ``ScheduledJob``, so a job must be idempotent (unique keys in
  the store); job names are unique per process.
- A ``Route`` is one method and path; two packages that declare the same one are a
  programming error, which aiohttp's router reports at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A coroutine the scheduler runs on ``cron`` (crontab syntax), read in ``timezone``
    (an IANA name) when given, else in the scheduler's zone."""

    name: str
    cron: str
    run: Callable[[], Awaitable[None]]
    run_at_start: bool = False
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP endpoint (``POST /api/usage``, ``POST /webhooks/github``)."""

    method: str
    path: str
    handler: RouteHandler
