"""The gateway end to end: the real discord.py client against the fake Discord."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.app import builtin_commands
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from connectors.discord.client import nonce
from connectors.discord.definitions import SlashCommands
from tests.fakes.discord import (
    FakeDiscord,
    interaction_payload,
    message_payload,
    slash_data,
)
from tests.fakes.discord_app import GUILD, RunningBot, running_bot
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until
from tests.snapshot import Snapshot

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
    async with checked(FakeDiscord()) as fake:
        yield fake


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


def mention(fake: FakeDiscord) -> dict[str, object]:
    return {"id": fake.bot_user_id, "username": "chatops", "discriminator": "0", "avatar": None}


async def messages_sent(fake: FakeDiscord, count: int) -> None:
    async def sent() -> bool:
        return len(fake.messages) >= count

    await wait_until(sent)


async def test_identify_asks_only_for_guilds_guild_messages_and_direct_messages(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    async with asyncio.timeout(10):
        await fake.ready.wait()

    assert [identify["intents"] for identify in fake.identifies] == [1 | 1 << 9 | 1 << 12]
    assert [call.path for call in fake.requests("GET", "/gateway/bot")] == ["/gateway/bot"]


async def test_slash_command_is_registered_in_the_configured_guild(
    bot: RunningBot, fake: FakeDiscord, snapshot: Snapshot
) -> None:
    assert fake.commands == {
        GUILD: [SlashCommands.build("chatops", builtin_commands()).definition()]
    }
    snapshot.check_json("discord_slash_command_options.json", fake.commands[GUILD][0]["options"])


async def test_a_mention_with_ping_gets_one_reply_to_that_message(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    message = message_payload(
        message_id="334385199974967042",
        content=f"<@{fake.bot_user_id}> ping",
        mentions=[mention(fake)],
    )
    await fake.dispatch("MESSAGE_CREATE", message)
    await messages_sent(fake, 1)

    assert fake.messages == [
        {
            "channel": "290926798999357250",
            **PONG,
            "nonce": nonce("reply:" + await only_invocation_id(bot)),
            "enforce_nonce": True,
            "message_reference": {"message_id": "334385199974967042", "fail_if_not_exists": False},
        }
    ]


async def test_echoed_everyone_is_escaped_and_posted_with_no_mentions_allowed(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    message = message_payload(
        message_id="334385199974967043",
        content=f"<@{fake.bot_user_id}> @everyone",
        mentions=[mention(fake)],
    )
    await fake.dispatch("MESSAGE_CREATE", message)
    await messages_sent(fake, 1)

    sent = fake.messages[0]
    assert sent["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert sent["embeds"] == [
        {
            "title": "Unknown command: @\u200beveryone",
            "color": 0xE74C3C,
            "description": "Say `help` to see the commands you can run here.",
        }
    ]


async def test_messages_from_bots_and_without_a_mention_are_not_commands(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    await fake.dispatch(
        "MESSAGE_CREATE",
        message_payload(message_id="1", content="ping", mentions=[]),
    )
    await fake.dispatch(
        "MESSAGE_CREATE",
        message_payload(
            message_id="2",
            content=f"<@{fake.bot_user_id}> ping",
            mentions=[mention(fake)],
            bot_author=True,
        ),
    )
    await fake.dispatch(
        "MESSAGE_CREATE",
        message_payload(
            message_id="3", content=f"<@{fake.bot_user_id}> ping", mentions=[mention(fake)]
        ),
    )
    await messages_sent(fake, 1)

    assert [m["message_reference"]["message_id"] for m in fake.messages] == ["3"]
    assert await InboxItem.all().values_list("delivery_key", flat=True) == ["discord:message:3"]


async def test_a_redelivered_interaction_is_answered_once(
    bot: RunningBot, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatops")
    payload = interaction_payload(
        interaction_id="786008729715212339",
        token="TOKEN_TWICE",
        application_id=fake.application_id,
        data=slash_data("chatops", "ping"),
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    await fake.dispatch("INTERACTION_CREATE", payload)  # a resumed session replays it

    async def both_handled() -> bool:
        sent = await OutboxItem.filter(status=OutboxStatus.SENT).count()
        return sent == 1 and "duplicate delivery ignored" in caplog.messages

    await wait_until(both_handled)
    assert len(fake.requests("POST", r"/interactions/\d+/TOKEN_TWICE/callback")) == 2
    assert len(fake.requests("PATCH", r"/webhooks/\d+/TOKEN_TWICE/messages/@original")) == 1
    assert await InboxItem.all().count() == 1


async def test_slash_options_reach_the_command_as_typed_arguments(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    payload = interaction_payload(
        interaction_id="786008729715212340",
        token="TOKEN_HELP",
        application_id=fake.application_id,
        data=slash_data("chatops", "help", command="ping"),
    )
    await fake.dispatch("INTERACTION_CREATE", payload)

    async def answered() -> bool:
        return "TOKEN_HELP" in fake.originals

    await wait_until(answered)
    assert fake.originals["TOKEN_HELP"]["embeds"][0]["title"] == "help: ping"
    assert fake.originals["TOKEN_HELP"]["embeds"][0]["description"] == (
        "Check that the bot is up; shows its version and uptime.\n\nNeeds read access."
    )


async def test_a_dropped_gateway_connection_is_resumed(bot: RunningBot, fake: FakeDiscord) -> None:
    async with asyncio.timeout(10):
        await fake.ready.wait()
    await fake.drop_gateway()

    async def back() -> bool:
        return fake.gateway_connections == 2 and fake.ready.is_set()

    await wait_until(back)
    message = message_payload(
        message_id="334385199974967044",
        content=f"<@{fake.bot_user_id}> ping",
        mentions=[mention(fake)],
    )
    await fake.dispatch("MESSAGE_CREATE", message)
    await messages_sent(fake, 1)
    assert fake.messages[0]["message_reference"]["message_id"] == "334385199974967044"


async def only_invocation_id(bot: RunningBot) -> str:
    rows = await InboxItem.all()
    assert len(rows) == 1
    return str(rows[0].invocation["id"])


async def test_an_out_of_date_or_foreign_slash_command_gets_an_ephemeral_answer(
    bot: RunningBot, fake: FakeDiscord
) -> None:
    stale = interaction_payload(
        interaction_id="786008729715212350",
        token="TOKEN_STALE",
        application_id=fake.application_id,
        data=slash_data("chatops", "ping", loud=True),
    )
    foreign = interaction_payload(
        interaction_id="786008729715212351",
        token="TOKEN_FOREIGN",
        application_id=fake.application_id,
        data=slash_data("cardsearch", "cards"),
    )
    await fake.dispatch("INTERACTION_CREATE", stale)
    await fake.dispatch("INTERACTION_CREATE", foreign)

    async def both_answered() -> bool:
        return len(fake.callbacks) == 2

    await wait_until(both_answered)
    none = {"parse": [], "replied_user": False}
    assert fake.callbacks == {
        "786008729715212350": {
            "type": 4,
            "data": {
                "content": "The slash command is out of date \\(unknown option loud for ping\\); "
                "try again shortly.",
                "flags": 64,
                "allowed_mentions": none,
            },
        },
        "786008729715212351": {
            "type": 4,
            "data": {
                "content": "This bot does not handle that interaction.",
                "flags": 64,
                "allowed_mentions": none,
            },
        },
    }
    assert await InboxItem.all().count() == 0
