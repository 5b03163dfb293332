"""The gateway end to end: the real discord.py client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.discord import FakeDiscord, interaction_payload, running_fake, slash_data
from tests.fakes.discord_app import RunningBot, running_bot
from tests.fakes.waiting import wait_until


PONG = {
    "embeds": [
        {
            "title": "pong",
            "color": 0x2ECC71,
            "fields": [
                {"name": "version", "value": "0.1.0", "inline": False},
                {"name": "uptime", "value": "0s", "inline": False},
            ],
        }
    ],
    "allowed_mentions": {"parse": [], "replied_user": False},
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake() as fake:
        yield fake
        assert fake.unexpected == []
        assert fake.invalid == []


@pytest.fixture
async def bot(database_url: str, fake: FakeDiscord) -> AsyncIterator[RunningBot]:
    async with running_bot(database_url, fake) as bot:
        yield bot


async def test_slash_ping_is_deferred_then_answered_with_one_pong_embed(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    payload = interaction_payload(
        interaction_id="786008729715212338",
        token="A_UNIQUE_TOKEN",
        application_id=fake.application_id,
        data=slash_data("chatops", "ping"),
    )
    await fake.dispatch("INTERACTION_CREATE", payload)

    async def answered() -> bool:
        return "A_UNIQUE_TOKEN" in fake.originals

    await wait_until(answered)
    assert fake.callbacks == {"786008729715212338": {"type": 5}}
    assert fake.originals == {"A_UNIQUE_TOKEN": PONG}
    assert fake.follow_ups == []
    assert fake.messages == []
