"""Sending: channel notifications through the outbox, follow-ups, and failures mapped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.messages import Field, Outgoing, OutgoingKind, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from bot.store.models import OutboxItem, OutboxStatus
from bot.web import PIPELINE
from connectors.discord.client import DiscordConnector, DiscordHTTP, nonce
from connectors.discord.protocol import RECEIVED_HINT, TOKEN_HINT
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord, error, rate_limited
from tests.fakes.discord_app import running_bot
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until

CHANNEL = "645027906669510667"
RUN_RESULT = Reply(
    title="acme/web#12: CI passed",
    status=Status.OK,
    paragraphs=("All 3 checks passed on 1a2b3c4.",),
    fields=(Field("duration", "4m 12s"),),
)
RUN_RESULT_PAYLOAD = {
    "embeds": [
        {
            "title": "acme/web\\#12: CI passed",
            "color": 0x2ECC71,
            "description": "All 3 checks passed on 1a2b3c4.",
            "fields": [{"name": "duration", "value": "4m 12s", "inline": False}],
        }
    ],
    "allowed_mentions": {"parse": [], "replied_user": False},
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with checked(FakeDiscord()) as fake:
        yield fake


@pytest.fixture
async def connector(fake: FakeDiscord) -> AsyncIterator[tuple[DiscordConnector, FakeClock]]:
    http = DiscordHTTP(fake.api_url)
    clock = FakeClock()
    try:
        yield (
            DiscordConnector(
                http,
                token=fake.token,
                application_id=fake.application_id,
                clock=clock,
                log=logging.getLogger("test"),
            ),
            clock,
        )
    finally:
        await http.close()


def notification(key: str = "run:42:channel") -> Outgoing:
    return Outgoing(
        target=ReplyTarget(platform=Platform.DISCORD, channel=CHANNEL), reply=RUN_RESULT, key=key
    )


def interaction_reply(clock: FakeClock, token: str = "TOKEN_A") -> Outgoing:
    target = ReplyTarget(
        platform=Platform.DISCORD,
        channel=CHANNEL,
        extra=((RECEIVED_HINT, clock.now().isoformat()), (TOKEN_HINT, token)),
    )
    return Outgoing(
        target=target,
        reply=RUN_RESULT,
        key="reply:inv1",
        invocation_id="inv1",
        kind=OutgoingKind.REPLY,
    )


async def test_a_run_result_reaches_its_channel_through_the_outbox(
    database_url: str, fake: FakeDiscord
) -> None:
    async with running_bot(database_url, fake, gateway=False) as bot:
        pipeline = bot.client.app[PIPELINE]
        await pipeline.outbox.enqueue(notification(), bot.clock.now())
        pipeline.outbox_wake.set()

        await wait_until(lambda: sent(1))

    assert fake.messages == [
        {
            "channel": CHANNEL,
            **RUN_RESULT_PAYLOAD,
            "nonce": nonce("run:42:channel"),
            "enforce_nonce": True,
        }
    ]


async def test_an_outage_is_retried_through_the_outbox_and_delivered_once(
    database_url: str, fake: FakeDiscord
) -> None:
    fake.answer_next(f"POST /channels/{CHANNEL}/messages", error(503, 0, "Service Unavailable"))
    async with running_bot(database_url, fake, gateway=False) as bot:
        pipeline = bot.client.app[PIPELINE]
        await pipeline.outbox.enqueue(notification(), bot.clock.now())
        pipeline.outbox_wake.set()

        async def failed_once() -> bool:
            row = await OutboxItem.get(key="run:42:channel")
            return row.attempts == 1 and row.status is OutboxStatus.PENDING

        await wait_until(failed_once)
        bot.clock.advance(1.0)  # past the backoff
        pipeline.outbox_wake.set()
        await wait_until(lambda: sent(1))
        row = await OutboxItem.get(key="run:42:channel")

    assert (row.attempts, len(fake.messages)) == (2, 1)
    assert len(fake.requests("POST", rf"/channels/{CHANNEL}/messages")) == 2


async def test_a_resent_message_after_a_lost_answer_is_not_posted_twice(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, _ = connector
    await sender.send(notification())
    await sender.send(notification())  # the first answer was lost; the outbox sends again

    assert len(fake.requests("POST", rf"/channels/{CHANNEL}/messages")) == 2
    assert len(fake.messages) == 1


async def test_the_reply_to_a_slash_command_edits_the_deferred_response(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, clock = connector
    fake.answered_over_http("1", "TOKEN_A", {"type": 5})

    await sender.send(interaction_reply(clock))
    later = interaction_reply(clock)
    await sender.send(Outgoing(target=later.target, reply=RUN_RESULT, key="run:42:inv1"))

    assert fake.originals == {"TOKEN_A": RUN_RESULT_PAYLOAD}
    assert fake.follow_ups == [RUN_RESULT_PAYLOAD]
    assert fake.messages == []


async def test_after_fifteen_minutes_the_reply_goes_to_the_channel(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, clock = connector
    fake.answered_over_http("1", "TOKEN_A", {"type": 5})
    message = interaction_reply(clock)
    clock.advance(timedelta(minutes=15).total_seconds())

    await sender.send(message)

    assert fake.originals == {}
    assert [m["channel"] for m in fake.messages] == [CHANNEL]


async def test_an_unknown_interaction_token_falls_back_to_the_channel(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, clock = connector

    await sender.send(interaction_reply(clock, token="NEVER_DEFERRED"))

    assert len(fake.requests("PATCH", r"/webhooks/\d+/NEVER_DEFERRED/messages/@original")) == 1
    assert [m["channel"] for m in fake.messages] == [CHANNEL]


async def test_an_acknowledgement_sends_nothing(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, _ = connector
    ack = Outgoing(
        target=ReplyTarget(platform=Platform.DISCORD, channel=CHANNEL, message="1"),
        reply=Reply(title=""),
        key="ack:1",
        kind=OutgoingKind.ACKNOWLEDGEMENT,
    )

    await sender.send(ack)

    assert fake.requests("POST", r"/channels/.*") == []


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (rate_limited(120.0), RateLimited("Discord rate limit: retry after 120s", 120.0)),
        (error(503, 0, "Service Unavailable"), DeliveryError("Discord 503: Service Unavailable")),
        (
            error(403, 50001, "Missing Access"),
            Undeliverable("Discord 403 (code 50001): Missing Access"),
        ),
        (
            error(404, 10003, "Unknown Channel"),
            Undeliverable("Discord 404 (code 10003): Unknown Channel"),
        ),
    ],
)
async def test_failures_map_to_the_outbox_errors(
    connector: tuple[DiscordConnector, FakeClock],
    fake: FakeDiscord,
    failure: object,
    expected: DeliveryError,
) -> None:
    sender, _ = connector
    fake.answer_next(f"POST /channels/{CHANNEL}/messages", failure)  # type: ignore[arg-type]

    with pytest.raises(DeliveryError) as raised:
        await sender.send(notification())

    assert (type(raised.value), raised.value.reason) == (type(expected), expected.reason)
    assert getattr(raised.value, "retry_after", None) == getattr(expected, "retry_after", None)
    assert fake.messages == []


async def test_a_short_rate_limit_is_waited_out_by_discord_py(
    connector: tuple[DiscordConnector, FakeClock], fake: FakeDiscord
) -> None:
    sender, _ = connector
    fake.answer_next(f"POST /channels/{CHANNEL}/messages", rate_limited(0.05))

    async with asyncio.timeout(5):
        await sender.send(notification())

    assert len(fake.requests("POST", rf"/channels/{CHANNEL}/messages")) == 2
    assert len(fake.messages) == 1


async def test_an_unreachable_discord_is_a_delivery_error(fake: FakeDiscord) -> None:
    http = DiscordHTTP("http://127.0.0.1:9/api/v10")
    sender = DiscordConnector(
        http, token="t", application_id="1", clock=FakeClock(), log=logging.getLogger("test")
    )
    try:
        with pytest.raises(DeliveryError) as raised:
            await sender.send(notification())
    finally:
        await http.close()

    assert type(raised.value) is DeliveryError
    assert raised.value.reason.startswith("Discord unreachable: ClientConnectorError")


async def sent(count: int) -> bool:
    return await OutboxItem.filter(status=OutboxStatus.SENT).count() == count
