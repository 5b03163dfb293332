"""Scheduled jobs: housekeeping purges what is finished and keeps dead letters."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.clock import SystemClock
from bot.config import SchedulerSettings
from bot.messages import Outgoing, Platform, Reply, ReplyTarget
from bot.parts import ScheduledJob
from bot.scheduler import HousekeepingDeps, Purged, build_scheduler, housekeeping
from bot.store.database import Database
from bot.store.models import AuditEntry, InboxItem, InboxStatus, OutboxItem, OutboxStatus
from bot.store.queues import InboxQueue, OutboxQueue
from tests.fakes.clock import FakeClock


def outgoing(key: str) -> Outgoing:
    return Outgoing(
        target=ReplyTarget(platform=Platform.SHELL, channel="s"), reply=Reply(title=key), key=key
    )


async def test_housekeeping_purges_old_finished_rows_and_keeps_the_rest(
    database: Database,
) -> None:
    clock = FakeClock()
    inbox, outbox = InboxQueue(database), OutboxQueue(database)
    deps = HousekeepingDeps(
        inbox=inbox,
        outbox=outbox,
        retention=timedelta(days=14),
        log=logging.getLogger("t"),
        database=database,
        audit_retention=timedelta(days=90),
    )
    old, recent = clock.now() - timedelta(days=20), clock.now() - timedelta(days=1)
    for detail, at in (("ancient", clock.now() - timedelta(days=91)), ("old", old)):
        await AuditEntry.create(
            at=at, platform="shell", actor="bot", decision="sent", detail=detail
        )
    for key, status, finished in (
        ("old-done", InboxStatus.DONE, old),
        ("recent-done", InboxStatus.DONE, recent),
        ("pending", InboxStatus.PENDING, None),
    ):
        await InboxItem.create(
            platform="shell",
            delivery_key=key,
            invocation={},
            status=status,
            available_at=old,
            received_at=old,
            finished_at=finished,
        )
    for key, status in (
        ("old-sent", OutboxStatus.SENT),
        ("old-dead", OutboxStatus.DEAD),
        ("old-dropped", OutboxStatus.DROPPED),
    ):
        await outbox.enqueue(outgoing(key), old)
        await OutboxItem.filter(key=key).update(status=status, sent_at=old)
    await outbox.enqueue(outgoing("recent-sent"), recent)
    await OutboxItem.filter(key="recent-sent").update(status=OutboxStatus.SENT, sent_at=recent)

    assert await housekeeping(deps, clock.now()) == Purged(inbox=1, outbox=2, audit=1)

    inbox_left = (
        await InboxItem.all().order_by("delivery_key").values_list("delivery_key", flat=True)
    )
    outbox_left = await OutboxItem.all().order_by("key").values_list("key", flat=True)
    assert (inbox_left, outbox_left) == (["pending", "recent-done"], ["old-dead", "recent-sent"])
    assert await AuditEntry.all().values_list("detail", flat=True) == ["old"]


def test_scheduler_has_the_housekeeping_job_on_its_cron_line() -> None:
    settings = SchedulerSettings(timezone="Europe/Berlin", housekeeping_cron="17 3 * * *")
    unopened = Database(url="sqlite://:memory:", dialect="sqlite")  # the job does not run here
    deps = HousekeepingDeps(
        inbox=InboxQueue(unopened),
        outbox=OutboxQueue(unopened),
        retention=timedelta(days=1),
        log=logging.getLogger("t"),
    )
    scheduler = build_scheduler(settings, deps, FakeClock())
    [job] = scheduler.get_jobs()
    assert job.id == "housekeeping"
    assert isinstance(job.trigger, CronTrigger)
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='17']"
    assert str(job.trigger.timezone) == "Europe/Berlin"


async def test_registered_jobs_run_on_start_when_asked_then_on_their_cron_line() -> None:
    settings = SchedulerSettings(timezone="UTC")
    unopened = Database(url="sqlite://:memory:", dialect="sqlite")
    deps = HousekeepingDeps(
        inbox=InboxQueue(unopened),
        outbox=OutboxQueue(unopened),
        retention=timedelta(days=1),
        log=logging.getLogger("t"),
    )
    ran = asyncio.Event()

    async def redeliver() -> None:
        ran.set()

    async def quiet() -> None:
        raise AssertionError("must not run at start")

    jobs = [
        ScheduledJob(name="redeliver", cron="*/15 * * * *", run=redeliver, run_at_start=True),
        ScheduledJob(name="quiet", cron="0 0 1 1 *", run=quiet),
    ]
    scheduler = build_scheduler(settings, deps, SystemClock(), jobs)
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)

    triggers = {job.id: str(job.trigger) for job in scheduler.get_jobs()}
    assert triggers == {
        "housekeeping": "cron[month='*', day='*', day_of_week='*', hour='3', minute='17']",
        "redeliver": "cron[month='*', day='*', day_of_week='*', hour='*', minute='*/15']",
        "quiet": "cron[month='1', day='1', day_of_week='*', hour='0', minute='0']",
    }
