"""``secrets audit``, ``secrets expiring`` and ``secrets usage`` as a transcript through
``chatops shell``, against the fake GitHub and a real store (SQLite and PostgreSQL).

The repository is seeded with one secret of each audit class; replies are compared as the
whole printed text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from bot.app import builtin_commands
from bot.config import Config, PermissionGrant, PermissionsSettings, Secret
from bot.config.platforms import GitHubSettings
from bot.context import Services
from bot.messages import Forge, Level, Platform
from bot.pipeline.assembly import build_pipeline
from bot.secrets.store import SecretRegistry, SecretUses
from bot.store.database import Database
from connectors.enabled import open_forges
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.transcripts import ShellDoor, Transcript

REPO = "acme/web"
SHA = "5f3e2d1c0b9a8877665544332211000fedcba987"
TOKEN = "ghp_secrets_shell"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RECENT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

CI = """\
name: CI
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
          OLD: ${{ secrets.OLD_KEY }}
          GH: ${{ secrets.GITHUB_TOKEN }}
  notify:
    runs-on: ubuntu-latest
    steps:
      - run: curl "${{ secrets.SLACK_WEBHOOK }}" -d "${{ secrets['ORG_NPM'] }}"
"""
DEPLOY = """\
name: Deploy
on:
  push:
    branches: [main]
jobs:
  release:
    uses: ./.github/workflows/release.yml
    secrets: inherit
  smoke:
    runs-on: ubuntu-latest
    steps:
      - run: ./smoke.sh ${{ secrets.MISSING_TOKEN }}
"""
RELEASE = """\
on:
  workflow_call:
jobs:
  upload:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: ./upload.sh ${{ secrets.DEPLOY_KEY }} ${{ secrets.AWS_KEY }}
"""
BROKEN = "jobs:\n  x: [\n"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def github(clock: FakeClock) -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        github.add_repo(REPO)
        yield github
        assert github.violations == []


@pytest.fixture
async def shell(
    database: Database, github: FakeGitHub, clock: FakeClock
) -> AsyncIterator[Transcript[str]]:
    """The operator's ``chatops shell`` session, with the fake GitHub as its forge."""
    output = io.StringIO()
    config = Config(
        permissions=PermissionsSettings(
            grants=(PermissionGrant(level=Level.WRITE, platform="shell", users=("*",)),)
        ),
        github=GitHubSettings(
            enabled=True,
            api_url=github.url,
            token=Secret("env:GITHUB_TOKEN", TOKEN),
            webhook_secrets=(Secret("env:GITHUB_WEBHOOK_SECRET", "unused"),),
        ),
    )
    log = logging.getLogger("tests.secrets_shell")
    async with open_forges(config, clock, log) as forges:
        connector = ShellConnector(output)
        pipeline = build_pipeline(
            config,
            database,
            commands=builtin_commands(),
            connectors={Platform.SHELL: connector},
            services=Services(clock=clock, started_at=clock.now(), version="3.0.0", forges=forges),
            log=log,
        )
        session = ShellSession(pipeline, connector, user="operator", reply_timeout=10.0)
        yield Transcript(ShellDoor(session, output), clock, user="operator")


async def seed(github: FakeGitHub) -> None:
    """One secret of each class in acme/web, as of 2026-11-21."""
    secrets = github.secrets
    secrets.add_repo_secret(REPO, "OLD_KEY", created_at=RECENT)  # expired
    secrets.add_repo_secret(REPO, "NPM_TOKEN", created_at=RECENT)  # expiring
    secrets.add_repo_secret(REPO, "AWS_KEY", created_at=LONG_AGO)  # stale
    secrets.add_repo_secret(REPO, "LEGACY_TOKEN", created_at=RECENT)  # unused
    secrets.add_repo_secret(REPO, "SLACK_WEBHOOK", created_at=RECENT)  # untracked
    secrets.add_environment_secret(REPO, "production", "DEPLOY_KEY", created_at=RECENT)  # ok
    secrets.add_org_secret("acme", "ORG_NPM", visibility="selected", selected=(REPO,))
    secrets.add_org_secret("acme", "ORG_ELSEWHERE", visibility="selected", selected=("acme/x",))
    secrets.add_file(REPO, ".github/workflows/ci.yml", CI)
    secrets.add_file(REPO, ".github/workflows/deploy.yml", DEPLOY)
    secrets.add_file(REPO, ".github/workflows/release.yml", RELEASE)
    secrets.add_file(REPO, ".github/workflows/broken.yml", BROKEN)
    ci = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    github.add_workflow_run(REPO, ci, SHA, "main")  # started 2026-11-21
    registry, uses = SecretRegistry(), SecretUses()
    for name, expires in (
        ("OLD_KEY", date(2026, 11, 19)),
        ("NPM_TOKEN", date(2026, 11, 28)),
        ("AWS_KEY", date(2027, 6, 1)),
        ("LEGACY_TOKEN", date(2027, 6, 1)),
        ("DEPLOY_KEY", date(2027, 3, 1)),
    ):
        await registry.track(
            Forge.GITHUB,
            REPO,
            name,
            expires_on=expires,
            owner="@ops" if name == "NPM_TOKEN" else None,
            rotate_url=None,
            source="command",
            set_by="operator",
            now=NOW,
        )
    await uses.record(
        Forge.GITHUB,
        REPO,
        "DEPLOY_KEY",
        used_by="release",
        url=None,
        used_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        source="api",
    )


