"""``[github]``: the GitHub connector's settings (``connectors.github``).

Two ways to authenticate, exactly one when enabled:

- a GitHub App: ``app_id`` and ``private_key`` (PEM, by reference); installation tokens
  are minted per installation;
- a token (``token``, by reference) for a single repository or organisation.

``webhook_secrets`` lists every secret a delivery may be signed with; list the new one
next to the old one while rotating. Hooks created by ``chatops github setup-repo`` have
their own secret in the database, chosen by the hook id GitHub sends with each delivery.
The application refuses to start with GitHub enabled and no secret at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config.errors import ConfigError
from bot.config.rules import _at_least, _cron, _http_url, _non_empty, _positive, _rules
from bot.config.secret_values import Secret
from bot.config.section import _Section

# GitHub caps webhook payloads at 25 MB (docs: "Webhook events and payloads").
GITHUB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GitHubSettings(_Section):
    enabled: bool = False
    api_url: str = field(default="https://api.github.com", metadata=_rules(_http_url))
    webhook_secrets: tuple[Secret, ...] = ()
    app_id: int | None = None
    private_key: Secret | None = None
    token: Secret | None = None
    # the bot's own login, whose comments are never read as commands; in App mode the
    # App's bot user (``my-app[bot]``) is recognised from the payload as well
    bot_login: str = field(default="chatops-bot", metadata=_rules(_non_empty))
    max_body_bytes: int = field(default=GITHUB_MAX_PAYLOAD_BYTES, metadata=_rules(_at_least(1024)))
    permission_cache_seconds: float = field(default=60.0, metadata=_rules(_positive))
    request_timeout: float = field(default=10.0, metadata=_rules(_positive))
    # App mode: ask GitHub to redeliver failed deliveries, at start-up and on this schedule
    redeliver_failed: bool = True
    redelivery_cron: str = field(default="*/15 * * * *", metadata=_rules(_cron))

    def _check(self) -> None:
        if not self.enabled:
            return
        app = self.app_id is not None or self.private_key is not None
        if app and self.token is not None:
            raise ConfigError("token", "give either app_id and private_key, or token, not both")
        if app and (self.app_id is None or self.private_key is None):
            missing = "app_id" if self.app_id is None else "private_key"
            raise ConfigError(missing, "a GitHub App needs both app_id and private_key")
        if not app and self.token is None:
            raise ConfigError("token", "GitHub is enabled: give app_id and private_key, or a token")

    @property
    def app_mode(self) -> bool:
        return self.app_id is not None
