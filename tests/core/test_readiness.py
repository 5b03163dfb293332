"""``/readyz`` tells the truth quickly; a front door that cannot store answers 503.

The database faults themselves (a cut link, a stall, killed connections) are in
``test_faults_database.py``; here: a worker loop that stops cycling while work waits, a
platform check that fails, and an intake write past its deadline.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.arguments import NoArgs
from bot.config import Config, DatabaseSettings, WorkerSettings
from bot.context import Context, Services
from bot.features import commands_feature
from bot.messages import Actor, Invocation, Outgoing, Platform, Reply, ReplyTarget
from bot.pipeline.assembly import IntakeUnavailable, Pipeline, build_pipeline
from bot.router import Command
from bot.store.database import open_database
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import CLOCK, PIPELINE, REGISTRY
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.waiting import wait_until


def shell_invocation(key: str, clock: FakeClock) -> Invocation:
    return Invocation(
        id=key,
        platform=Platform.SHELL,
        actor=Actor(platform=Platform.SHELL, id="local", name="local"),
        text="hang",
        reply_to=ReplyTarget(platform=Platform.SHELL, channel="s"),
        delivery_key=key,
        received_at=clock.now(),
    )


@pytest.fixture
async def hung_app(database_url: str) -> AsyncIterator[tuple[TestClient, asyncio.Event]]:
    """The app with one worker slot and a ``hang`` command that waits for its event."""
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    await database.close()
    release = asyncio.Event()

    async def hang(_ctx: Context, _args: NoArgs) -> Reply:
        await release.wait()
        return Reply(title="released")

    config = Config(
        database=DatabaseSettings(url=database_url),
        workers=WorkerSettings(poll_interval=0.01, concurrency=1, stalled_after=30.0),
    )
    app = create_app(
        config,
        features=[commands_feature("tests", [Command("hang", "Waits.", hang, NoArgs)])],
        connectors={Platform.SHELL: RecordingConnector()},
        clock=FakeClock(),
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client, release
        release.set()


async def test_a_worker_stuck_while_commands_wait_is_not_ready_and_recovers(
    hung_app: tuple[TestClient, asyncio.Event],
) -> None:
    client, release = hung_app
    app = client.server.app
    pipeline, clock = app[PIPELINE], app[CLOCK]
    assert isinstance(clock, FakeClock)
    for key in ("first", "second"):
        assert await pipeline.submit(shell_invocation(key, clock))

    async def first_claimed() -> bool:
        return (await pipeline.inbox.depth())["claimed"] == 1

    await wait_until(first_claimed, within=30)
    assert (await client.get("/readyz")).status == 200  # busy, but not for long yet

    clock.advance(31)  # the only slot has been busy for 31 s with "second" waiting
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (
        503,
        {
            "status": "unavailable",
            "reason": "inbox worker: no cycle for 31s with 1 waiting",
            "problems": ["inbox worker: no cycle for 31s with 1 waiting"],
        },
    )

    release.set()  # the handler ends, the loop cycles again

    for _ in range(500):
        response = await client.get("/readyz")
        if response.status == 200:
            break
        await asyncio.sleep(0.01)
    assert (response.status, await response.json()) == (200, {"status": "ready"})


async def test_an_idle_worker_is_ready_however_long_it_has_waited(
    hung_app: tuple[TestClient, asyncio.Event],
) -> None:
    client, _ = hung_app
    clock = client.server.app[CLOCK]
    assert isinstance(clock, FakeClock)
    clock.advance(3600)
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (200, {"status": "ready"})


async def test_a_platform_check_that_fails_or_hangs_is_named(
    hung_app: tuple[TestClient, asyncio.Event],
) -> None:
    client, _ = hung_app
    registry = client.server.app[REGISTRY]

    async def gateway_down() -> str | None:
        return "gateway session not connected"

    async def hangs() -> str | None:
        await asyncio.sleep(60)
        return None

    registry.readiness["discord"] = gateway_down
    registry.readiness["slack"] = hangs
    started = asyncio.get_running_loop().time()
    response = await client.get("/readyz")
    elapsed = asyncio.get_running_loop().time() - started
    assert (response.status, await response.json()) == (
        503,
        {
            "status": "unavailable",
            "reason": "discord: gateway session not connected",
            "problems": ["discord: gateway session not connected", "slack: no answer in time"],
        },
    )
    assert elapsed < 5  # bounded by the ping timeout, not by the hung check


async def _stored_once() -> bool:
    return (await InboxItem.all().count(), await OutboxItem.all().count()) == (1, 1)


async def test_a_command_that_cannot_be_stored_in_time_is_refused_and_not_half_stored(
    sqlite_url: str,
) -> None:
    """Another process holds SQLite's write lock: the submit gives up at its deadline (the
    front door's middleware then answers 503, see test_faults_database.py). The write it
    gave up waits in the driver for the lock and commits whole once the lock is gone, the
    command with its acknowledgement; the platform's redelivery is then a duplicate, so
    the command is stored once and nothing is half stored."""
    database = await open_database(sqlite_url, require_migrated=False)
    await database.migrate()
    clock = FakeClock()
    config = Config(
        database=DatabaseSettings(url=sqlite_url, intake_deadline=0.2),
        workers=WorkerSettings(poll_interval=0.01),
    )
    pipeline = build_pipeline(
        config,
        database,
        commands=[],
        connectors={Platform.SHELL: RecordingConnector()},
        services=Services(clock=clock, started_at=clock.now(), version="test"),
        log=logging.getLogger("chatops.test"),
    )
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite://"), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, as a busy writer holds it
        started = asyncio.get_running_loop().time()
        with pytest.raises(IntakeUnavailable) as caught:
            await pipeline.submit(shell_invocation("late", clock), acknowledge=True)
        elapsed = asyncio.get_running_loop().time() - started
        assert str(caught.value) == "could not store the command within 0.2s"
        assert elapsed < 2  # the deadline, not SQLite's 5 s busy timeout
        blocker.execute("ROLLBACK")
        await asyncio.wait_for(pipeline.settle(), timeout=10)
        await wait_until(_stored_once, within=10)  # the given-up write, committed whole
        assert await pipeline.submit(shell_invocation("late", clock), acknowledge=True) is False
        assert await InboxItem.all().count() == 1
        assert await OutboxItem.all().count() == 1
    finally:
        blocker.close()
        await database.close()


async def test_a_dead_shells_claimed_reply_is_released_and_shown_as_waiting(
    database_url: str,
) -> None:
    """A ``chatops shell`` that died holding its reply: when the lease ends the server's
    sender puts it back, and it counts as waiting for a connector, not as in flight."""
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    try:
        clock = FakeClock()

        def pipeline_for(platform: Platform) -> Pipeline:
            return build_pipeline(
                Config(database=DatabaseSettings(url=database_url)),
                database,
                commands=[],
                connectors={platform: RecordingConnector(platform)},
                services=Services(clock=clock, started_at=clock.now(), version="test"),
                log=logging.getLogger("chatops.test"),
            )

        shell, server = pipeline_for(Platform.SHELL), pipeline_for(Platform.SLACK)
        reply = Outgoing(
            target=ReplyTarget(platform=Platform.SHELL, channel="session"),
            reply=Reply(title="pong"),
            key="reply:shell-1",
        )
        assert await shell.outbox.enqueue(reply, clock.now())
        [claim] = await shell.sender.claim(1)  # ... and the shell is killed here
        assert (await server.queue_depths())["outbox"]["claimed"] == 1

        clock.advance(61)  # past the 60 s outbox lease
        assert await server.sender.run_once() == 0  # it is not the server's to send
        assert (await server.queue_depths())["outbox"] == {
            "pending": 0,
            "claimed": 0,
            "dead": 0,
            "waiting_for_connector": 1,
        }
        row = await OutboxItem.get(key="reply:shell-1")
        assert (row.status, row.claim_token, row.attempts) == (OutboxStatus.PENDING, None, 1)
        assert claim.row_id == row.id
    finally:
        await database.close()
