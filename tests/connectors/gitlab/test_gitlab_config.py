"""``[gitlab]`` settings: defaults, cross-field requirements when enabled, secrets by
reference and masked, and the integration switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.config.errors import ConfigError
from bot.config.loader import parse_config
from bot.config.platforms import GitLabSettings
from bot.config.render import render_config
from bot.config.secret_values import Secret
from bot.messages import Platform
from connectors.enabled import enabled_integrations

TOKEN = Secret("env:GITLAB_TOKEN", "glpat-1")
HOOK = Secret("env:GITLAB_WEBHOOK_TOKEN", "hook-secret")


def test_defaults() -> None:
    assert GitLabSettings() == GitLabSettings(
        enabled=False,
        base_url="https://gitlab.com",
        token=None,
        webhook_tokens=(),
        signing_tokens=(),
        require_signature=False,
        bot_username="chatops-bot",
        max_body_bytes=25 * 1024 * 1024,
        permission_cache_seconds=60.0,
        request_timeout=10.0,
    )


def test_disabled_gitlab_needs_nothing_and_installs_nothing() -> None:
    assert enabled_integrations(Config(gitlab=GitLabSettings()), []) == []


def test_enabled_gitlab_installs_its_integration() -> None:
    settings = GitLabSettings(enabled=True, token=TOKEN, webhook_tokens=(HOOK,))

    [integration] = enabled_integrations(Config(gitlab=settings), [])

    assert integration.platform is Platform.GITLAB


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "token: GitLab is enabled: give an access token"),
        (
            {"token": TOKEN, "require_signature": True},
            "signing_tokens: require_signature is set: give at least one signing token",
        ),
        (
            {"token": TOKEN, "base_url": "gitlab.example.com"},
            "base_url: expected an http:// or https:// URL, got 'gitlab.example.com'",
        ),
        ({"token": TOKEN, "bot_username": ""}, "bot_username: must not be empty"),
        ({"token": TOKEN, "max_body_bytes": 10}, "max_body_bytes: must be at least 1024, got 10"),
        (
            {"token": TOKEN, "request_timeout": 0.0},
            "request_timeout: must be greater than 0, got 0",
        ),
    ],
)
def test_invalid_settings_name_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        GitLabSettings(enabled=True, **values)

    assert str(caught.value) == message


def test_a_file_section_loads_secrets_by_reference_and_renders_them_masked() -> None:
    data = {
        "gitlab": {
            "enabled": True,
            "base_url": "https://gitlab.example.com/gitlab",
            "token": "env:GITLAB_TOKEN",
            "webhook_tokens": ["env:OLD_HOOK", "env:NEW_HOOK"],
            "signing_tokens": ["env:SIGNING"],
        }
    }
    environ = {
        "GITLAB_TOKEN": "glpat-secret",
        "OLD_HOOK": "old-hook-secret",
        "NEW_HOOK": "new-hook-secret",
        "SIGNING": "whsec_c2lnbmluZw==",
    }

    config = parse_config(data, environ, base_dir=Path.cwd())
    rendered = render_config(config)

    settings = config.gitlab
    assert settings.token is not None
    assert (settings.token.reveal(), [t.reveal() for t in settings.webhook_tokens]) == (
        "glpat-secret",
        ["old-hook-secret", "new-hook-secret"],
    )
    assert [t.reveal() for t in settings.signing_tokens] == ["whsec_c2lnbmluZw=="]
    for value in environ.values():
        assert value not in rendered
    assert config.config_secrets()[-4:] == (
        settings.token,
        *settings.webhook_tokens,
        *settings.signing_tokens,
    )


def test_a_literal_token_in_the_file_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"gitlab": {"token": "glpat-literal"}}, {}, base_dir=Path.cwd())

    assert str(caught.value) == (
        "gitlab.token: secrets are given by reference: write env:NAME or file:PATH"
    )
