"""The [discord] section: what enabling it requires, and what it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, parse_config
from bot.config.platforms.discord import DiscordSettings
from bot.messages import Platform
from connectors.enabled import enabled_integrations

TOKEN = Secret("env:DISCORD_BOT_TOKEN", "t")


def test_enabled_needs_a_token_and_an_application_id() -> None:
    with pytest.raises(ConfigError, match="bot_token"):
        DiscordSettings(enabled=True, application_id="1")
    with pytest.raises(ConfigError, match="application_id"):
        DiscordSettings(enabled=True, bot_token=TOKEN)


def test_without_the_gateway_the_public_key_is_required() -> None:
    with pytest.raises(ConfigError, match="public_key: with gateway = false"):
        DiscordSettings(enabled=True, bot_token=TOKEN, application_id="1", gateway=False)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("application_id", "abc", "expected a Discord id (digits only), got 'abc'"),
        ("guild_ids", ["12", "x"], "expected Discord guild ids (digits only), got 'x'"),
        ("command_name", "ChatOps", "expected 1-32 lower-case letters"),
        ("public_key", "00", "expected the application's public key"),
        ("api_url", "discord.com", "expected an http:// or https:// URL"),
        ("gateway_lease_seconds", 0, "must be greater than 0"),
    ],
)
def test_bad_values_name_their_key(key: str, value: object, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"discord.{key}: {reason}")):
        parse_config({"discord": {key: value}}, {}, base_dir=Path("."))


def test_an_enabled_section_installs_the_discord_integration() -> None:
    config = parse_config(
        {"discord": {"enabled": True, "bot_token": "env:DISCORD_BOT_TOKEN", "application_id": "1"}},
        {"DISCORD_BOT_TOKEN": "t"},
        base_dir=Path("."),
    )

    assert [i.platform for i in enabled_integrations(config, [])] == [Platform.DISCORD]
    assert enabled_integrations(parse_config({}, {}, base_dir=Path(".")), []) == []
