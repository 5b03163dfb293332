"""The limits every webhook front door applies, read once from the platform's host.

``front_door(host)`` gives the keyword arguments a forge ``WebhookReceiver`` takes for them:
the per-event command budget (``[bot] max_commands_per_event``, ``max_command_chars``), the
body read timeout and the bound on unverified bodies (``[server]``), and the application's
rejection counter, all from the ``bot.platforms.PlatformHost``. Each call makes a fresh
``UnverifiedBodies``: the bound holds per door.
"""

from __future__ import annotations

from typing import Any

from bot.platforms import PlatformHost
from connectors.budget import Limits
from connectors.webhook_body import UnverifiedBodies

SLOT_WAIT = 1.0  # seconds a request waits for a free slot before it gets 503


def front_door(host: PlatformHost) -> dict[str, Any]:
    config = host.config
    return {
        "limits": Limits(
            max_commands=config.bot.max_commands_per_event,
            max_chars=config.bot.max_command_chars,
        ),
        "body_timeout": config.server.body_timeout,
        "unverified": UnverifiedBodies(config.server.max_unverified_bodies, SLOT_WAIT),
        "rejected": host.rejections,
    }
