"""The integrations a configuration enables, composed explicitly, in one place.

``serve`` installs what ``enabled_integrations`` returns; nothing registers itself on
import. A platform whose section says ``enabled = false`` is not even constructed.
"""

from __future__ import annotations

from bot.config import Config
from bot.integrations import Integration
from commands import builtin_commands
from connectors.discord.integration import DiscordIntegration
from connectors.github.integration import GitHubIntegration
from connectors.slack.integration import SlackIntegration


def enabled_integrations(config: Config) -> list[Integration]:
    integrations: list[Integration] = []
    if config.github.enabled:
        integrations.append(GitHubIntegration(config.github, config.bot))
    if config.slack.enabled:
        integrations.append(SlackIntegration(config.slack))
    if config.discord.enabled:
        # the slash command's sub-commands: the same commands ``serve`` hands the router
        integrations.append(DiscordIntegration(config.discord, builtin_commands()))
    return integrations
