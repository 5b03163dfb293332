"""The aiohttp application: operator endpoints, start-up checks and shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.arguments import NoArgs
from bot.config import Config, DatabaseSettings, ServerSettings, WorkerSettings
from bot.context import Context
from bot.features import commands_feature
from bot.messages import Actor, Invocation, Platform, Reply, ReplyTarget
from bot.pipeline.assembly import Pipeline
from bot.router import Command
from bot.store.database import UnappliedMigrations, open_database
from bot.store.models import InboxItem, InboxStatus, OutboxItem
from bot.web import PIPELINE, PROMETHEUS_TEXT
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.waiting import wait_until
from tests.shipped import unapplied_message

BUCKETS = (
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2.5",
    "5",
    "10",
    "30",
    "60",
)


def all_buckets(name: str, count: int) -> str:
    """Histogram bucket lines where every observation fell in the first bucket."""
    return "\n".join(
        f'{name}_bucket{{platform="shell",le="{le}"}} {count}' for le in (*BUCKETS, "+Inf")
    )


def app_config(url: str) -> Config:
    return Config(
        database=DatabaseSettings(url=url),
        workers=WorkerSettings(poll_interval=0.01),
    )


async def migrated(url: str) -> None:
    database = await open_database(url, require_migrated=False)
    await database.migrate()
    await database.close()


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[tuple[TestClient, RecordingConnector]]:
    await migrated(database_url)
    connector = RecordingConnector()
    app = create_app(
        app_config(database_url),
        connectors={Platform.SHELL: connector},
        clock=FakeClock(),
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client, connector


async def test_healthz_and_readyz_answer_ok(client: tuple[TestClient, RecordingConnector]) -> None:
    test_client, _ = client
    health = await test_client.get("/healthz")
    ready = await test_client.get("/readyz")
    assert (health.status, await health.json()) == (200, {"status": "ok"})
    assert (ready.status, await ready.json()) == (200, {"status": "ready"})


async def test_metrics_count_invocations_deliveries_and_queue_depths(
    client: tuple[TestClient, RecordingConnector],
) -> None:
    test_client, connector = client
    pipeline = test_client.app[PIPELINE]
    clock = FakeClock()
    await pipeline.submit(
        Invocation(
            id=uuid.uuid4().hex,
            platform=Platform.SHELL,
            actor=Actor(platform=Platform.SHELL, id="local", name="local"),
            text="ping",
            reply_to=ReplyTarget(platform=Platform.SHELL, channel="s"),
            delivery_key="k1",
            received_at=clock.now(),
        )
    )

    async def reply_sent() -> bool:
        return await OutboxItem.filter(status="sent").count() == 1

    await wait_until(reply_sent)
    assert len(connector.sent) == 1

    response = await test_client.get("/metrics")

    assert response.headers["Content-Type"] == PROMETHEUS_TEXT
    text = await response.text()
    expected = f"""\
