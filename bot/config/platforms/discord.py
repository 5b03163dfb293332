"""``[discord]``: the Discord connector's settings (``connectors.discord``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.section import _Section


@dataclass(frozen=True, slots=True)
class DiscordSettings(_Section):
    enabled: bool = False
