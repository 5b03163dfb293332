"""The platforms' configuration sections, one module each; ``Config`` has a field per section.

Every platform section has ``enabled`` (default false): a disabled platform is neither
started nor checked beyond the shapes of its keys, so a fresh install needs none of them.
"""

from __future__ import annotations

from bot.config.platforms.discord import DiscordSettings
from bot.config.platforms.github import GitHubSettings
from bot.config.platforms.gitlab import GitLabSettings
from bot.config.platforms.slack import SlackSettings

__all__ = ["DiscordSettings", "GitHubSettings", "GitLabSettings", "SlackSettings"]
