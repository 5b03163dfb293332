"""Where each enabled platform reaches the bot, in words: ``serve``'s first log line.

Pure: configuration in, text out. A platform that posts to the bot is shown with the URL to
paste into its settings (``bot.public_url`` plus the route); one that the bot connects out
to (Slack Socket Mode, the Discord gateway) says so.
"""

from __future__ import annotations

from bot.config import Config
from bot.config.platforms.slack import HTTP

GITHUB_ROUTE = "/webhooks/github"
GITLAB_ROUTE = "/webhooks/gitlab"
SLACK_ROUTE = "/slack/events"
DISCORD_ROUTE = "/discord/interactions"


def platform_endpoints(config: Config) -> list[str]:
    base = config.bot.public_url.rstrip("/")
    found = []
    if config.github.enabled:
        found.append(f"github (webhook {base}{GITHUB_ROUTE})")
    if config.gitlab.enabled:
        found.append(f"gitlab (webhook {base}{GITLAB_ROUTE})")
    if config.slack.enabled:
        slack = f"request URL {base}{SLACK_ROUTE}" if config.slack.mode == HTTP else "Socket Mode"
        found.append(f"slack ({slack})")
    if config.discord.enabled:
        ways = ["gateway"] if config.discord.gateway else []
        if config.discord.public_key:
            ways.append(f"interactions {base}{DISCORD_ROUTE}")
        found.append(f"discord ({'; '.join(ways)})")
    return found


def startup_banner(config: Config, version: str) -> str:
    endpoints = platform_endpoints(config)
    if not endpoints:
        return f"chatops-bridge {version}: no platform enabled; `chatops shell` reaches the bot"
    return f"chatops-bridge {version}: " + ", ".join(endpoints)
