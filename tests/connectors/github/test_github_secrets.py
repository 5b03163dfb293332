"""``GitHubForge.secrets`` / ``ci_files`` / ``latest_runs`` against the fake GitHub.

Through the real ``GitHubClient`` and gidgethub, as the server opens them. Each test
compares whole results, checks the fake's answers against the OpenAPI response schemas
where it reads them, and ends with the contract check: ``violations == []``.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.config import BotSettings, Secret
from bot.config.platforms import GitHubSettings
from bot.forge import CheckState, CiFile, CiRun, CiSecret, Forbidden, NotFound, SecretScope
from connectors.github.forge import GitHubForge
from connectors.github.integration import open_github
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_secrets_token"
REPO = "acme/widgets"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEB = "https://github.com"


@dataclass
class Setup:
    github: FakeGitHub
    forge: GitHubForge
    clock: FakeClock
    log: list[str]


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock(NOW)
    log = logging.getLogger("chatops.test.github_secrets")
    lines: list[str] = []
    handler = _Lines(lines)
    log.addHandler(handler)
    try:
        async with FakeGitHub(clock=clock.now) as github:
            github.add_token(TOKEN)
            github.add_repo(REPO)
            settings = GitHubSettings(
                enabled=True, api_url=github.url, token=Secret("env:GITHUB_TOKEN", TOKEN)
            )
            async with open_github(settings, BotSettings(), clock) as access:
                yield Setup(github, GitHubForge(access.client, clock, log), clock, lines)
    finally:
        log.removeHandler(handler)


def secret(
    name: str, scope: SecretScope, scope_name: str, days_ago: int, *attributes: str
) -> CiSecret:
    return CiSecret(
        name=name,
        scope=scope,
        scope_name=scope_name,
        created_at=NOW - DAY * days_ago,
        updated_at=NOW - DAY * days_ago,
        attributes=attributes,
    )


async def test_every_scope_is_listed_sorted_with_dates_and_no_values(setup: Setup) -> None:
    seed = setup.github.secrets
    seed.add_repo_secret(REPO, "NPM_TOKEN", created_at=NOW - DAY * 3)
    seed.add_repo_secret(REPO, "AWS_KEY", created_at=NOW - DAY * 9)
    seed.add_environment_secret(REPO, "production", "DEPLOY_KEY", created_at=NOW - DAY * 2)
    seed.add_environment_secret(REPO, "staging", "DEPLOY_KEY", created_at=NOW - DAY * 4)
    seed.add_org_secret("acme", "ORG_ALL", created_at=NOW - DAY * 5)
    seed.add_org_secret("acme", "ORG_PRIVATE", visibility="private", created_at=NOW - DAY)
    seed.add_org_secret(
        "acme", "ORG_MINE", visibility="selected", selected=("acme/other", REPO), created_at=NOW
    )
    seed.add_org_secret(
        "acme", "ORG_NOT_MINE", visibility="selected", selected=("acme/other",), created_at=NOW
    )
    seed.add_dependabot_secret(REPO, "REGISTRY_TOKEN", created_at=NOW - DAY * 6)

    found = await setup.forge.secrets(REPO)

    organization = SecretScope.ORGANIZATION
    assert found == [
        secret("AWS_KEY", SecretScope.REPOSITORY, REPO, 9),
        secret("NPM_TOKEN", SecretScope.REPOSITORY, REPO, 3),
        secret("DEPLOY_KEY", SecretScope.ENVIRONMENT, "production", 2),
        secret("DEPLOY_KEY", SecretScope.ENVIRONMENT, "staging", 4),
        secret("ORG_ALL", organization, "acme", 5, "visibility:all"),
        secret("ORG_MINE", organization, "acme", 0, "visibility:selected"),
        secret("REGISTRY_TOKEN", SecretScope.DEPENDABOT, REPO, 6),
    ]
    assert setup.github.violations == []


async def test_private_org_secrets_reach_private_repositories(setup: Setup) -> None:
    setup.github.add_repo(REPO, private=True)
    setup.github.secrets.add_org_secret("acme", "ORG_PRIVATE", visibility="private")

    found = await setup.forge.secrets(REPO)

    assert found == [
        secret("ORG_PRIVATE", SecretScope.ORGANIZATION, "acme", 0, "visibility:private")
    ]
    called = sorted(call.operation_id or "" for call in setup.github.calls)
    assert called == [
        "actions/list-org-secrets",
        "actions/list-repo-secrets",
        "dependabot/list-repo-secrets",
        "repos/get",
        "repos/get-all-environments",
    ]
    assert setup.github.violations == []


async def test_every_page_is_read(setup: Setup) -> None:
    names = [f"SECRET_{index:03d}" for index in range(230)]
    for name in names:
        setup.github.secrets.add_repo_secret(REPO, name)
    selected = [f"acme/repo-{index:03d}" for index in range(150)] + [REPO]
    setup.github.secrets.add_org_secret("acme", "SHARED", visibility="selected", selected=selected)

    found = await setup.forge.secrets(REPO)

    assert [(s.name, s.scope) for s in found] == [
        *((name, SecretScope.REPOSITORY) for name in names),
        ("SHARED", SecretScope.ORGANIZATION),
    ]
    pages = [
        call.query.get("page", "1") for call in setup.github.calls_to("actions/list-repo-secrets")
    ]
    assert pages == ["1", "2", "3"]
    repo_pages = setup.github.calls_to("actions/list-selected-repos-for-org-secret")
    assert [call.query.get("page", "1") for call in repo_pages] == ["1", "2"]
    assert setup.github.violations == []


async def test_a_403_on_organization_secrets_leaves_the_rest_and_is_logged(setup: Setup) -> None:
    setup.github.secrets.add_repo_secret(REPO, "NPM_TOKEN", created_at=NOW)
    setup.github.secrets.add_org_secret("acme", "ORG_ALL")
    setup.github.fail_next(
        "actions/list-org-secrets", 403, body={"message": "Resource not accessible by integration"}
    )

    found = await setup.forge.secrets(REPO)

    assert found == [secret("NPM_TOKEN", SecretScope.REPOSITORY, REPO, 0)]
    assert setup.log == [
        "WARNING organization secrets of acme are not visible to the bot (403); "
        "the inventory of acme/widgets leaves them out"
    ]
    assert setup.github.violations == []


async def test_a_user_repository_has_no_organization_secrets(setup: Setup) -> None:
    setup.github.add_repo("octocat/dotfiles")
    setup.github.secrets.add_repo_secret("octocat/dotfiles", "TOKEN", created_at=NOW)

    found = await setup.forge.secrets("octocat/dotfiles")

    assert found == [secret("TOKEN", SecretScope.REPOSITORY, "octocat/dotfiles", 0)]
    assert setup.log == []
    assert setup.github.violations == []


async def test_a_403_on_repository_secrets_is_forbidden(setup: Setup) -> None:
    message = "Resource not accessible by integration"
    setup.github.fail_next("actions/list-repo-secrets", 403, body={"message": message})

    with pytest.raises(Forbidden) as raised:
        await setup.forge.secrets(REPO)

    assert (raised.value.platform, raised.value.message, raised.value.status) == (
        "GitHub",
        message,
        403,
    )


async def test_a_missing_repository_is_not_found(setup: Setup) -> None:
    with pytest.raises(NotFound) as raised:
        await setup.forge.secrets("acme/nothing")
    assert (raised.value.what, raised.value.name) == ("repository", "acme/nothing")


WORKFLOW = "on: push\njobs:\n  test:\n    steps:\n      - run: echo ${{ secrets.NPM_TOKEN }}\n"
DEPLOY = "on:\n  workflow_call:\njobs:\n  go:\n    steps: [{run: é}]\n"


async def test_workflow_files_are_read_at_the_ref(setup: Setup) -> None:
    seed, sha = setup.github.secrets, "c" * 40
    seed.add_file(REPO, ".github/workflows/ci.yml", WORKFLOW)
    seed.add_file(REPO, ".github/workflows/deploy.yaml", DEPLOY)
    seed.add_file(REPO, ".github/workflows/README.md", "not a workflow")
    seed.add_file(REPO, ".github/workflows/scripts/run.yml", "in a sub-directory")
    seed.add_file(REPO, ".github/dependabot.yml", "version: 2")
    seed.add_file(REPO, ".github/workflows/ci.yml", "on: pull_request\n", ref=sha)

    assert await setup.forge.ci_files(REPO) == [
        CiFile(".github/workflows/ci.yml", WORKFLOW),
        CiFile(".github/workflows/deploy.yaml", DEPLOY),
    ]
    assert await setup.forge.ci_files(REPO, sha) == [
        CiFile(".github/workflows/ci.yml", "on: pull_request\n")
    ]
    file_call = setup.github.calls_to("repos/get-content")[1]
    assert (file_call.path, file_call.query) == (
        f"/repos/{REPO}/contents/.github/workflows/ci.yml",
        {},
    )
    assert setup.github.calls_to("repos/get-content")[-1].query == {"ref": sha}
    assert setup.github.violations == []


async def test_the_fake_answers_as_the_schemas_say(setup: Setup) -> None:
    seed = setup.github.secrets
    seed.add_repo_secret(REPO, "NPM_TOKEN")
    seed.add_environment_secret(REPO, "production", "DEPLOY_KEY")
    seed.add_org_secret("acme", "SHARED", visibility="selected", selected=(REPO,))
    seed.add_dependabot_secret(REPO, "REGISTRY_TOKEN")
    seed.add_file(REPO, ".github/workflows/ci.yml", WORKFLOW)
    reads = {
        "actions/list-repo-secrets": f"/repos/{REPO}/actions/secrets",
        "dependabot/list-repo-secrets": f"/repos/{REPO}/dependabot/secrets",
        "repos/get-all-environments": f"/repos/{REPO}/environments",
        "actions/list-environment-secrets": f"/repos/{REPO}/environments/production/secrets",
        "actions/list-org-secrets": "/orgs/acme/actions/secrets",
        "actions/list-selected-repos-for-org-secret": (
            "/orgs/acme/actions/secrets/SHARED/repositories"
        ),
    }
    async with aiohttp.ClientSession() as session:
        api = GitHubAPI(session, "chatops-test", oauth_token=TOKEN, base_url=setup.github.url)
        for operation, url in reads.items():
            body = await api.getitem(url)
            assert (operation, setup.github.contract.response_problems(operation, 200, body)) == (
                operation,
                [],
            )
        listing = await api.getitem(f"/repos/{REPO}/contents/.github/workflows")
        file = await api.getitem(f"/repos/{REPO}/contents/.github/workflows/ci.yml")
    problems = setup.github.contract.response_problems
    assert problems("repos/get-content", 200, listing) == []
    assert problems("repos/get-content", 200, file) == []
    assert [entry["path"] for entry in listing] == [".github/workflows/ci.yml"]
    assert base64.b64decode(file["content"]).decode() == WORKFLOW
    assert setup.github.violations == []


async def test_no_workflows_directory_means_no_files(setup: Setup) -> None:
    assert await setup.forge.ci_files(REPO) == []
    assert await setup.forge.ci_files(REPO, "d" * 40) == []
    assert setup.github.violations == []


async def test_latest_runs_keep_the_newest_run_of_each_workflow(setup: Setup) -> None:
    github = setup.github
    ci = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    deploy = github.add_workflow(REPO, "Deploy", ".github/workflows/deploy.yml")
    github.add_workflow_run(REPO, ci, "a" * 40, "main")
    setup.clock.advance(60)
    github.add_workflow_run(REPO, deploy, "a" * 40, "main", conclusion="failure")
    setup.clock.advance(60)
    newest = github.add_workflow_run(REPO, ci, "b" * 40, "main")

    runs = await setup.forge.latest_runs(REPO)

    def run(run_id: int, name: str, sha: str, conclusion: str, minutes: int) -> CiRun:
        at = NOW + timedelta(minutes=minutes)
        return CiRun(
            id=str(run_id),
            name=name,
            state=CheckState.COMPLETED,
            conclusion=conclusion,
            url=f"{WEB}/{REPO}/actions/runs/{run_id}",
            head_sha=sha,
            actor="chatops-bot",
            event="push",
            attempt=1,
            started_at=at,
            finished_at=at,
        )

    assert runs == {
        ".github/workflows/ci.yml": run(newest, "CI", "b" * 40, "success", 2),
        ".github/workflows/deploy.yml": run(2, "Deploy", "a" * 40, "failure", 1),
    }
    assert github.violations == []
