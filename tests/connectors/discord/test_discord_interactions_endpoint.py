"""POST /discord/interactions: Ed25519 signatures, PING, and slash commands over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nacl.signing import SigningKey

from bot.store.models import InboxItem
from tests.fakes.discord import FakeDiscord, interaction_payload, slash_data
from tests.fakes.discord_app import SIGNING_KEY, RunningBot, running_bot
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until

PING = {"id": "1", "application_id": "775799577604522054", "type": 1, "token": "t", "version": 1}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with checked(FakeDiscord()) as fake:
        yield fake


@pytest.fixture
async def bot(database_url: str, fake: FakeDiscord) -> AsyncIterator[RunningBot]:
    async with running_bot(database_url, fake, gateway=False) as bot:
        yield bot


async def test_ping_is_answered_with_pong(bot: RunningBot) -> None:
    response = await bot.post_interaction(PING)

    assert (response.status, await response.json()) == (200, {"type": 1})


async def test_a_bad_signature_is_refused_with_401_and_nothing_happens(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    forged = SigningKey(bytes(32))  # not the application's key
    payload = command("786008729715212341", "TOKEN_FORGED", fake)

    response = await bot.post_interaction(payload, key=forged)

    assert (response.status, await response.json()) == (401, {"error": "invalid request signature"})
    assert await InboxItem.all().count() == 0
    assert fake.requests("POST", r"/interactions/.*") == []
    assert fake.requests("PATCH", r"/webhooks/.*") == []


async def test_a_stale_or_unsigned_request_is_refused(bot: RunningBot, fake: FakeDiscord) -> None:
    stale = int(bot.clock.now().timestamp()) - 301
    old = await bot.post_interaction(PING, timestamp=stale)
    unsigned = await bot.client.post("/discord/interactions", json=PING)
    garbled = await bot.client.post(
        "/discord/interactions",
        json=PING,
        headers={"X-Signature-Ed25519": "zz", "X-Signature-Timestamp": "now"},
    )

    assert [old.status, unsigned.status, garbled.status] == [401, 401, 401]
    assert await InboxItem.all().count() == 0


async def test_a_slash_command_is_deferred_in_the_response_then_answered(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    payload = command("786008729715212342", "TOKEN_HTTP", fake)

    response = await bot.post_interaction(payload)
    fake.answered_over_http("786008729715212342", "TOKEN_HTTP", await response.json())

    assert (response.status, await response.json()) == (200, {"type": 5})

    async def answered() -> bool:
        return "TOKEN_HTTP" in fake.originals

    await wait_until(answered)
    assert fake.originals["TOKEN_HTTP"]["embeds"][0]["title"] == "pong"
    assert await InboxItem.all().values_list("delivery_key", flat=True) == [
        "discord:interaction:786008729715212342"
    ]


async def test_an_unknown_option_gets_an_immediate_ephemeral_answer(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    payload = interaction_payload(
        interaction_id="786008729715212343",
        token="TOKEN_OLD",
        application_id=fake.application_id,
        data=slash_data("chatops", "ping", loud=True),
    )

    response = await bot.post_interaction(payload)

    assert await response.json() == {
        "type": 4,
        "data": {
            "content": "The slash command is out of date \\(unknown option loud for ping\\); "
            "try again shortly.",
            "flags": 64,
            "allowed_mentions": {"parse": [], "replied_user": False},
        },
    }
    assert await InboxItem.all().count() == 0


async def test_not_json_is_a_400(bot: RunningBot) -> None:
    body = b"not json"
    sent_at = str(int(bot.clock.now().timestamp()))
    signature = SIGNING_KEY.sign(sent_at.encode() + body).signature.hex()
    response = await bot.client.post(
        "/discord/interactions",
        data=body,
        headers={"X-Signature-Ed25519": signature, "X-Signature-Timestamp": sent_at},
    )

    assert (response.status, await response.json()) == (
        400,
        {"error": "expected an interaction object"},
    )


def command(interaction_id: str, token: str, fake: FakeDiscord) -> dict[str, object]:
    return interaction_payload(
        interaction_id=interaction_id,
        token=token,
        application_id=fake.application_id,
        data=slash_data("chatops", "ping"),
    )


async def test_autocomplete_gets_no_choices_and_foreign_commands_an_ephemeral_answer(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    autocomplete = {**command("786008729715212344", "TOKEN_AUTO", fake), "type": 4}
    foreign = interaction_payload(
        interaction_id="786008729715212345",
        token="TOKEN_FOREIGN",
        application_id=fake.application_id,
        data=slash_data("cardsearch", "cards"),
    )

    completed = await bot.post_interaction(autocomplete)
    refused = await bot.post_interaction(foreign)

    assert await completed.json() == {"type": 8, "data": {"choices": []}}
    assert await refused.json() == {
        "type": 4,
        "data": {
            "content": "This bot does not handle that interaction.",
            "flags": 64,
            "allowed_mentions": {"parse": [], "replied_user": False},
        },
    }
    assert await InboxItem.all().count() == 0
