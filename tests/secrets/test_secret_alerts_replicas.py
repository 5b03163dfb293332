"""The expiry-alert job inside running applications (``bot.app.create_app``): two replicas
on one PostgreSQL database firing it at the same moment send one alert per channel, and
an application that starts after downtime sends the alert due, once, at start-up.

The applications run their real workers, outbox senders and APScheduler; replies go to a
recording connector per replica. APScheduler measures time on the wall clock, so every
test begins its fake clock at the wall clock's present (it never moves after) and derives
each expiry date from that start: the tests pass on any date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.channels.store import Subscriptions, Topic
from bot.config import (
    Config,
    DatabaseSettings,
    OutboxSettings,
    SecretsSettings,
    TrackedSecretEntry,
    WorkerSettings,
)
from bot.messages import Forge, Outgoing, Platform, ReplyTarget
from bot.parts import ScheduledJob
from bot.platforms import Registry
from bot.secrets.alert_replies import expiry_alert_reply
from bot.secrets.models import SecretAlert
from bot.secrets.store import SecretRegistry
from bot.store.database import open_database
from bot.store.models import OutboxItem, OutboxStatus
from bot.web import REGISTRY
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.waiting import wait_until

C1 = ReplyTarget(platform=Platform.SLACK, channel="C1")
C2 = ReplyTarget(platform=Platform.SLACK, channel="C2")
JOB = "secret-expiry-alerts"
NEVER = "0 0 1 1 *"  # once a year: only the start-up run and the test's own calls fire


class Recorded(logging.Handler):
    """Keeps the messages logged by one replica, to see that its start-up run finished."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def config(url: str, secrets: SecretsSettings) -> Config:
    return Config(
        database=DatabaseSettings(url=url),
        workers=WorkerSettings(poll_interval=0.01),
        outbox=OutboxSettings(backoff_base=0.01, backoff_cap=0.05),
        secrets=secrets,
    )


async def seed(url: str, expires_on: date, now: datetime) -> list[int]:
    """Migrate, subscribe two channels, then track the secret: one alert is due."""
    database = await open_database(url, require_migrated=False)
    await database.migrate()
    try:
        ids = []
        for channel in (C1, C2):
            subscriber, _ = await Subscriptions().subscribe(
                channel, Forge.GITHUB, "acme/web", Topic.ALERTS, by="alice", now=now
            )
            ids.append(subscriber.id)
        await SecretRegistry().track(
            Forge.GITHUB,
            "acme/web",
            "NPM_TOKEN",
            expires_on=expires_on,
            owner="@release-team",
            rotate_url=None,
            source="command",
            set_by="alice",
            now=now,
        )
        return ids
    finally:
        await database.close()


@asynccontextmanager
async def replicas(
    url: str, clock: FakeClock, secrets: SecretsSettings, count: int
) -> AsyncIterator[list[tuple[TestClient[Any, Any], RecordingConnector, Recorded]]]:
    """``count`` applications on one database, each with its own sender and log."""
    async with AsyncExitStack() as stack:
        running = []
        for index in range(count):
            connector, recorded = RecordingConnector(Platform.SLACK), Recorded()
            log = logging.getLogger(f"tests.replica.{index}.{id(stack)}")
            log.setLevel(logging.INFO)
            log.addHandler(recorded)
            app = create_app(
                config(url, secrets),
                connectors={Platform.SLACK: connector},
                clock=clock,
                log=log,
            )
            client = await stack.enter_async_context(
                TestClient(TestServer(app, host="127.0.0.1", port=0))
            )
            running.append((client, connector, recorded))
        yield running


def alert_job(client: TestClient[Any, Any]) -> ScheduledJob:
    registry: Registry = client.app[REGISTRY]
    [job] = [job for job in registry.jobs if job.name == JOB]
    return job


def sent_keys(connectors: Sequence[RecordingConnector]) -> list[str]:
    return sorted(message.key for connector in connectors for message in connector.sent)


async def thresholds_recorded() -> list[int]:
    return [row.threshold_days for row in await SecretAlert.all().order_by("id")]


async def outbox_rows() -> list[tuple[str, str, OutboxStatus]]:
    rows = await OutboxItem.all().order_by("key")
    return [(row.key, row.target["channel"], row.status) for row in rows]


