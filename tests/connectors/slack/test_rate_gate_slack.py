"""Slack posts through the shared rate gate: two connectors ("replicas") on one database.

Each replica is a real ``SlackConnector`` with its own slack_sdk client and its own
``RateGate`` over the same store, posting to the fake Slack. The pacing test runs on the
real clock, since pacing is about real seconds at the fake; the rate-limit tests use a
fake clock that the gate's sleeps (and the test) move on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, SystemClock
from bot.messages import Outgoing, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import RateLimited
from bot.pipeline.rate_gate import RateGate
from bot.store.database import Database
from bot.store.gates import GateStore
from bot.store.state import StateStore
from connectors.slack.client import SlackConnector
from connectors.slack.render import render_reply
from connectors.slack.threads import ThreadSubjects
from tests.fakes.clock import FakeClock
from tests.fakes.server import Answer
from tests.fakes.slack import BOT_TOKEN, FakeSlack

CHANNEL = "C111"
OTHER_CHANNEL = "C222"
# less than a second apart only by how much sooner one request reached the fake than
# the one before it (loopback latency, well under 50 ms)
LOOPBACK = 0.05


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack
        slack.assert_no_violations()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class ClockSleep:
    """The gate's sleep on a fake clock: waiting moves the clock, not the test."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.clock.advance(seconds)


def replica(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    database: Database,
    clock: Clock,
    gate: RateGate,
) -> SlackConnector:
    """One replica's sender: its own Web API client and gate, the shared database."""
    web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, session=session, timeout=5)
    return SlackConnector(
        web,
        session=session,
        clock=clock,
        gate=gate,
        subjects=ThreadSubjects(StateStore()),
        timeout=5,
        log=logging.getLogger("test"),
    )


def fake_clock_replicas(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    database: Database,
    clock: FakeClock,
    spacing: float = 1.0,
) -> list[SlackConnector]:
    return [
        replica(
            fake,
            session,
            database,
            clock,
            RateGate(
                GateStore(database),
                clock,
                spacing=spacing,
                max_wait=5.0,
                sleep=ClockSleep(clock),
            ),
        )
        for _ in range(2)
    ]


def note(n: int, channel: str = CHANNEL) -> Outgoing:
    reply = Reply(title=f"notice {n}", status=Status.OK)
    return Outgoing(
        target=ReplyTarget(platform=Platform.SLACK, channel=channel), reply=reply, key=f"note:{n}"
    )


def posted(message: Outgoing) -> dict[str, object]:
    """What ``chat.postMessage`` receives for ``message``."""
    return {"channel": message.target.channel, **render_reply(message.reply).payload()}


async def test_posts_to_one_channel_from_two_replicas_are_a_second_apart(
    fake: FakeSlack, session: aiohttp.ClientSession, database: Database
) -> None:
    clock = SystemClock()
    replicas = [
        replica(
            fake,
            session,
            database,
            clock,
            RateGate(GateStore(database), clock, spacing=1.0, max_wait=5.0),
        )
        for _ in range(2)
    ]
    messages = [note(n) for n in range(3)]

    async with asyncio.timeout(10):
        await asyncio.gather(*(replicas[n % 2].send(message) for n, message in enumerate(messages)))

    calls = [c for c in fake.calls if c.method == "chat.postMessage"]
    arrived = sorted(c.arrived for c in calls)
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrived)]
    assert min(gaps) >= 1.0 - LOOPBACK, gaps
    assert sorted((c.args for c in calls), key=str) == sorted(map(posted, messages), key=str)


async def test_a_429_closes_the_channel_for_every_replica_until_its_retry_after(
    fake: FakeSlack, session: aiohttp.ClientSession, database: Database
) -> None:
    clock = FakeClock()
    first, second = fake_clock_replicas(fake, session, database, clock)
    fake.answer_next(
        "chat.postMessage",
        Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}),
    )

    with pytest.raises(RateLimited) as limited:
        await first.send(note(1))
    assert (limited.value.reason, limited.value.retry_after) == (
        "chat.postMessage: rate limited",
        30.0,
    )
    start = clock.now()

    def at(elapsed: float) -> None:
        clock.advance(elapsed - (clock.now() - start).total_seconds())

    # the other replica makes no call to that channel while the window lasts...
    for elapsed in (0.0, 10.0, 24.0):
        at(elapsed)
        with pytest.raises(RateLimited) as closed:
            await second.send(note(2))
        assert (closed.value.reason, closed.value.retry_after) == (
            "chat.postMessage: rate limited",
            30.0 - elapsed,
        )
    # ...while other channels are not held up
    await second.send(note(3, OTHER_CHANNEL))
    assert [c.args for c in fake.calls] == [posted(note(1)), posted(note(3, OTHER_CHANNEL))]

    # near the end of the window a post waits for it (the gate's sleep moves the clock),
    # and the next one goes a second later: both messages once each
    at(29.0)
    await second.send(note(2))
    assert clock.now() - start == timedelta(seconds=30)
    await first.send(note(1))
    assert clock.now() - start == timedelta(seconds=31)

    assert fake.calls_to("chat.postMessage") == [
        posted(note(1)),
        posted(note(3, OTHER_CHANNEL)),
        posted(note(2)),
        posted(note(1)),
    ]


async def test_a_response_url_429_closes_it_for_every_replica(
    fake: FakeSlack, session: aiohttp.ClientSession, database: Database
) -> None:
    clock = FakeClock()
    first, second = fake_clock_replicas(fake, session, database, clock, spacing=0.0)
    expires = (clock.now() + timedelta(minutes=29)).isoformat()
    target = ReplyTarget(
        platform=Platform.SLACK,
        channel=CHANNEL,
        extra=(("response_url", fake.response_url("r1")), ("response_url_expires", expires)),
    )
    reply = Reply(title="hello", status=Status.OK)
    messages = [Outgoing(target=target, reply=reply, key=f"reply:{n}") for n in (1, 2)]
    not_in_channel = Answer(200, {"ok": False, "error": "not_in_channel"})
    fake.answer_next("chat.postMessage", not_in_channel, not_in_channel, not_in_channel)
    fake.answer_next("response_url", Answer(429, "rate limited", {"Retry-After": "20"}))

    with pytest.raises(RateLimited):
        await first.send(messages[0])
    with pytest.raises(RateLimited) as closed:
        await second.send(messages[1])
    assert (closed.value.reason, closed.value.retry_after) == ("response_url: rate limited", 20.0)
    assert len(fake.responses) == 1  # only the first replica's, answered 429

    clock.advance(20)
    await second.send(messages[1])

    body = {"response_type": "in_channel", **render_reply(reply).payload()}
    assert fake.responses == [("r1", body), ("r1", body)]
    assert fake.calls_to("chat.postMessage") == [posted(messages[0])] * 3
