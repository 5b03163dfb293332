"""The aiohttp application: operator endpoints, start-up checks and shutdown."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config, DatabaseSettings, WorkerSettings
from bot.messages import Actor, Invocation, Platform, ReplyTarget
from bot.store.database import UnappliedMigrations, open_database
from bot.web import PIPELINE, PROMETHEUS_TEXT, create_app
from commands import builtin_commands
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.waiting import wait_until

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
        commands=builtin_commands(),
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
        return (await pipeline.queue_depths())["outbox"] == {"sent": 1}

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
# HELP chatops_queue_depth Rows in the inbox and outbox, by status.
# TYPE chatops_queue_depth gauge
chatops_queue_depth{{queue="inbox",status="done"}} 1
chatops_queue_depth{{queue="outbox",status="sent"}} 1
"""
    assert text == expected


async def test_app_refuses_to_start_on_unapplied_migrations(sqlite_url: str) -> None:
    app = create_app(app_config(sqlite_url), commands=builtin_commands())
    with pytest.raises(UnappliedMigrations) as caught:
        async with TestServer(app, host="127.0.0.1", port=0):
            pass
    assert str(caught.value) == (
        "the database has 1 unapplied migration(s) (0001_initial); run `chatops migrate` first"
    )
