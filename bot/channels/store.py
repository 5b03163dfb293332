"""Chat channels' standing wishes: repository subscriptions and a default repository.

``Subscriptions`` records that a channel wants a repository's run results (``runs``),
alerts (``alerts``) or both (``all``); ``for_repo`` lists who should hear about one
topic, for the run tracker and the alert job. ``ChannelDefaults`` records the repository
a channel means when a command names only ``#12``.

Invariants: repository names are stored and matched in lower case (both forges treat
them case-insensitively); one subscription per channel and repository (subscribing again changes its
topics), one default per channel; a channel is named by its platform and channel id, and
the stored ``ReplyTarget`` is where notifications are posted (channel only: no thread,
message or connector hints, which expire). Writes are single statements or an insert that
falls back to an update when a concurrent writer inserted first, so two replicas handling
the same request at once leave one row and neither fails.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.channels.models import ChannelDefault, Subscription
from bot.messages import Forge, Platform, ReplyTarget


class Topic(enum.StrEnum):
    RUNS = "runs"
    ALERTS = "alerts"
    ALL = "all"

    def covers(self, wanted: Topic) -> bool:
        return self is Topic.ALL or self is wanted


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A channel subscribed to a repository: ``id`` keys its notifications in the outbox."""

    id: int
    forge: Forge
    repo: str
    topics: Topic
    target: ReplyTarget
    created_by: str
    created_at: datetime


def channel_target(reply_to: ReplyTarget) -> ReplyTarget:
    """Where a channel's notifications go: the channel itself, without per-message hints."""
    return ReplyTarget(platform=reply_to.platform, channel=reply_to.channel)


class Subscriptions:
    async def subscribe(
        self,
        target: ReplyTarget,
        forge: Forge,
        repo: str,
        topics: Topic,
        by: str,
        now: datetime,
    ) -> tuple[Subscriber, Topic | None]:
        """Subscribe the channel of ``target`` to ``topics`` of the repository.

        Returns the subscription and the topics it had before: ``None`` when it is new.
        Subscribing again changes the topics and keeps who subscribed first, and when.
        """
        channel, repo = channel_target(target), repo.lower()
        key: dict[str, Any] = {
            "platform": channel.platform.value,
            "channel": channel.channel,
            "forge": forge.value,
            "repo": repo,
        }
        for _ in range(2):
            row = await Subscription.get_or_none(**key)
            if row is not None:
                previous = Topic(row.topics)
                if previous is not topics:
                    await Subscription.filter(id=row.id).update(topics=topics.value)
                    row.topics = topics.value
                return _subscriber(row), previous
            try:
                row = await Subscription.create(
                    **key,
                    topics=topics.value,
                    target=channel.to_dict(),
                    created_by=by,
                    created_at=now,
                )
            except IntegrityError:
                continue  # another request inserted it since we looked: update that one
            return _subscriber(row), None
        raise RuntimeError(f"the subscription of {channel.channel} to {repo} keeps changing")

    async def unsubscribe(self, target: ReplyTarget, forge: Forge, repo: str) -> bool:
        """Remove the channel's subscription; False if there was none."""
        deleted: int = await Subscription.filter(
            platform=target.platform.value,
            channel=target.channel,
            forge=forge.value,
            repo=repo.lower(),
        ).delete()
        return deleted > 0

    async def of_channel(self, target: ReplyTarget) -> list[Subscriber]:
        """The channel's subscriptions, by forge and repository."""
        rows = await Subscription.filter(
            platform=target.platform.value, channel=target.channel
        ).order_by("forge", "repo")
        return [_subscriber(row) for row in rows]

    async def for_repo(self, forge: Forge, repo: str, topic: Topic) -> list[Subscriber]:
        """Every channel that wants ``topic`` for the repository, oldest subscription first."""
        rows = await Subscription.filter(forge=forge.value, repo=repo.lower()).order_by("id")
        return [_subscriber(row) for row in rows if Topic(row.topics).covers(topic)]


@dataclass(frozen=True, slots=True)
class DefaultRepo:
    forge: Forge
    repo: str
    set_by: str
    updated_at: datetime


class ChannelDefaults:
    async def get(self, platform: Platform, channel: str) -> DefaultRepo | None:
        row = await ChannelDefault.get_or_none(platform=platform.value, channel=channel)
        if row is None:
            return None
        return DefaultRepo(Forge(row.forge), row.repo, row.set_by, row.updated_at)

    async def set(
        self, platform: Platform, channel: str, forge: Forge, repo: str, by: str, now: datetime
    ) -> DefaultRepo | None:
        """Make ``repo`` the channel's default; returns the default it replaced, if any."""
        values: dict[str, Any] = {
            "forge": forge.value,
            "repo": repo.lower(),
            "set_by": by,
            "updated_at": now,
        }
        for _ in range(2):
            previous = await self.get(platform, channel)
            if previous is not None:
                await ChannelDefault.filter(platform=platform.value, channel=channel).update(
                    **values
                )
                return previous
            try:
                await ChannelDefault.create(platform=platform.value, channel=channel, **values)
            except IntegrityError:
                continue  # another request set one since we looked: replace that one
            return None
        raise RuntimeError(f"the default repository of {channel} keeps changing")

    async def clear(self, platform: Platform, channel: str) -> bool:
        deleted: int = await ChannelDefault.filter(
            platform=platform.value, channel=channel
        ).delete()
        return deleted > 0


def _subscriber(row: Subscription) -> Subscriber:
    return Subscriber(
        id=row.id,
        forge=Forge(row.forge),
        repo=row.repo,
        topics=Topic(row.topics),
        target=ReplyTarget.from_dict(row.target),
        created_by=row.created_by,
        created_at=row.created_at,
    )