async def test_audit_lists_each_secret_under_its_class(
    shell: Transcript[str], github: FakeGitHub
) -> None:
    await seed(github)

    text = await shell.text(["secrets audit acme/web"])

    assert text == (
        "Secrets audit for acme/web: 1 expired, 1 expiring, 1 undefined, 1 stale, 1 unused, 2"
        " untracked, 1 ok\n"
        ".github/workflows/broken.yml could not be read for references: not valid YAML at line"
        " 3: did not find expected node content.\n"
        "class             secret         scope                   expires     rotated     last"
        " used   used by\n"
        "expired (2d ago)  OLD_KEY        repository              2026-11-19  2026-10-01"
        "  2026-11-21  ci.yml: build\n"
        "expiring (7d)     NPM_TOKEN      repository              2026-11-28  2026-10-01"
        "  2026-11-21  ci.yml: build\n"
        "undefined         MISSING_TOKEN  -                       -           -           -"
        "           deploy.yml: smoke\n"
        "stale             AWS_KEY        repository              2027-06-01  2026-06-01  -"
        "           deploy.yml: release; release.yml: upload\n"
        "unused            LEGACY_TOKEN   repository              2027-06-01  2026-10-01  -"
        "           -\n"
        "untracked         ORG_NPM        organization acme       -           2026-11-21"
        "  2026-11-21  ci.yml: notify\n"
        "untracked         SLACK_WEBHOOK  repository              -           2026-10-01"
        "  2026-11-21  ci.yml: notify\n"
        "ok                DEPLOY_KEY     environment production  2027-03-01  2026-10-01"
        "  2026-11-20  deploy.yml: release; release.yml: upload\n"
    )


async def test_audit_uses_the_channel_default_and_says_when_there_is_none(
    shell: Transcript[str],
) -> None:
    text = await shell.text(["secrets audit", "use acme/web", "secrets audit"])

    assert text == (
        "Wrong arguments for `secrets audit`\n"
        "`secrets audit` needs a repository: say `secrets audit owner/repo`, run it in a pull"
        " request's thread, or set this channel's repository with `use owner/repo`.\n"
        "Usage: secrets audit [REPO]\n"
        "Examples:\n"
        "  secrets audit\n"
        "  secrets audit acme/web\n"
        "\n"
        "Default repository: acme/web\n"
        "`status #12` in this channel now means acme/web#12.\n"
        "\n"
        "Secrets audit for acme/web: no secrets\n"
        "acme/web defines no CI secrets and its CI files reference none.\n"
    )


async def test_expiring_lists_tracked_secrets_of_subscribed_repositories(
    shell: Transcript[str], github: FakeGitHub
) -> None:
    await seed(github)

    text = await shell.text(
        [
            "secrets expiring",
            "subscribe acme/web alerts",
            "secrets expiring",
            "secrets expiring --within 120d",
            "secrets expiring --within 1d",
            "secrets expiring --within soon",
        ]
    )

    assert text == (
        "This channel is not subscribed to any repository\n"
        "Say `subscribe OWNER/REPO` here, then `secrets expiring` lists the tracked secrets of"
        " the repositories this channel follows.\n"
        "\n"
        "Subscribed to acme/web\n"
        "This channel gets alerts for acme/web.\n"
        "Say `unsubscribe acme/web` to stop.\n"
        "\n"
        "2 tracked secrets expiring within 30 days\n"
        "Repositories: acme/web.\n"
        "secret     repo      expires     left            owner  rotate\n"
        "OLD_KEY    acme/web  2026-11-19  expired 2d ago  -      -\n"
        "NPM_TOKEN  acme/web  2026-11-28  7d              @ops   -\n"
        "\n"
        "3 tracked secrets expiring within 120 days\n"
        "Repositories: acme/web.\n"
        "secret      repo      expires     left            owner  rotate\n"
        "OLD_KEY     acme/web  2026-11-19  expired 2d ago  -      -\n"
        "NPM_TOKEN   acme/web  2026-11-28  7d              @ops   -\n"
        "DEPLOY_KEY  acme/web  2027-03-01  100d            -      -\n"
        "\n"
        "1 tracked secret expiring within 1 day\n"
        "Repositories: acme/web.\n"
        "secret   repo      expires     left            owner  rotate\n"
        "OLD_KEY  acme/web  2026-11-19  expired 2d ago  -      -\n"
        "\n"
        "Wrong arguments for `secrets expiring`\n"
        "--within takes days or weeks such as 30d or 4w, not 'soon'.\n"
        "Usage: secrets expiring [--within DAYS]\n"
        "Examples:\n"
        "  secrets expiring\n"
        "  secrets expiring --within 7d\n"
    )


async def test_usage_reads_the_pull_requests_head_commit(
    shell: Transcript[str], github: FakeGitHub
) -> None:
    await seed(github)
    github.add_pull(REPO, 1, SHA, "rotate-npm", "octocat", title="Rotate npm")
    head_ci = CI.replace("secrets.OLD_KEY", "secrets.NEW_KEY")
    github.secrets.add_file(REPO, ".github/workflows/ci.yml", head_ci, ref=SHA)

    text = await shell.text(["secrets usage acme/web#1", "secrets usage acme/web#2"])

    assert text == (
        "Secrets used by acme/web#1: 4\n"
        "secret         file    job     last used\n"
        "NEW_KEY        ci.yml  build   2026-11-21\n"
        "NPM_TOKEN      ci.yml  build   2026-11-21\n"
        "ORG_NPM        ci.yml  notify  2026-11-21\n"
        "SLACK_WEBHOOK  ci.yml  notify  2026-11-21\n"
        "\n"
        "Not found: acme/web#2\n"
        "GitHub has no pull request acme/web#2 that the bot can see.\n"
    )
