"""``[slack]`` settings: cross-field requirements when enabled, and the integration switch."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.config.errors import ConfigError
from bot.config.platforms import SlackSettings
from bot.config.secret_values import Secret
from bot.messages import Platform
from connectors.enabled import enabled_integrations

BOT = Secret("env:SLACK_BOT_TOKEN", "xoxb-1")
APP = Secret("env:SLACK_APP_TOKEN", "xapp-1")
SIGNING = Secret("env:SLACK_SIGNING_SECRET", "s3cret")


def test_disabled_slack_needs_nothing_and_installs_nothing() -> None:
    assert enabled_integrations(Config(slack=SlackSettings()), []) == []


def test_enabled_slack_installs_its_integration() -> None:
    settings = SlackSettings(enabled=True, bot_token=BOT, app_token=APP)

    [integration] = enabled_integrations(Config(slack=settings), [])

    assert integration.platform is Platform.SLACK
    assert settings.socket_mode


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"app_token": APP}, "bot_token: Slack is enabled: give the bot token (xoxb-...)"),
        (
            {"bot_token": Secret("env:T", "xapp-oops"), "app_token": APP},
            "bot_token: must be a bot token, which starts with xoxb-",
        ),
        ({"bot_token": BOT}, "app_token: mode is socket: give an app-level token (xapp-...)"),
        (
            {"bot_token": BOT, "app_token": BOT},
            "app_token: must be an app-level token, which starts with xapp-",
        ),
        (
            {"bot_token": BOT, "mode": "http"},
            "signing_secret: mode is http: give the app's signing secret",
        ),
        ({"bot_token": BOT, "mode": "webhook"}, "mode: must be one of socket, http; got 'webhook'"),
        (
            {"command": "chatops"},
            "command: expected a slash command such as '/chatops', got 'chatops'",
        ),
        ({"post_interval": -1.0}, "post_interval: must be 0 or more, got -1"),
    ],
)
def test_invalid_settings_name_the_key(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SlackSettings(enabled=True, **values)  # type: ignore[arg-type]

    assert str(caught.value) == message


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        SlackSettings(enabled=True, bot_token=Secret("env:T", "xapp-very-secret"), app_token=APP)

    assert "very-secret" not in str(caught.value)
