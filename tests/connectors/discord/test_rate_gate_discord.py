"""Discord sends through the shared rate gate: two connectors ("replicas") on one database.

Each replica is a real ``DiscordConnector`` on its own discord.py client (``DiscordHTTP``)
with its own ``RateGate`` over the same store, sending to the fake Discord. Long windows
(beyond what discord.py waits out itself) use a fake clock that the test moves; the short
window that discord.py sleeps through runs on the real clock, since that sleep is real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime

import pytest

from bot.clock import Clock, SystemClock
from bot.messages import Outgoing, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import RateLimited
from bot.pipeline.rate_gate import RateGate
from bot.store.database import Database
from bot.store.gates import GateStore
from bot.store.models import RateGate as GateRow
from connectors.discord.client import DiscordConnector, DiscordHTTP, nonce
from connectors.discord.gate import DiscordGate, gate_scope
from connectors.discord.render import render_message
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord, globally_rate_limited, rate_limited
from tests.fakes.server import checked
from tests.fakes.waiting import wait_until

CHANNEL = "645027906669510667"
OTHER_CHANNEL = "645027906669510668"
MESSAGES = r"/channels/\d+/messages"
BUCKET = "80c17d2f203122d936070c88c8d10f33"
LOOPBACK = 0.05  # how much sooner one request may reach the fake than the one before


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with checked(FakeDiscord()) as fake:
        fake.set_bucket("POST", MESSAGES, BUCKET)
        yield fake


@asynccontextmanager
async def replicas(
    fake: FakeDiscord, database: Database, clock: Clock
) -> AsyncIterator[list[DiscordConnector]]:
    """Two senders, each with its own discord.py client and gate, on one database."""
    async with AsyncExitStack() as stack:
        connectors = []
        for _ in range(2):
            gate = RateGate(GateStore(database), clock, spacing=0.0, max_wait=5.0)
            http = DiscordHTTP(fake.api_url, gate=DiscordGate(gate, gate_scope(fake.token)))
            stack.push_async_callback(http.close)
            connectors.append(
                DiscordConnector(
                    http,
                    token=fake.token,
                    application_id=fake.application_id,
                    clock=clock,
                    log=logging.getLogger("test"),
                )
            )
        yield connectors


def note(n: int, channel: str = CHANNEL) -> Outgoing:
    reply = Reply(title=f"notice {n}", status=Status.OK)
    return Outgoing(
        target=ReplyTarget(platform=Platform.DISCORD, channel=channel), reply=reply, key=f"n:{n}"
    )


def created(message: Outgoing) -> dict[str, object]:
    """The channel message Discord holds for ``message``."""
    return {
        "channel": message.target.channel,
        **render_message(message.reply),
        "nonce": nonce(message.key),
        "enforce_nonce": True,
    }


def at(clock: FakeClock, start: datetime, elapsed: float) -> None:
    """Move ``clock`` to ``elapsed`` seconds after ``start``."""
    clock.advance(elapsed - (clock.now() - start).total_seconds())


async def test_a_429_closes_the_bucket_for_every_replica_until_its_retry_after(
    fake: FakeDiscord, database: Database
) -> None:
    clock = FakeClock()
    async with replicas(fake, database, clock) as (first, second):
        await first.send(note(1))  # the first learns the route's bucket
        fake.answer_next("POST /channels/*/messages", rate_limited(60.0))

        with pytest.raises(RateLimited) as limited:
            await first.send(note(2))
        assert limited.value.retry_after == 60.0
        start = clock.now()
        # the second replica, which never sent and so knows no bucket, makes no call...
        for elapsed in (0.0, 30.0, 54.0):
            at(clock, start, elapsed)
            with pytest.raises(RateLimited) as closed:
                await second.send(note(3))
            assert (closed.value.reason, closed.value.retry_after) == (
                "Discord rate limit on POST /channels/{channel_id}/messages: retry after 60s",
                60.0 - elapsed,
            )
        # ...to that channel, while another channel is not held up
        await second.send(note(4, OTHER_CHANNEL))
        assert [c.path for c in fake.requests("POST", MESSAGES)] == [
            f"/channels/{CHANNEL}/messages",
            f"/channels/{CHANNEL}/messages",
            f"/channels/{OTHER_CHANNEL}/messages",
        ]

        at(clock, start, 60.0)  # the window is over: each message goes once
        await second.send(note(3))
        await first.send(note(2))

    assert fake.messages == [
        created(note(1)),
        created(note(4, OTHER_CHANNEL)),
        created(note(3)),
        created(note(2)),
    ]


async def test_a_global_429_stops_every_route_of_every_replica(
    fake: FakeDiscord, database: Database
) -> None:
    clock = FakeClock()
    async with replicas(fake, database, clock) as (first, second):
        fake.answer_next("POST /channels/*/messages", globally_rate_limited(45.0))

        with pytest.raises(RateLimited):
            await first.send(note(1))
        with pytest.raises(RateLimited) as closed:
            await second.send(note(2, OTHER_CHANNEL))
        assert (closed.value.reason, closed.value.retry_after) == (
            "Discord's global rate limit: retry after 45s",
            45.0,
        )
        assert len(fake.requests("POST", MESSAGES)) == 1

        clock.advance(45)
        await second.send(note(2, OTHER_CHANNEL))
        await first.send(note(1))

    assert fake.messages == [created(note(2, OTHER_CHANNEL)), created(note(1))]


async def test_a_short_429_is_waited_out_by_both_replicas_without_a_call_in_the_window(
    fake: FakeDiscord, database: Database
) -> None:
    # discord.py sleeps through a 429 this short and tries again itself; the other
    # replica's gate waits for the same window instead of calling
    async with replicas(fake, database, SystemClock()) as (first, second):
        fake.answer_next("POST /channels/*/messages", rate_limited(0.5))

        async with asyncio.timeout(10):
            sending = asyncio.create_task(first.send(note(1)))
            # the 429 is in the shared store (not only answered) before the other sends
            await wait_until(_gate_blocked)
            await second.send(note(2))
            await sending

    calls = fake.requests("POST", MESSAGES)
    nonces = [c.body["nonce"] for c in calls]
    assert (nonces[0], sorted(nonces[1:])) == (nonce("n:1"), sorted([nonce("n:1"), nonce("n:2")]))
    window_end = calls[0].arrived + 0.5
    assert min(c.arrived for c in calls[1:]) >= window_end - LOOPBACK
    assert sorted(fake.messages, key=str) == sorted([created(note(1)), created(note(2))], key=str)


async def _gate_blocked() -> bool:
    return await GateRow.filter(blocked_until_ms__gt=0).exists()
