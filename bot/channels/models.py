"""Tortoise models of the channels feature: subscriptions and channel defaults.

The tables belong to the one ``chatops`` app and are built by the core's migrations
(``bot.store.migrations``), which ``bot.schema`` lists this module for; change a model,
then run ``make migrations`` (see README) and commit the new migration.

Invariants:
- ``Subscription`` is unique per channel and repository, ``ChannelDefault`` per channel.
- Timestamps are timezone-aware UTC and always come from an injected clock.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Subscription(Model):
    """A chat channel that receives a repository's run results and/or alerts."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=255)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    topics = fields.CharField(max_length=16)  # runs | alerts | all
    target: fields.JSONField[dict[str, Any]] = fields.JSONField()  # where to post: a ReplyTarget
    created_by = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()

    class Meta:
        table = "chatops_subscriptions"
        unique_together = (("platform", "channel", "forge", "repo"),)
        indexes = (("forge", "repo"),)


class ChannelDefault(Model):
    """The repository a chat channel means when a command names only ``#12``."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=255)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    set_by = fields.CharField(max_length=255)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chatops_channel_defaults"
        unique_together = (("platform", "channel"),)
