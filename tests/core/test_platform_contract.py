"""The platform contract (``bot.platforms``), held by a small platform written here.

``Loopback`` is what a fifth platform would be, reduced to the contract: built without
I/O, started on the ``PlatformHost`` the composition root gives it, and providing a
connector, an authorizer, a route, a readiness check and a scheduled job. It stands in
for Slack (the platform values are a closed set). Its route takes a line of text as a
command; its "socket" submits one command as soon as the intake opens, as Slack's Socket
Mode and Discord's gateway do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.arguments import NoArgs
from bot.config import Config, DatabaseSettings, WorkerSettings
from bot.context import Context
from bot.features import commands_feature
from bot.messages import (
    Actor,
    Invocation,
    Level,
    Outgoing,
    OutgoingKind,
    Platform,
    Reply,
    ReplyTarget,
    Target,
)
from bot.parts import Route, ScheduledJob
from bot.platforms import PlatformHost, PlatformParts, StartupError
from bot.router import Command
from bot.web import CONFIG, DATABASE, HTTP, REGISTRY
from tests.core.test_web import migrated
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.waiting import wait_until


class TeamAuthorizer:
    """Everyone on the loopback platform may write."""

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        return Level.WRITE


@dataclass
class Loopback:
    """A platform reduced to the contract; it records what the host gave it."""

    refuse: str | None = None  # start-up fails with this reason
    connector: RecordingConnector = field(
        default_factory=lambda: RecordingConnector(Platform.SLACK)
    )
    hosts: list[PlatformHost] = field(default_factory=list)
    closed: bool = False
    down: str | None = None  # what readiness reports

    @property
    def platform(self) -> Platform:
        return Platform.SLACK

    @asynccontextmanager
    async def start(self, host: PlatformHost) -> AsyncIterator[PlatformParts]:
        if self.refuse is not None:
            raise StartupError(self.refuse)
        self.hosts.append(host)

        async def receive(request: web.Request) -> web.Response:
            line = await request.text()
            stored = await host.intake.submit(invocation(line, f"http:{line}", host))
            return web.json_response({"stored": stored}, status=202)

        async def readiness() -> str | None:
            return self.down

        async def nothing() -> None:
            return None

        async def socket() -> None:
            await host.intake.opened()
            await host.intake.submit(invocation("deploy", "socket:first", host))

        connecting = asyncio.create_task(socket())
        try:
            yield PlatformParts(
                connector=self.connector,
                authorizer=TeamAuthorizer(),
                routes=(Route("POST", "/loopback", receive),),
                readiness=readiness,
                jobs=(ScheduledJob(name="loopback-sweep", cron="0 * * * *", run=nothing),),
            )
        finally:
            connecting.cancel()  # a no-op once it has submitted; else the intake never opened
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            self.closed = True


def invocation(line: str, key: str, host: PlatformHost) -> Invocation:
    return Invocation(
        id=key,
        platform=Platform.SLACK,
        actor=Actor(platform=Platform.SLACK, id="U1", name="someone"),
        text=line,
        reply_to=ReplyTarget(platform=Platform.SLACK, channel="C1"),
        delivery_key=key,
        received_at=host.clock.now(),
    )


async def deploy(_ctx: Context, _args: NoArgs) -> Reply:
    return Reply(title="deployed")


DEPLOY = Command("deploy", "Needs write.", deploy, NoArgs, level=Level.WRITE)


def app_for(database_url: str, *platforms: Loopback) -> web.Application:
    config = Config(
        database=DatabaseSettings(url=database_url), workers=WorkerSettings(poll_interval=0.01)
    )
    return create_app(
        config,
        features=[commands_feature("tests", [DEPLOY])],
        integrations=platforms,
        clock=FakeClock(),
        log=logging.getLogger("chatops"),
    )


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    await migrated(database_url)
    return database_url


async def test_a_platform_gets_its_host_and_what_it_provides_is_served(
    migrated_url: str,
) -> None:
    platform = Loopback()
    app = app_for(migrated_url, platform)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        [host] = platform.hosts
        assert host.log.name == "chatops.slack"
        assert (host.config, host.database, host.http) == (
            app[CONFIG],
            app[DATABASE],
            app[HTTP],
        )
        assert host.ci_events is None  # no feature of this app follows CI
        # what the "socket" submitted once the intake opened was stored and answered
        await wait_until(lambda: len(platform.connector.sent) == 1)

        response = await client.post("/loopback", data="deploy")
        assert (response.status, await response.json()) == (202, {"stored": True})
        await wait_until(lambda: len(platform.connector.sent) == 2)
        # the platform's authorizer granted write: each command ran and answered in place
        assert platform.connector.sent == [
            Outgoing(
                target=ReplyTarget(platform=Platform.SLACK, channel="C1"),
                reply=Reply(title="deployed"),
                key=f"reply:{key}",
                invocation_id=key,
                kind=OutgoingKind.REPLY,
            )
            for key in ("socket:first", "http:deploy")
        ]

        assert [job.name for job in app[REGISTRY].jobs] == ["loopback-sweep"]
        platform.down = "socket not connected"
        ready = await client.get("/readyz")
        assert (ready.status, (await ready.json())["problems"]) == (
            503,
            ["slack: socket not connected"],
        )
        assert not platform.closed
    assert platform.closed


async def test_a_platform_that_cannot_start_stops_the_start_and_closes_the_others(
    migrated_url: str,
) -> None:
    started = Loopback()
    app = app_for(migrated_url, started, Loopback(refuse="no token configured"))
    server = TestServer(app, host="127.0.0.1", port=0)
    with pytest.raises(StartupError) as caught:
        await server.start_server()
    await server.close()
    assert (str(caught.value), len(started.hosts), started.closed) == (
        "no token configured",
        1,
        True,
    )
