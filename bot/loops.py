"""The background loops of a serving process, by role, and the readiness that watches them.

``chatops serve --role`` (``server.role``) splits one bot into processes on one database:

- ``web``: the HTTP endpoints and the front doors, which store commands in the inbox; no
  inbox worker, outbox sender or scheduler runs, so readiness watches no loop;
- ``worker``: the inbox worker, the outbox sender and the scheduler, with ``/healthz``,
  ``/readyz`` and ``/metrics``;
- ``all`` (the default): both in one process.

Every role installs the enabled platforms whole (``bot.app``): a web process needs their
front doors, a worker their connectors, authorizers and forge clients.

Invariants: any number of processes of each role may share one database, as full
replicas may: commands are claimed under leases and every scheduled job is idempotent
(``bot.platforms.ScheduledJob``). The PostgreSQL pool is sized from the loops a role runs
(``pool_size``), so a worker slot never waits for a connection another slot holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Literal

from aiohttp import web

from bot.config import Config
from bot.pipeline.assembly import Pipeline, run_workers
from bot.platforms import Registry
from bot.readiness import Loop, Readiness
from bot.scheduler import HousekeepingDeps, build_scheduler
from bot.store.database import Database
from bot.web import CLOCK, CONFIG, DATABASE, LOG, PIPELINE, REGISTRY

Role = Literal["all", "web", "worker"]
ROLES: tuple[Role, ...] = ("all", "web", "worker")
ROLE: web.AppKey[Role] = web.AppKey("role")
# connections beyond the worker and sender slots: the front doors' intake, the readiness
# ping, /metrics and the scheduler's jobs
SPARE_CONNECTIONS = 4
# what a web process's pool holds at least (the intake's bursts share it)
MIN_POOL = 10


def as_role(name: str) -> Role:
    """``name`` as a role; ``server.role`` and ``--role`` accept only ``ROLES``."""
    for role in ROLES:
        if role == name:
            return role
    raise ValueError(f"unknown role {name!r}: give one of {', '.join(ROLES)}")


def runs_loops(role: Role) -> bool:
    """Whether a process of ``role`` runs the workers and the scheduler."""
    return role != "web"


def pool_size(config: Config, role: Role) -> int:
    """The most PostgreSQL connections a process of ``role`` opens: one per inbox worker
    slot and per outbox sender slot when it runs them, plus ``SPARE_CONNECTIONS``; never
    fewer than ``MIN_POOL``."""
    slots = config.workers.concurrency + config.outbox.concurrency if runs_loops(role) else 0
    return max(MIN_POOL, slots + SPARE_CONNECTIONS)


def add_loops(app: web.Application, role: Role) -> None:
    """The workers' and the scheduler's contexts, entered after the pipeline's, if ``role``
    runs them."""
    if runs_loops(role):
        app.cleanup_ctx.append(_workers_ctx)
        app.cleanup_ctx.append(_scheduler_ctx)


def readiness(
    database: Database, pipeline: Pipeline, config: Config, registry: Registry, role: Role
) -> Readiness:
    """What ``/readyz`` checks: the database, the loops this role runs, the platforms."""
    clock, sender = pipeline.clock, pipeline.sender
    loops = []
    if runs_loops(role) and pipeline.inbox_heartbeat is not None:
        loops.append(
            Loop("inbox worker", pipeline.inbox_heartbeat, lambda: pipeline.inbox.due(clock.now()))
        )
    if runs_loops(role) and pipeline.outbox_heartbeat is not None:
        loops.append(
            Loop(
                "outbox sender",
                pipeline.outbox_heartbeat,
                lambda: pipeline.outbox.due(clock.now(), sender.platforms),
            )
        )
    return Readiness(
        database=database,
        ping_timeout=config.database.ping_timeout,
        stalled_after=config.workers.stalled_after,
        loops=tuple(loops),
        platforms=registry.readiness,
    )


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(app[PIPELINE], stop, config.workers.poll_interval))
    yield
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=config.server.shutdown_timeout)
    except TimeoutError:
        app[LOG].warning("workers did not finish in time; their leases will expire")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pipeline = app[PIPELINE]
    deps = HousekeepingDeps(
        inbox=pipeline.inbox,
        outbox=pipeline.outbox,
        retention=timedelta(days=config.scheduler.retention_days),
        log=app[LOG].getChild("scheduler"),
        database=app[DATABASE],
        audit_retention=timedelta(days=config.scheduler.audit_retention_days),
    )
    scheduler = build_scheduler(config.scheduler, deps, app[CLOCK], app[REGISTRY].jobs)
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)
