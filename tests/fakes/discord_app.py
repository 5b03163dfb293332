"""The application with the Discord integration, running against a ``FakeDiscord``.

``running_bot`` starts the real aiohttp application (database, pipeline, workers, the
Discord integration) on 127.0.0.1, port 0, with a fake clock, and stops it afterwards.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from nacl.signing import SigningKey

from bot.app import builtin_commands, create_app
from bot.config import Config, DatabaseSettings, OutboxSettings, Secret, WorkerSettings
from bot.config.platforms.discord import DiscordSettings
from bot.store.database import open_database
from connectors.discord.integration import DiscordIntegration, DiscordRuntime
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord

GUILD = "290926798626357999"
SIGNING_KEY = SigningKey(bytes(range(32)))  # a fixed test key; Discord holds the real one
PUBLIC_KEY = SIGNING_KEY.verify_key.encode().hex()


def discord_settings(fake: FakeDiscord, **overrides: Any) -> DiscordSettings:
    settings = DiscordSettings(
        enabled=True,
        bot_token=Secret("env:DISCORD_BOT_TOKEN", fake.token),
        application_id=fake.application_id,
        api_url=fake.api_url,
        guild_ids=(GUILD,),
        gateway_lease_seconds=0.3,
        public_key=PUBLIC_KEY,
    )
    return replace(settings, **overrides)


def bot_config(database_url: str, settings: DiscordSettings) -> Config:
    return Config(
        database=DatabaseSettings(url=database_url),
        workers=WorkerSettings(poll_interval=0.01),
        outbox=OutboxSettings(backoff_base=0.01, backoff_cap=0.05),
        discord=settings,
    )


async def migrate(database_url: str) -> None:
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    await database.close()


@dataclass
class RunningBot:
    client: TestClient[Any, Any]
    fake: FakeDiscord
    clock: FakeClock
    integration: DiscordIntegration

    @property
    def runtime(self) -> DiscordRuntime:
        assert self.integration.runtime is not None, "the Discord integration is not running"
        return self.integration.runtime

    async def post_interaction(
        self,
        payload: dict[str, Any],
        *,
        timestamp: int | None = None,
        key: SigningKey = SIGNING_KEY,
    ) -> ClientResponse:
        body = json.dumps(payload).encode()
        sent_at = str(timestamp if timestamp is not None else int(self.clock.now().timestamp()))
        signature = key.sign(sent_at.encode() + body).signature.hex()
        return await self.client.post(
            "/discord/interactions",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Signature-Ed25519": signature,
                "X-Signature-Timestamp": sent_at,
            },
        )


@asynccontextmanager
async def running_bot(
    database_url: str,
    fake: FakeDiscord,
    *,
    migrated: bool = False,
    holder: str | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    if not migrated:
        await migrate(database_url)
    settings = discord_settings(fake, **overrides)
    clock = FakeClock()
    config = bot_config(database_url, settings)
    integration = DiscordIntegration(config.discord, builtin_commands(), holder=holder)
    app = create_app(config, integrations=[integration], clock=clock)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield RunningBot(client=client, fake=fake, clock=clock, integration=integration)


def create_discord_app(config: Config, clock: FakeClock, holder: str | None) -> web.Application:
    """The application with only the Discord integration, not yet started."""
    integration = DiscordIntegration(config.discord, builtin_commands(), holder=holder)
    return create_app(config, integrations=[integration], clock=clock)
