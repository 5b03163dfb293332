"""Command handlers, one module per family, all platform-blind.

Each module exports ``commands(...)``, taking what its handlers need; the feature that
owns the family (``bot.ci.feature``, ``bot.secrets.feature``, ``bot.channels.feature``)
builds them, and ``bot.app`` lists the features. Nothing registers itself when imported.
``ping``, ``whoami`` and ``help`` need only the handler's context: they make the core
feature.
"""

from __future__ import annotations

from bot.features import CommandsFeature
from commands import help, ping, whoami


def core_feature() -> CommandsFeature:
    """``ping``, ``whoami`` and ``help``: what every bot answers, whatever else it does."""
    return CommandsFeature(
        name="core", commands=(*ping.commands(), *whoami.commands(), *help.commands())
    )
