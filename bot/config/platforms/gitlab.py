"""``[gitlab]``: the GitLab connector's settings (``connectors.gitlab``).

GitLab.com or a self-managed instance (``base_url``), reached with one access token
(``token``, by reference: a project, group or personal access token with the ``api``
scope).

``webhook_tokens`` lists every secret token a hook may send in ``X-Gitlab-Token``; list
the new one next to the old one while rotating. ``signing_tokens`` are the optional
signing tokens (``webhook-signature``): a delivery that carries a signature is checked
against them, and with ``require_signature`` a delivery without one is refused. The
web server refuses to start with GitLab enabled and no webhook token, or with a signing
token that is not ``whsec_`` and base64 (``bot.config.serving`` names both before it
starts); ``chatops shell`` needs neither, it only calls the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config.errors import ConfigError, combine
from bot.config.rules import _at_least, _http_url, _non_empty, _positive, _rules
from bot.config.secret_values import Secret
from bot.config.section import _Section

# GitLab does not send webhook payloads over 25 MB (docs: "Webhook limits").
GITLAB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GitLabSettings(_Section):
    enabled: bool = False
    base_url: str = field(default="https://gitlab.com", metadata=_rules(_http_url))
    token: Secret | None = None
    webhook_tokens: tuple[Secret, ...] = ()
    signing_tokens: tuple[Secret, ...] = ()
    require_signature: bool = False
    # the bot user's username, whose notes are never read as commands
    bot_username: str = field(default="chatops-bot", metadata=_rules(_non_empty))
    max_body_bytes: int = field(default=GITLAB_MAX_PAYLOAD_BYTES, metadata=_rules(_at_least(1024)))
    permission_cache_seconds: float = field(default=60.0, metadata=_rules(_positive))
    request_timeout: float = field(default=10.0, metadata=_rules(_positive))

    def _check(self) -> None:
        if not self.enabled:
            return
        errors: list[ConfigError] = []
        if self.token is None:
            errors.append(ConfigError("token", "GitLab is enabled: give an access token"))
        if self.require_signature and not self.signing_tokens:
            errors.append(
                ConfigError(
                    "signing_tokens", "require_signature is set: give at least one signing token"
                )
            )
        if errors:
            raise combine(errors)
