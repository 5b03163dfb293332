"""``[slack]``: the Slack connector's settings (``connectors.slack``).

Two transports, one switch (``mode``):

- ``socket`` (the default): Socket Mode over a WebSocket opened with an app-level token
  (``app_token``, ``xapp-...``); no public URL needed.
- ``http``: Slack posts events, slash commands and interactivity to ``/slack/events``,
  signed with the app's signing secret (``signing_secret``).

Both need the bot token (``bot_token``, ``xoxb-...``) to post replies. Cross-field
requirements are checked only when the section is enabled; secret values are never quoted
in an error, only the key that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config.errors import ConfigError, combine
from bot.config.rules import _http_url, _one_of, _positive, _rules
from bot.config.secret_values import Secret
from bot.config.section import _Section

SOCKET = "socket"
HTTP = "http"


def _slash_command(value: str) -> str | None:
    if value.startswith("/") and len(value) > 1 and not any(c.isspace() for c in value):
        return None
    return f"expected a slash command such as '/chatops', got {value!r}"


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else f"must be 0 or more, got {value:g}"


@dataclass(frozen=True, slots=True)
class SlackSettings(_Section):
    enabled: bool = False
    mode: str = field(default=SOCKET, metadata=_rules(_one_of(SOCKET, HTTP)))
    bot_token: Secret | None = None
    signing_secret: Secret | None = None
    app_token: Secret | None = None
    # the Web API base; tests point it at a fake
    api_url: str = field(default="https://slack.com/api/", metadata=_rules(_http_url))
    # the slash command configured for the app in Slack
    command: str = field(default="/chatops", metadata=_rules(_slash_command))
    # at least this many seconds between two messages to one channel (Slack: ~1 per second)
    post_interval: float = field(default=1.0, metadata=_rules(_not_negative))
    request_timeout: float = field(default=10.0, metadata=_rules(_positive))
    # Socket Mode: seconds between WebSocket pings, and between reconnection attempts
    socket_ping_interval: float = field(default=10.0, metadata=_rules(_positive))
    # how long a user's Slack user groups are remembered, for group grants
    group_cache_seconds: float = field(default=300.0, metadata=_rules(_positive))

    def _check(self) -> None:
        if not self.enabled:
            return
        errors: list[ConfigError] = []
        if self.bot_token is None:
            errors.append(
                ConfigError("bot_token", "Slack is enabled: give the bot token (xoxb-...)")
            )
        elif not self.bot_token.reveal().startswith("xoxb-"):
            errors.append(ConfigError("bot_token", "must be a bot token, which starts with xoxb-"))
        if self.mode == HTTP and self.signing_secret is None:
            errors.append(
                ConfigError("signing_secret", "mode is http: give the app's signing secret")
            )
        app_token = self.app_token.reveal() if self.app_token is not None else None
        if self.mode == SOCKET and app_token is None:
            errors.append(
                ConfigError("app_token", "mode is socket: give an app-level token (xapp-...)")
            )
        elif self.mode == SOCKET and not (app_token or "").startswith("xapp-"):
            errors.append(
                ConfigError("app_token", "must be an app-level token, which starts with xapp-")
            )
        if errors:
            raise combine(errors)

    @property
    def socket_mode(self) -> bool:
        return self.mode == SOCKET
