"""``chatops doctor`` against the fake platforms: the whole report, for a good and a broken
configuration, through the real client libraries and a real database."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.doctor import diagnose, failed, render
from connectors.doctor import platform_checks, webhook_platforms
from tests.fakes.discord import FakeDiscord
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.github_stack import migrate
from tests.shipped import MIGRATIONS

GITHUB_TOKEN = "ghp_doctor_token"
GITLAB_TOKEN = "glpat-doctor-token"
DISCORD_TOKEN = "discord-doctor-token"
APPLICATION_ID = "775799577604522054"


@dataclass(frozen=True)
class Fakes:
    github: FakeGitHub
    gitlab: FakeGitLab
    slack: FakeSlack
    discord: FakeDiscord


@asynccontextmanager
async def fakes() -> AsyncIterator[Fakes]:
    discord = FakeDiscord(token=DISCORD_TOKEN, application_id=APPLICATION_ID)
    await discord.start()
    try:
        async with (
            FakeGitHub() as github,
            FakeGitLab(token=GITLAB_TOKEN) as gitlab,
            FakeSlack() as slack,
        ):
            github.add_token(GITHUB_TOKEN)
            yield Fakes(github, gitlab, slack, discord)
    finally:
        await discord.close()


@asynccontextmanager
async def bot_web(database_url: str) -> AsyncIterator[str]:
    """The bot's own web app (no platforms) on a free port: what the public URL reaches."""
    config = load_config(None, {"CHATOPS__DATABASE__URL": database_url})
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def write_config(path: Path, f: Fakes, database_url: str, public_url: str, **names: str) -> Path:
    path.write_text(
        f"""
[bot]
public_url = "{public_url}"

[database]
url = "{database_url}"

[github]
enabled = true
api_url = "{f.github.url}"
token = "env:GITHUB_TOKEN"
webhook_secrets = ["env:GITHUB_WEBHOOK_SECRET"]
bot_login = "{names.get("github_login", "chatops-bot")}"

[gitlab]
enabled = true
base_url = "{f.gitlab.url}"
token = "env:GITLAB_TOKEN"
webhook_tokens = ["env:GITLAB_WEBHOOK_TOKEN"]

[slack]
enabled = true
api_url = "{f.slack.api_url}"
bot_token = "env:SLACK_BOT_TOKEN"
app_token = "env:SLACK_APP_TOKEN"

[discord]
enabled = true
api_url = "{f.discord.api_url}"
bot_token = "env:DISCORD_BOT_TOKEN"
application_id = "{names.get("application_id", APPLICATION_ID)}"
""",
        encoding="utf-8",
    )
    return path


def environ(**overrides: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "GITHUB_WEBHOOK_SECRET": "hook secret",
        "GITLAB_TOKEN": GITLAB_TOKEN,
        "GITLAB_WEBHOOK_TOKEN": "gitlab hook token",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        **overrides,
    }


async def report(config: Config) -> tuple[str, bool]:
    findings = await diagnose(
        config,
        platform_checks(config, SystemClock()),
        webhook_platforms=webhook_platforms(config),
        request_timeout=5.0,
    )
    return render(findings, [s.reveal() for s in config.config_secrets()]), failed(findings)


async def test_a_good_configuration_passes_every_check(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'chatops.sqlite3'}"
    await migrate(database_url)
    async with fakes() as f, bot_web(database_url) as public_url:
        path = write_config(tmp_path / "chatops.toml", f, database_url, public_url)
        text, problems = await report(load_config(path, environ()))

    assert text == (
        f"ok    config      {path}\n"
        "ok    database    sqlite: migrations applied\n"
        "ok    github      token of chatops-bot\n"
        "ok    gitlab      token of chatops-bot\n"
        "ok    slack       bot grace in workspace Subarachnoid Workspace\n"
        "ok    slack       Socket Mode: a connection can be opened\n"
        f"ok    discord     bot chatops (id {APPLICATION_ID})\n"
        f"note  public url  {public_url} is this machine only: GitHub, GitLab cannot post to "
        "it; set bot.public_url to your reverse proxy's or tunnel's address (deploy/README.md)\n"
        f"ok    public url  {public_url}/healthz answers\n"
        "all checks passed\n"
    )
    assert problems is False


async def test_a_broken_configuration_says_what_to_fix_for_each_item(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'chatops.sqlite3'}"  # never migrated
    closed = _closed_port_url()
    async with fakes() as f:
        path = write_config(
            tmp_path / "chatops.toml",
            f,
            database_url,
            closed,
            github_login="someone-else",
            application_id="123456789012345678",
        )
        config = load_config(
            path,
            environ(GITLAB_TOKEN="glpat-revoked", SLACK_APP_TOKEN="xapp-wrong-app-token"),
        )
        text, problems = await report(config)

    assert text == (
        f"ok    config      {path}\n"
        f"FAIL  database    sqlite: {len(MIGRATIONS)} migration(s) pending: run `chatops migrate`\n"
        'FAIL  github      the token is chatops-bot\'s but github.bot_login is "someone-else": '
        'set bot_login = "chatops-bot", or the bot reads its own comments\n'
        "FAIL  gitlab      GitLab answered 401: check gitlab.token\n"
        "ok    slack       bot grace in workspace Subarachnoid Workspace\n"
        "FAIL  slack       apps.connections.open: invalid_auth: check slack.app_token "
        "(an app-level token with connections:write) and that Socket Mode is on\n"
        f"ok    discord     bot chatops (id {APPLICATION_ID})\n"
        f"FAIL  discord     the token belongs to application {APPLICATION_ID} but "
        f'discord.application_id is "123456789012345678": set it to "{APPLICATION_ID}"\n'
        f"note  public url  {closed} is this machine only: GitHub, GitLab cannot post to it; "
        "set bot.public_url to your reverse proxy's or tunnel's address (deploy/README.md)\n"
        f"FAIL  public url  {closed}/healthz does not answer (ClientConnectorError): is "
        "`chatops serve` running, and does the proxy or tunnel reach it?\n"
        "6 problem(s): fix them, then run `chatops doctor` again\n"
    )
    assert problems is True


async def test_no_platform_is_a_note_and_secrets_never_show(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'chatops.sqlite3'}"
    await migrate(database_url)
    config = load_config(None, {"CHATOPS__DATABASE__URL": database_url})

    text, problems = await report(config)

    assert text == (
        "ok    config     built-in defaults (no file)\n"
        "ok    database   sqlite: migrations applied\n"
        "note  platforms  none enabled: `chatops shell` only; enable one in the file\n"
        "all checks passed\n"
    )
    assert problems is False


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
