"""The Slack app manifest for this configuration: what ``chatops slack manifest`` prints.

A manifest describes a whole Slack app (display name, bot user, the slash command, the
OAuth scopes, the events, Socket Mode or request URLs). Paste it at "Create New App",
"From a manifest", or pass it as the ``manifest`` argument of ``apps.manifest.create``.

Pure: configuration in, a JSON-ready dict out. The scopes and events are exactly what the
Slack connector uses, so an app made from it can do everything the bot asks of Slack and no
more: ``commands`` (the slash command), ``app_mentions:read`` with the ``app_mention`` event
(mentions in channels), ``chat:write`` (replies), ``im:history`` with ``message.im``
(direct messages), and ``usergroups:read`` (grants that name Slack user groups).
"""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.config.platforms.slack import HTTP
from connectors.slack.integration import EVENTS_PATH

BOT_SCOPES = ("app_mentions:read", "chat:write", "commands", "im:history", "usergroups:read")
BOT_EVENTS = ("app_mention", "message.im")
# Slack's limits for these fields (app manifest reference).
NAME_LIMIT = 35
DESCRIPTION = "Runs CI and secrets commands from Slack; answers in the thread."


def slack_manifest(config: Config, *, mode: str | None = None) -> dict[str, Any]:
    """The manifest for ``mode`` ("socket" or "http"; default: ``slack.mode``)."""
    http = (mode or config.slack.mode) == HTTP
    name = config.bot.name[:NAME_LIMIT]
    request_url = config.bot.public_url.rstrip("/") + EVENTS_PATH
    command: dict[str, Any] = {
        "command": config.slack.command,
        "description": f"Talk to {name}: ping, help, status, rescan ...",
        "usage_hint": "help",
        "should_escape": False,
    }
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    if http:
        command["url"] = request_url
        events["request_url"] = request_url
    return {
        "display_information": {"name": name, "description": DESCRIPTION},
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "org_deploy_enabled": False,
            "socket_mode_enabled": not http,
            "token_rotation_enabled": False,
        },
    }
