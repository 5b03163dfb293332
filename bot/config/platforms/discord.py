"""``[discord]``: the Discord connector's settings (``connectors.discord``).

Two ways in, at least one when enabled:

- the gateway (``gateway = true``, the default): one replica at a time holds the gateway
  session (a lease in the database) and receives mentions and slash commands over it;
- the HTTP interactions endpoint (``POST /discord/interactions``), mounted when
  ``public_key`` is set: Discord signs each request with Ed25519 and we verify it with
  this key (the application's "public key" in the developer portal).

Every replica sends replies over REST with ``bot_token``. ``api_url`` is where REST calls go
(a fake in tests); the gateway address is asked of it (``GET /gateway/bot``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.config.errors import ConfigError, combine
from bot.config.rules import _http_url, _positive, _rules
from bot.config.secret_values import Secret
from bot.config.section import _Section

_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_COMMAND_NAME = re.compile(r"[a-z0-9_-]{1,32}")  # Discord: chat-input names, lower case
_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")  # 32-byte Ed25519 key, hex


def _snowflake_or_empty(value: str) -> str | None:
    if value == "" or _SNOWFLAKE.fullmatch(value):
        return None
    return f"expected a Discord id (digits only), got {value!r}"


def _snowflakes(values: tuple[str, ...]) -> str | None:
    for value in values:
        if not _SNOWFLAKE.fullmatch(value):
            return f"expected Discord guild ids (digits only), got {value!r}"
    return None


def _command_name(value: str) -> str | None:
    if _COMMAND_NAME.fullmatch(value):
        return None
    return f"expected 1-32 lower-case letters, digits, '-' or '_', got {value!r}"


def _public_key(value: str) -> str | None:
    if value == "" or _PUBLIC_KEY.fullmatch(value):
        return None
    return "expected the application's public key: 64 hexadecimal characters"


@dataclass(frozen=True, slots=True)
class DiscordSettings(_Section):
    enabled: bool = False
    bot_token: Secret | None = None
    application_id: str = field(default="", metadata=_rules(_snowflake_or_empty))
    api_url: str = field(default="https://discord.com/api/v10", metadata=_rules(_http_url))
    # where the slash command is registered: these guilds (at once), or globally when empty
    guild_ids: tuple[str, ...] = field(default=(), metadata=_rules(_snowflakes))
    command_name: str = field(default="chatops", metadata=_rules(_command_name))
    sync_commands: bool = True
    gateway: bool = True
    gateway_lease_seconds: float = field(default=30.0, metadata=_rules(_positive))
    public_key: str = field(default="", metadata=_rules(_public_key))
    # signed HTTP interactions older than this are refused (Discord names no window)
    signature_max_age: float = field(default=300.0, metadata=_rules(_positive))

    def _check(self) -> None:
        if not self.enabled:
            return
        errors: list[ConfigError] = []
        if self.bot_token is None:
            errors.append(
                ConfigError("bot_token", "Discord is enabled: give the bot token (env:NAME)")
            )
        if not self.application_id:
            errors.append(
                ConfigError("application_id", "Discord is enabled: give the application id")
            )
        if not self.gateway and not self.public_key:
            errors.append(
                ConfigError(
                    "public_key",
                    "with gateway = false, interactions arrive over HTTP: give the public key",
                )
            )
        if errors:
            raise combine(errors)
