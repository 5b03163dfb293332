"""The integrations a configuration enables, composed explicitly, in one place.

The composition root (``bot.app``) installs what ``enabled_integrations`` returns, given
the commands of its features (the Discord slash command lists them); nothing registers
itself on import. A platform whose section says ``enabled = false`` is not even constructed.
``chatops shell`` has no web server: ``open_forges`` gives it the forge clients alone
(no webhooks needed), opened and closed around the session.

A platform's package (its client library: discord.py, Slack's SDK, gidgethub, gidgetlab)
is imported only when its section enables it, inside the functions below: a bot that runs
GitHub alone never loads discord.py, and importing this module loads none of them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.forge import Forges
from bot.platforms import Integration
from bot.router import Command


def enabled_integrations(config: Config, commands: Sequence[Command[Any]]) -> list[Integration]:
    # each platform's import is here, under its switch (module docstring)
    integrations: list[Integration] = []
    if config.github.enabled:
        from connectors.github.integration import GitHubIntegration

        integrations.append(GitHubIntegration(config.github, config.bot))
    if config.gitlab.enabled:
        from connectors.gitlab.integration import GitLabIntegration

        integrations.append(GitLabIntegration(config.gitlab, config.bot))
    if config.slack.enabled:
        from connectors.slack.integration import SlackIntegration

        integrations.append(SlackIntegration(config.slack))
    if config.discord.enabled:
        from connectors.discord.integration import DiscordIntegration

        # the slash command's sub-commands: the same commands the router gets
        integrations.append(DiscordIntegration(config.discord, commands))
    return integrations


@asynccontextmanager
async def open_forges(config: Config, clock: Clock, log: logging.Logger) -> AsyncIterator[Forges]:
    """The forge clients the configuration enables, with their sessions open until exit."""
    async with AsyncExitStack() as stack:
        forges = Forges()
        if config.github.enabled:
            from connectors.github.forge import GitHubForge
            from connectors.github.integration import open_github

            github = await stack.enter_async_context(open_github(config.github, config.bot, clock))
            log.debug("GitHub forge client open for %s", config.github.api_url)
            forges.add(GitHubForge(github.client, clock))
        if config.gitlab.enabled:
            from connectors.gitlab.forge import GitLabForge
            from connectors.gitlab.integration import open_gitlab

            gitlab = await stack.enter_async_context(open_gitlab(config.gitlab, config.bot))
            log.debug("GitLab forge client open for %s", config.gitlab.base_url)
            forges.add(GitLabForge(gitlab, clock))
        yield forges
