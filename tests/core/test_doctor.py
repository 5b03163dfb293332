"""``chatops doctor`` against the fake platforms: the whole report, for a good and a broken
configuration, through the real client libraries and a real database.

The forges' webhooks are read for the repositories the configuration names
(``[[ci.workflows]]``) and the ones given as ``--repo``: on GitHub (token mode) each
repository's hook, on GitLab each project's, or the hook of a group it belongs to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import create_app
from bot.cli import main
from bot.clock import SystemClock
from bot.config import Config, load_config
from bot.doctor import diagnose, failed, render
from bot.store.database import dialect_of
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


WORKFLOWS = """
[[ci.workflows]]
repo = "acme/web"
workflow = "ci.yml"

[[ci.workflows]]
repo = "acme/platform/api"
workflow = "ci"
forge = "gitlab"
"""
GITLAB_FLAGS = {
    "note_events": True,
    "pipeline_events": True,
    "merge_requests_events": True,
    "push_events": False,
}
GITHUB_EVENTS = ["issue_comment", "pull_request_review_comment", "workflow_run", "check_suite"]
MAINTAINER, OWNER = 40, 50


def write_config(
    path: Path, f: Fakes, database_url: str, public_url: str, extra: str = "", **names: str
) -> Path:
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
{extra}""",
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


async def report(config: Config, repos: tuple[str, ...] = ()) -> tuple[str, bool]:
    findings = await diagnose(
        config,
        platform_checks(config, SystemClock(), repos),
        webhook_platforms=webhook_platforms(config),
        request_timeout=5.0,
    )
    return render(findings, [s.reveal() for s in config.config_secrets()]), failed(findings)


async def test_a_good_configuration_passes_every_check(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On SQLite and PostgreSQL; ``chatops doctor --repo`` prints the same report."""
    await migrate(database_url)
    async with fakes() as f, bot_web(database_url) as public_url:
        f.github.add_hook("acme/web", f"{public_url}/webhooks/github", GITHUB_EVENTS)
        gitlab_url = f"{public_url}/webhooks/gitlab"
        api = f.gitlab.add_project("acme/platform/api")
        f.gitlab.set_access_level(api.id, f.gitlab.bot, MAINTAINER)
        f.gitlab.hooks.add_hook(gitlab_url, GITLAB_FLAGS, project_id=api.id)
        # a project without a hook of its own, in a group that has one
        tools = f.gitlab.add_project("acme/tools")
        f.gitlab.set_access_level(tools.id, f.gitlab.bot, MAINTAINER)
        acme = f.gitlab.hooks.add_group("acme")
        f.gitlab.hooks.set_group_access_level("acme", f.gitlab.bot.id, OWNER)
        f.gitlab.hooks.add_hook(gitlab_url, GITLAB_FLAGS, group_id=acme)
        path = write_config(tmp_path / "chatops.toml", f, database_url, public_url, WORKFLOWS)
        text, problems = await report(load_config(path, environ()), ("gitlab:acme/tools",))
        for name, value in environ().items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        argv = ["--config", str(path), "doctor", "--repo", "gitlab:acme/tools"]
        status = await asyncio.to_thread(main, argv)
        printed = capsys.readouterr().out
        violations = [*f.github.violations, *f.gitlab.violations]

    assert text == (
        f"ok    config          {path}\n"
        f"ok    database        {dialect_of(database_url)}: migrations applied\n"
        "ok    github          token of chatops-bot\n"
        f"ok    github webhook  acme/web: webhook 1 posts to {public_url}/webhooks/github with "
        "the events needed\n"
        "ok    gitlab          token of chatops-bot\n"
        "ok    gitlab webhook  acme/platform/api: webhook 1 sends comments, pipeline events, "
        "merge request events\n"
        "ok    gitlab webhook  acme/tools (group acme): webhook 2 sends comments, pipeline "
        "events, merge request events\n"
        "ok    slack           bot grace in workspace Subarachnoid Workspace\n"
        "ok    slack           Socket Mode: a connection can be opened\n"
        f"ok    discord         bot chatops (id {APPLICATION_ID})\n"
        f"note  public url      {public_url} is this machine only: GitHub, GitLab cannot post "
        "to it; set bot.public_url to your reverse proxy's or tunnel's address "
        "(deploy/README.md)\n"
        f"ok    public url      {public_url}/healthz answers\n"
        "all checks passed\n"
    )
    assert problems is False
    assert (status, printed) == (0, text)
    assert violations == []


async def test_a_broken_configuration_says_what_to_fix_for_each_item(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'chatops.sqlite3'}"  # never migrated
    closed = _closed_port_url()
    async with fakes() as f:
        # acme/web sends too little, as form data; acme/api's hook posts to an old address
        f.github.add_hook(
            "acme/web", f"{closed}/webhooks/github", ["issue_comment"], content_type="form"
        )
        f.github.add_hook("acme/api", "https://old.example.com/webhooks/github", GITHUB_EVENTS)
        # the first repository asked about: the token may not read its hooks
        f.github.fail_next(
            "repos/list-webhooks", 403, body={"message": "Must have admin rights to Repository."}
        )
        path = write_config(
            tmp_path / "chatops.toml",
            f,
            database_url,
            closed,
            WORKFLOWS,
            github_login="someone-else",
            application_id="123456789012345678",
        )
        config = load_config(
            path,
            environ(GITLAB_TOKEN="glpat-revoked", SLACK_APP_TOKEN="xapp-wrong-app-token"),
        )
        text, problems = await report(config, ("github:acme/api", "github:acme/admin-tools"))

    setup = "run `chatops github setup-repo"
    assert text == (
        f"ok    config          {path}\n"
        f"FAIL  database        sqlite: {len(MIGRATIONS)} migration(s) pending: run "
        "`chatops migrate`\n"
        'FAIL  github          the token is chatops-bot\'s but github.bot_login is "someone-else": '
        'set bot_login = "chatops-bot", or the bot reads its own comments\n'
        "FAIL  github webhook  acme/admin-tools: GitHub answered 403 for its webhooks: the "
        "token may not read its webhooks (fine-grained: Webhooks read; classic: "
        "read:repo_hook)\n"
        f"FAIL  github webhook  acme/api: no webhook posts to {closed}/webhooks/github (one posts "
        f"to https://old.example.com/webhooks/github): {setup} acme/api`\n"
        "FAIL  github webhook  acme/web: webhook 1 does not send pull_request_review_comment, "
        f"workflow_run, check_suite events: {setup} acme/web`\n"
        "FAIL  gitlab          GitLab answered 401: check gitlab.token\n"
        "ok    slack           bot grace in workspace Subarachnoid Workspace\n"
        "FAIL  slack           apps.connections.open: invalid_auth: check slack.app_token "
        "(an app-level token with connections:write) and that Socket Mode is on\n"
        f"ok    discord         bot chatops (id {APPLICATION_ID})\n"
        f"FAIL  discord         the token belongs to application {APPLICATION_ID} but "
        f'discord.application_id is "123456789012345678": set it to "{APPLICATION_ID}"\n'
        f"note  public url      {closed} is this machine only: GitHub, GitLab cannot post to "
        "it; set bot.public_url to your reverse proxy's or tunnel's address "
        "(deploy/README.md)\n"
        f"FAIL  public url      {closed}/healthz does not answer (ClientConnectorError): is "
        "`chatops serve` running, and does the proxy or tunnel reach it?\n"
        "9 problem(s): fix them, then run `chatops doctor` again\n"
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
