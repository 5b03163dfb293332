"""The channels feature as one value: ``subscribe``, ``unsubscribe``, ``subscriptions``, ``use``.

It owns no settings and runs no jobs; the features that notify channels (CI results,
secret expiry alerts) read the same store (``bot.channels.store``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.store import ChannelDefaults, Subscriptions
from bot.features import FeatureHost, Provided
from commands import subscribe


@dataclass(frozen=True, slots=True)
class ChannelsFeature:
    name: str = "channels"
    section: str | None = None

    def setup(self, host: FeatureHost) -> Provided:
        return Provided(commands=subscribe.commands(Subscriptions(), ChannelDefaults()))
