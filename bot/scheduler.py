"""Scheduled jobs on APScheduler 3.x, each a plain ``async def job(deps, now)``.

APScheduler 3 keeps its job store in memory and cannot share one between
processes, so every replica runs every job; each job's effects must therefore be
idempotent (unique keys in the store, not in-memory sets). ``build_scheduler``
only creates and configures the scheduler; the application starts and stops it.

Cron lines are read by ``bot.cron``, the parser configuration validation uses too, with
crontab's weekday numbers (0 and 7 are Sunday).

Jobs here:
- ``housekeeping``: delete inbox rows done and outbox rows sent (or dropped) more than
  ``retention_days`` ago, and audit entries older than ``audit_retention_days`` (dead
  letters are kept for an operator to read), in batches; then SQLite gives the freed
  pages back to the file system (incremental vacuum).
- whatever the integrations registered (``bot.platforms.ScheduledJob``), each on its
  own time zone when it names one; a job marked ``run_at_start`` also runs once as soon
  as the scheduler starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import cron
from bot.clock import Clock
from bot.config import SchedulerSettings
from bot.parts import ScheduledJob
from bot.store.database import Database
from bot.store.queues import InboxQueue, OutboxQueue, purge_audit

MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class HousekeepingDeps:
    inbox: InboxQueue
    outbox: OutboxQueue
    retention: timedelta
    log: logging.Logger
    database: Database | None = None  # for the audit log and the SQLite vacuum
    audit_retention: timedelta = timedelta(days=90)


class Purged(NamedTuple):
    inbox: int
    outbox: int
    audit: int = 0


async def housekeeping(deps: HousekeepingDeps, now: datetime) -> Purged:
    cutoff = now - deps.retention
    inbox = await deps.inbox.purge_done(cutoff)
    outbox = await deps.outbox.purge_sent(cutoff)
    audit = 0
    if deps.database is not None:
        audit = await purge_audit(deps.database, now - deps.audit_retention)
        await deps.database.reclaim_space()
    deps.log.info(
        "housekeeping: purged %d inbox, %d outbox and %d audit rows", inbox, outbox, audit
    )
    return Purged(inbox, outbox, audit)


def build_scheduler(
    settings: SchedulerSettings,
    deps: HousekeepingDeps,
    clock: Clock,
    jobs: Sequence[ScheduledJob] = (),
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.timezone)

    async def run_housekeeping() -> None:
        await housekeeping(deps, clock.now())

    scheduler.add_job(
        run_housekeeping,
        cron.trigger(settings.housekeeping_cron, settings.timezone),
        id="housekeeping",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    for job in jobs:
        scheduler.add_job(
            job.run,
            cron.trigger(job.cron, job.timezone or settings.timezone),
            id=job.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            **({"next_run_time": clock.now()} if job.run_at_start else {}),
        )
    return scheduler