# HELP chatops_invocations_total Invocations dispatched, by platform, command and outcome.
# TYPE chatops_invocations_total counter
chatops_invocations_total{{command="ping",outcome="ok",platform="shell"}} 1
# HELP chatops_deliveries_total Outbox delivery attempts, by platform and outcome.
# TYPE chatops_deliveries_total counter
chatops_deliveries_total{{outcome="sent",platform="shell"}} 1
# HELP chatops_ack_seconds Time from receiving a platform request to persisting it.
# TYPE chatops_ack_seconds histogram
{all_buckets("chatops_ack_seconds", 1)}
chatops_ack_seconds_sum{{platform="shell"}} 0
chatops_ack_seconds_count{{platform="shell"}} 1
# HELP chatops_end_to_end_seconds Time from receiving a command to sending its reply.
# TYPE chatops_end_to_end_seconds histogram
{all_buckets("chatops_end_to_end_seconds", 1)}
chatops_end_to_end_seconds_sum{{platform="shell"}} 0
chatops_end_to_end_seconds_count{{platform="shell"}} 1
# HELP chatops_rejected_requests_total Requests refused at a front door, by door and reason.
# TYPE chatops_rejected_requests_total counter
# HELP chatops_queue_depth Rows in the inbox and outbox, by status.
# TYPE chatops_queue_depth gauge
chatops_queue_depth{{queue="inbox",status="claimed"}} 0
chatops_queue_depth{{queue="inbox",status="pending"}} 0
chatops_queue_depth{{queue="outbox",status="claimed"}} 0
chatops_queue_depth{{queue="outbox",status="dead"}} 0
chatops_queue_depth{{queue="outbox",status="pending"}} 0
chatops_queue_depth{{queue="outbox",status="waiting_for_connector"}} 0
"""
    assert text == expected


async def test_app_refuses_to_start_on_unapplied_migrations(sqlite_url: str) -> None:
    app = create_app(app_config(sqlite_url))
    with pytest.raises(UnappliedMigrations) as caught:
        async with TestServer(app, host="127.0.0.1", port=0):
            pass
    assert str(caught.value) == (unapplied_message())


async def start_with_slow_work(
    url: str, release: asyncio.Event, shutdown_timeout: float = 10.0
) -> tuple[TestServer, Pipeline]:
    """An app whose ``slow`` command waits for ``release``, with two of them claimed."""
    await migrated(url)

    async def slow_work(_ctx: Context, _args: NoArgs) -> Reply:
        await release.wait()
        return Reply(title="finished")

    config = Config(
        database=DatabaseSettings(url=url),
        workers=WorkerSettings(poll_interval=0.01),
        server=ServerSettings(shutdown_timeout=shutdown_timeout),
    )
    app = create_app(
        config,
        features=[commands_feature("tests", [Command("slow", "Waits.", slow_work, NoArgs)])],
        connectors={Platform.SHELL: RecordingConnector()},
        clock=FakeClock(),
    )
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    pipeline = app[PIPELINE]
    for key in ("first", "second"):
        await pipeline.submit(
            Invocation(
                id=key,
                platform=Platform.SHELL,
                actor=Actor(platform=Platform.SHELL, id="local", name="local"),
                text="slow",
                reply_to=ReplyTarget(platform=Platform.SHELL, channel="s"),
                delivery_key=key,
                received_at=FakeClock().now(),
            )
        )

    async def both_claimed() -> bool:
        return (await pipeline.inbox.depth()).get("claimed") == 2

    await wait_until(both_claimed)
    return server, pipeline


async def rows_after_shutdown(url: str) -> tuple[list[tuple[str, str]], list[str]]:
    database = await open_database(url)  # the app closed its own connection
    try:
        inbox = await InboxItem.all().order_by("delivery_key").values_list("delivery_key", "status")
        replies = await OutboxItem.all().order_by("key").values_list("key", flat=True)
    finally:
        await database.close()
    return inbox, replies


async def test_shutdown_finishes_work_in_flight(sqlite_url: str) -> None:
    release = asyncio.Event()
    server, _ = await start_with_slow_work(sqlite_url, release)
    closing = asyncio.create_task(server.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waiting for the two commands
    release.set()
    await asyncio.wait_for(closing, timeout=10)

    inbox, replies = await rows_after_shutdown(sqlite_url)
    assert inbox == [("first", InboxStatus.DONE), ("second", InboxStatus.DONE)]
    assert replies == ["reply:first", "reply:second"]  # sent now or after the next start


async def test_shutdown_gives_up_on_work_past_its_bound_and_leaves_it_for_later(
    sqlite_url: str,
) -> None:
    server, _ = await start_with_slow_work(sqlite_url, asyncio.Event(), shutdown_timeout=0.2)
    await asyncio.wait_for(server.close(), timeout=10)

    inbox, replies = await rows_after_shutdown(sqlite_url)
    assert inbox == [("first", InboxStatus.CLAIMED), ("second", InboxStatus.CLAIMED)]
    assert replies == []  # taken over by the next worker when the lease expires
