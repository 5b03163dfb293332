"""Start-up: a refused token stops the bot; an unreachable Discord does not."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Secret
from connectors.discord.integration import DiscordStartupError
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_app import bot_config, create_discord_app, discord_settings, migrate


async def test_a_token_discord_refuses_stops_the_start(database_url: str) -> None:
    await migrate(database_url)
    async with FakeDiscord() as fake:
        settings = dataclasses.replace(
            discord_settings(fake), bot_token=Secret("env:DISCORD_BOT_TOKEN", "wrong")
        )
        app = create_discord_app(bot_config(database_url, settings), FakeClock(), None)

        server = TestServer(app, host="127.0.0.1", port=0)
        with pytest.raises(DiscordStartupError, match=r"Discord refused \[discord\] bot_token"):
            await server.start_server()
        await app.cleanup()  # aiohttp leaves the contexts already entered to the caller
        await server.close()

        assert [call.path for call in fake.calls] == ["/users/@me"]


async def test_an_unreachable_discord_does_not_stop_the_start(database_url: str) -> None:
    await migrate(database_url)
    async with FakeDiscord() as fake:
        settings = discord_settings(fake, api_url="http://127.0.0.1:9/api/v10", gateway=False)
    app = create_discord_app(bot_config(database_url, settings), FakeClock(), None)

    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        ready = await client.get("/readyz")

        assert (ready.status, await ready.json()) == (200, {"status": "ready"})
