"""Scheduled jobs on APScheduler 3.x, each a plain ``async def job(deps, now)``.

APScheduler 3 keeps its job store in memory and cannot share one between
processes, so every replica runs every job; each job's effects must therefore be
idempotent (unique keys in the store, not in-memory sets). ``build_scheduler``
only creates and configures the scheduler; the application starts and stops it.

Jobs here:
- ``housekeeping``: delete inbox rows done and outbox rows sent more than
  ``retention_days`` ago (dead letters are kept for an operator to read).
- whatever the integrations registered (``bot.integrations.ScheduledJob``), each on its
  own time zone when it names one; a job marked ``run_at_start`` also runs once as soon
  as the scheduler starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import SchedulerSettings
from bot.integrations import ScheduledJob
from bot.store.queues import InboxQueue, OutboxQueue

MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class HousekeepingDeps:
    inbox: InboxQueue
    outbox: OutboxQueue
    retention: timedelta
    log: logging.Logger


async def housekeeping(deps: HousekeepingDeps, now: datetime) -> tuple[int, int]:
    cutoff = now - deps.retention
    inbox = await deps.inbox.purge_done(cutoff)
    outbox = await deps.outbox.purge_sent(cutoff)
    deps.log.info("housekeeping: purged %d inbox and %d outbox rows", inbox, outbox)
    return inbox, outbox


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
        CronTrigger.from_crontab(settings.housekeeping_cron, timezone=settings.timezone),
        id="housekeeping",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    for job in jobs:
        scheduler.add_job(
            job.run,
            CronTrigger.from_crontab(job.cron, timezone=job.timezone or settings.timezone),
            id=job.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            **({"next_run_time": clock.now()} if job.run_at_start else {}),
        )
    return scheduler
