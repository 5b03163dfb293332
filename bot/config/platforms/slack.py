"""``[slack]``: the Slack connector's settings (``connectors.slack``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.section import _Section


@dataclass(frozen=True, slots=True)
class SlackSettings(_Section):
    enabled: bool = False
