"""The CI commands as a transcript through ``chatops shell``, against the fake GitHub.

The shell session is a channel of its own; its default repository makes ``#1`` mean the
fake's pull request. Replies are compared as the whole printed text.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

from bot.app import open_shell
from bot.config import Config, PermissionGrant, PermissionsSettings, Secret
from bot.config.platforms import GitHubSettings
from bot.messages import Level
from bot.store.database import Database
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.fakes.clock import FakeClock, utc_minute
from tests.fakes.github import FakeGitHub

REPO = "acme/web"
SHA = "5f3e2d1c0b9a8877665544332211000fedcba987"
TOKEN = "ghp_shell_test"


async def test_status_and_rescan_from_the_shell(database: Database) -> None:
    clock, output = FakeClock(), io.StringIO()
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        github.add_pull(REPO, 1, SHA, "fix-login", "octocat", title="Fix the login form")
        workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
        github.add_workflow_run(REPO, workflow, SHA, "fix-login", conclusion="failure")
        github.add_check_run(REPO, SHA, "test", conclusion="failure")
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
        log = logging.getLogger("tests.ci_shell")
        connector = ShellConnector(output)
        async with open_shell(config, database, connector, clock=clock, log=log) as pipeline:
            session = ShellSession(pipeline, connector, user="operator", reply_timeout=10.0)
            first_said: dict[str, datetime] = {}
            for line in ("use acme/web", "status #1", "rescan #1", "rescan #1", "status #2"):
                first_said.setdefault(line, clock.now())
                await session.run_line(line)
                clock.advance(10)

        assert github.reruns[0].run_id == 1
        assert github.violations == []
    runs = "https://github.com/acme/web/actions/runs/1"
    assert output.getvalue() == (
        "Default repository: acme/web\n"
        "`status #12` in this channel now means acme/web#12.\n"
        "\n"
        "CI for acme/web#1: 1 failing\n"
        "head: 5f3e2d1 (fix-login)\n"
        "pull request: open · Fix the login form\n"
        "check  state    link\n"
        "test   failure  https://github.com/acme/web/runs/1\n"
        "acme/web#1: https://github.com/acme/web/pull/1\n"
        "\n"
        "Rescan started: acme/web#1\n"
        "Re-ran 1 workflow run.\n"
        "Say `status acme/web#1` to see how it goes.\n"
        "run: #1\n"
        "head: 5f3e2d1\n"
        f"CI: {runs}\n"
        "\n"
        "Rescan already requested: acme/web#1\n"
        f"operator asked for it at {utc_minute(first_said['rescan #1'])} (10s ago); "
        "this request joins run #1.\n"
        "Say `status acme/web#1` to see how it goes.\n"
        "run: #1\n"
        "head: 5f3e2d1\n"
        f"CI: {runs}\n"
        "\n"
        "Not found: acme/web#2\n"
        "GitHub has no pull request acme/web#2 that the bot can see.\n"
    )