async def test_two_replicas_firing_at_once_send_one_alert_per_channel(postgres_url: str) -> None:
    clock = FakeClock()  # the replicas' APScheduler is on the wall clock
    expires_on = clock.now().date() + timedelta(days=7)  # the 30 and 7 day thresholds passed
    subscribers = await seed(postgres_url, expires_on, clock.now())
    secrets = SecretsSettings(alert_cron=NEVER)

    async with replicas(postgres_url, clock, secrets, 2) as running:
        jobs = [alert_job(client) for client, _, _ in running] * 2  # each replica fires twice
        await asyncio.gather(*(job.run() for job in jobs))
        connectors = [connector for _, connector, _ in running]

        async def delivered() -> bool:
            return len(sent_keys(connectors)) >= 2 and all(
                status is OutboxStatus.SENT for _, _, status in await outbox_rows()
            )

        await wait_until(delivered)
        alerts = await thresholds_recorded()
        [seven] = [row.id for row in await SecretAlert.filter(threshold_days=7)]
        rows = await outbox_rows()

    keys = [f"secret-alert:{seven}:sub:{subscriber}" for subscriber in subscribers]
    assert alerts == [30, 7]
    assert rows == [(keys[0], "C1", OutboxStatus.SENT), (keys[1], "C2", OutboxStatus.SENT)]
    assert sent_keys(connectors) == keys


async def test_after_downtime_the_alert_due_is_sent_at_start_and_not_again(
    database_url: str,
) -> None:
    clock = FakeClock()  # APScheduler's start-up run is on the wall clock
    today = clock.now().date()
    expires_on = today + timedelta(days=5)  # the 30 and 7 day thresholds passed while down
    subscribers = await seed(database_url, expires_on, clock.now())
    secrets = SecretsSettings(alert_cron=NEVER)

    async with replicas(database_url, clock, secrets, 1) as [(_, connector, _)]:

        async def delivered() -> bool:
            return len(connector.sent) >= 2

        await wait_until(delivered)
        [seven] = [row.id for row in await SecretAlert.filter(threshold_days=7)]
        tracked = await SecretRegistry().get(Forge.GITHUB, "acme/web", "NPM_TOKEN")

    async with replicas(database_url, clock, secrets, 1) as [(_, restarted, log)]:

        async def start_up_run_done() -> bool:
            return any(message.startswith("expiry alerts for") for message in log.messages)

        await wait_until(start_up_run_done)
        thresholds = await thresholds_recorded()
        outbox_count = await OutboxItem.all().count()

    assert tracked is not None
    alert = expiry_alert_reply(tracked, expires_on, 5)
    assert alert.title == "NPM_TOKEN in acme/web expires in 5 days"
    assert sorted(connector.sent, key=lambda message: message.key) == [
        Outgoing(C1, alert, f"secret-alert:{seven}:sub:{subscribers[0]}"),
        Outgoing(C2, alert, f"secret-alert:{seven}:sub:{subscribers[1]}"),
    ]
    assert thresholds == [30, 7]
    assert (restarted.sent, outbox_count) == ([], 2)
    assert [line for line in log.messages if line.startswith("expiry alerts")] == [
        f"expiry alerts for {today.isoformat()}: 1 scanned, 0 sent, 0 without a subscribed channel"
    ]


async def test_configured_expiry_dates_are_tracked_at_start(database_url: str) -> None:
    clock = FakeClock()  # the replicas' APScheduler is on the wall clock
    today = clock.now().date()
    await seed(database_url, today + timedelta(days=41), clock.now())
    expires_on = today + timedelta(days=72)
    entry = TrackedSecretEntry(
        repo="acme/api", name="PYPI_TOKEN", expires=expires_on.isoformat(), owner="@py"
    )
    secrets = SecretsSettings(alert_cron=NEVER, tracked=(entry,))

    async with replicas(database_url, clock, secrets, 1):
        tracked = await SecretRegistry().get(Forge.GITHUB, "acme/api", "PYPI_TOKEN")

    assert tracked is not None
    assert (tracked.expires_on, tracked.owner, tracked.source, tracked.set_by) == (
        expires_on,
        "@py",
        "config",
        "configuration",
    )
