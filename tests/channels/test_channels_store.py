"""Subscriptions and channel defaults, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.channels.models import ChannelDefault, Subscription
from bot.channels.store import ChannelDefaults, DefaultRepo, Subscriber, Subscriptions, Topic
from bot.messages import Forge, Platform, ReplyTarget
from bot.store.database import Database
from tests.fakes.clock import FakeClock

# a mention in a Slack thread: the subscription is for the channel, without thread or hints
ASKED_IN_A_THREAD = ReplyTarget(
    platform=Platform.SLACK,
    channel="C1",
    thread="1700000000.000100",
    message="1700000000.000200",
    extra=(("response_url", "https://hooks.slack.test/1"),),
)
C1 = ReplyTarget(platform=Platform.SLACK, channel="C1")
C2 = ReplyTarget(platform=Platform.SLACK, channel="C2")
DISCORD = ReplyTarget(platform=Platform.DISCORD, channel="C1")


async def test_subscribing_again_changes_the_topics_of_the_one_subscription(
    database: Database,
) -> None:
    clock, subscriptions = FakeClock(), Subscriptions()
    first, previous = await subscriptions.subscribe(
        ASKED_IN_A_THREAD, Forge.GITHUB, "Acme/Web", Topic.RUNS, by="ana", now=clock.now()
    )
    created_at = clock.now()
    clock.advance(60)
    again, kept = await subscriptions.subscribe(
        C1, Forge.GITHUB, "acme/web", Topic.RUNS, by="bo", now=clock.now()
    )
    changed, before = await subscriptions.subscribe(
        C1, Forge.GITHUB, "ACME/WEB", Topic.ALL, by="bo", now=clock.now()
    )

    expected = Subscriber(
        id=first.id,
        forge=Forge.GITHUB,
        repo="acme/web",
        topics=Topic.RUNS,
        target=C1,
        created_by="ana",
        created_at=created_at,
    )
    assert (first, previous) == (expected, None)
    assert (again, kept) == (expected, Topic.RUNS)
    assert (changed, before) == (dataclasses.replace(expected, topics=Topic.ALL), Topic.RUNS)
    assert await subscriptions.of_channel(C1) == [changed]
    assert await Subscription.all().count() == 1


async def test_for_repo_lists_the_channels_that_want_a_topic(database: Database) -> None:
    clock, subscriptions = FakeClock(), Subscriptions()
    runs, _ = await subscriptions.subscribe(
        C1, Forge.GITHUB, "acme/web", Topic.RUNS, "a", clock.now()
    )
    alerts, _ = await subscriptions.subscribe(
        C2, Forge.GITHUB, "acme/web", Topic.ALERTS, "a", clock.now()
    )
    both, _ = await subscriptions.subscribe(
        DISCORD, Forge.GITHUB, "acme/web", Topic.ALL, "a", clock.now()
    )
    await subscriptions.subscribe(C1, Forge.GITLAB, "acme/web", Topic.ALL, "a", clock.now())
    await subscriptions.subscribe(C1, Forge.GITHUB, "acme/api", Topic.ALL, "a", clock.now())

    assert await subscriptions.for_repo(Forge.GITHUB, "ACME/web", Topic.RUNS) == [runs, both]
    assert await subscriptions.for_repo(Forge.GITHUB, "acme/web", Topic.ALERTS) == [alerts, both]
    assert await subscriptions.for_repo(Forge.GITHUB, "acme/other", Topic.RUNS) == []
    assert [(s.forge, s.repo) for s in await subscriptions.of_channel(C1)] == [
        (Forge.GITHUB, "acme/api"),
        (Forge.GITHUB, "acme/web"),
        (Forge.GITLAB, "acme/web"),
    ]


async def test_unsubscribe_removes_only_that_channels_subscription(database: Database) -> None:
    clock, subscriptions = FakeClock(), Subscriptions()
    await subscriptions.subscribe(C1, Forge.GITHUB, "acme/web", Topic.ALL, "a", clock.now())
    kept, _ = await subscriptions.subscribe(
        C2, Forge.GITHUB, "acme/web", Topic.ALL, "a", clock.now()
    )

    assert await subscriptions.unsubscribe(ASKED_IN_A_THREAD, Forge.GITHUB, "ACME/Web") is True
    assert await subscriptions.unsubscribe(C1, Forge.GITHUB, "acme/web") is False
    assert await subscriptions.of_channel(C1) == []
    assert await subscriptions.for_repo(Forge.GITHUB, "acme/web", Topic.RUNS) == [kept]


async def test_racing_subscribes_leave_one_subscription(database: Database) -> None:
    clock, subscriptions = FakeClock(), Subscriptions()
    results = await asyncio.gather(
        *(
            subscriptions.subscribe(C1, Forge.GITHUB, "acme/web", Topic.ALL, f"u{i}", clock.now())
            for i in range(6)
        )
    )

    assert [previous for _, previous in results].count(None) == 1
    assert len({subscriber.id for subscriber, _ in results}) == 1
    assert await Subscription.all().count() == 1


async def test_channel_default_is_set_replaced_and_cleared(database: Database) -> None:
    clock, defaults = FakeClock(), ChannelDefaults()
    first_set = clock.now()

    assert await defaults.get(Platform.SLACK, "C1") is None
    assert (
        await defaults.set(Platform.SLACK, "C1", Forge.GITHUB, "Acme/Web", "ana", first_set) is None
    )
    clock.advance(60)
    replaced = await defaults.set(Platform.SLACK, "C1", Forge.GITLAB, "g/p", "bo", clock.now())
    await defaults.set(Platform.DISCORD, "C1", Forge.GITHUB, "acme/api", "cy", clock.now())

    assert replaced == DefaultRepo(Forge.GITHUB, "acme/web", "ana", first_set)
    assert await defaults.get(Platform.SLACK, "C1") == DefaultRepo(
        Forge.GITLAB, "g/p", "bo", clock.now()
    )
    assert await defaults.clear(Platform.SLACK, "C1") is True
    assert await defaults.clear(Platform.SLACK, "C1") is False
    assert await defaults.get(Platform.SLACK, "C1") is None
    assert await defaults.get(Platform.DISCORD, "C1") == DefaultRepo(
        Forge.GITHUB, "acme/api", "cy", clock.now()
    )


async def test_racing_defaults_leave_one_row(database: Database) -> None:
    clock, defaults = FakeClock(), ChannelDefaults()
    previous = await asyncio.gather(
        *(
            defaults.set(Platform.SLACK, "C1", Forge.GITHUB, f"acme/r{i}", "a", clock.now())
            for i in range(6)
        )
    )

    assert previous.count(None) == 1
    assert await ChannelDefault.all().count() == 1
    final = await defaults.get(Platform.SLACK, "C1")
    assert final is not None
    assert final.repo in {f"acme/r{i}" for i in range(6)}
