"""``chatops check-config``: every problem ``serve`` would stop at, all at once, exit 1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def _no_chatops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` reads the process environment: keep the test's own settings out of it."""
    for name in [name for name in os.environ if name.startswith("CHATOPS")]:
        monkeypatch.delenv(name)


def check(tmp_path: Path, text: str) -> int:
    config = tmp_path / "chatops.toml"
    config.write_text(text)
    return main(["check-config", str(config)])


def test_every_error_in_the_file_is_shown_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT", "not-a-bot-token")
    code = check(
        tmp_path,
        "[server]\nport = 70000\nhost = 1\ncolour = 'blue'\n"
        "[workers]\nconcurrency = 0\n"
        "[[permissions.grants]]\nlevel = 'root'\nusers = ['a']\n"
        "[[permissions.grants]]\nlevel = 'write'\n"
        "[slack]\nenabled = true\nmode = 'http'\nbot_token = 'env:SLACK_BOT'\n"
        "[discord]\nenabled = true\ngateway = false\n",
    )

    assert code == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: 11 errors:\n"
        "  server.colour: unknown key; expected one of host, port, shutdown_timeout, "
        "header_timeout, body_timeout, max_unverified_bodies, role\n"
        "  server.host: expected a string, got 1\n"
        "  server.port: must be between 0 and 65535, got 70000\n"
        "  workers.concurrency: must be between 1 and 64, got 0\n"
        "  permissions.grants[0].level: unknown level 'root'; expected one of read, write, "
        "admin\n"
        "  permissions.grants[1]: grants to no one: list users, groups or both "
        '(users = ["*"] is everyone)\n'
        "  slack.bot_token: must be a bot token, which starts with xoxb-\n"
        "  slack.signing_secret: mode is http: give the app's signing secret\n"
        "  discord.bot_token: Discord is enabled: give the bot token (env:NAME)\n"
        "  discord.application_id: Discord is enabled: give the application id\n"
        "  discord.public_key: with gateway = false, interactions arrive over HTTP: give the "
        "public key\n",
    )


def test_a_gitlab_section_that_serve_would_refuse_is_refused_with_every_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-1")
    monkeypatch.setenv("GITLAB_SIGNING", "whsec_not base64!")
    text = (
        "[gitlab]\nenabled = true\ntoken = 'env:GITLAB_TOKEN'\n"
        "signing_tokens = ['env:GITLAB_SIGNING']\n"
    )

    assert check(tmp_path, text) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: 2 errors:\n"
        "  gitlab.webhook_tokens: GitLab is enabled: give the secret token of the project's "
        "webhook (what GitLab sends as X-Gitlab-Token)\n"
        "  gitlab.signing_tokens[0]: expected whsec_ followed by base64\n",
    )


def test_serve_names_the_same_problem_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-1")
    config = tmp_path / "chatops.toml"
    config.write_text("[gitlab]\nenabled = true\ntoken = 'env:GITLAB_TOKEN'\n")

    assert main(["--config", str(config), "serve", "--port", "0"]) == 1
    assert capsys.readouterr() == (
        "",
        "chatops: invalid configuration: gitlab.webhook_tokens: GitLab is enabled: give the "
        "secret token of the project's webhook (what GitLab sends as X-Gitlab-Token)\n",
    )


def test_a_configuration_serve_accepts_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-1")
    monkeypatch.setenv("GITLAB_HOOK", "hook-secret")
    text = (
        "[gitlab]\nenabled = true\ntoken = 'env:GITLAB_TOKEN'\n"
        "webhook_tokens = ['env:GITLAB_HOOK']\n"
    )

    assert check(tmp_path, text) == 0
    out, err = capsys.readouterr()
    [gitlab] = [section for section in out.split("\n\n") if section.startswith("[gitlab]")]
    assert (gitlab, err) == (
        "[gitlab]\n"
        "enabled = true\n"
        'base_url = "https://gitlab.com"\n'
        'token = "env:GITLAB_TOKEN (secret, set)"\n'
        'webhook_tokens = ["env:GITLAB_HOOK (secret, set)"]\n'
        "signing_tokens = []\n"
        "require_signature = false\n"
        'bot_username = "chatops-bot"\n'
        "max_body_bytes = 26214400\n"
        "permission_cache_seconds = 60.0\n"
        "request_timeout = 10.0",
        "",
    )
