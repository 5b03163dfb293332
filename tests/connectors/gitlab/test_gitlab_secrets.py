"""``GitLabForge``'s secrets side against the fake GitLab: the CI/CD variable inventory
(project, environment-scoped and ancestor-group variables), the sentinel proof that no
variable value crosses the client boundary, the CI files with their local includes, and the
latest pipeline."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.config import BotSettings, Secret
from bot.config.platforms import GitLabSettings
from bot.forge import CheckState, CiFile, CiRun, CiSecret, ForgeError, NotFound, SecretScope
from connectors.gitlab.api import GitLabApi
from connectors.gitlab.forge import GitLabForge
from connectors.gitlab.integration import open_gitlab
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.gitlab_ci import WEB, Variable

TOKEN = "glpat-secrets-token"
REPO = "acme/platform/widgets"
SHA = "d" * 40
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SENTINEL = "s3ntinel-VALUE-9f1c2e7d"


@dataclass
class Setup:
    gitlab: FakeGitLab
    forge: GitLabForge
    api: GitLabApi


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock(NOW)
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab:
        gitlab.ci.clock = clock.now
        gitlab.add_project(REPO, project_id=31)
        settings = GitLabSettings(
            enabled=True, base_url=gitlab.url, token=Secret("env:GITLAB_TOKEN", TOKEN)
        )
        async with open_gitlab(settings, BotSettings()) as api:
            yield Setup(gitlab, GitLabForge(api, clock), api)


def seed_variables(setup: Setup, value: str = "not-a-secret") -> None:
    ci = setup.gitlab.ci
    ci.add_variable(REPO, Variable("DEPLOY_TOKEN", value, protected=True, masked=True))
    ci.add_variable(REPO, Variable("STAGING_KEY", value, environment_scope="staging"))
    ci.add_variable(REPO, Variable("KUBECONFIG", value, variable_type="file", raw=True))
    ci.add_group_variable("acme/platform", Variable("REGISTRY_PASSWORD", value, masked=True))
    ci.add_group_variable("acme", Variable("ORG_TOKEN", value, hidden=True, masked=True))
    ci.add_group_variable("acme", Variable("PROD_ONLY", value, environment_scope="production"))


INVENTORY = [
    CiSecret("DEPLOY_TOKEN", SecretScope.REPOSITORY, REPO, attributes=("masked", "protected")),
    CiSecret("KUBECONFIG", SecretScope.REPOSITORY, REPO, attributes=("file", "raw")),
    CiSecret("STAGING_KEY", SecretScope.ENVIRONMENT, "staging"),
    CiSecret("ORG_TOKEN", SecretScope.ORGANIZATION, "acme", attributes=("hidden", "masked")),
    CiSecret("PROD_ONLY", SecretScope.ORGANIZATION, "acme", attributes=("environment:production",)),
    CiSecret(
        "REGISTRY_PASSWORD", SecretScope.ORGANIZATION, "acme/platform", attributes=("masked",)
    ),
]


async def test_the_inventory_lists_project_environment_and_ancestor_group_variables(
    setup: Setup,
) -> None:
    seed_variables(setup)

    assert await setup.forge.secrets(REPO) == INVENTORY
    assert [(call.path, call.status) for call in setup.gitlab.calls] == [
        ("/api/v4/projects/acme%2Fplatform%2Fwidgets/variables", 200),
        ("/api/v4/groups/acme%2Fplatform/variables", 200),
        ("/api/v4/groups/acme/variables", 200),
    ]


async def test_groups_the_token_may_not_read_or_that_are_not_groups_are_skipped(
    setup: Setup,
) -> None:
    seed_variables(setup)
    setup.gitlab.ci.forbidden_groups.add("acme")
    del setup.gitlab.ci.group_variables["acme/platform"]

    assert await setup.forge.secrets(REPO) == INVENTORY[:3]
    assert [call.status for call in setup.gitlab.calls] == [200, 404, 403]


async def test_a_missing_project_is_not_found(setup: Setup) -> None:
    with pytest.raises(NotFound) as missing:
        await setup.forge.secrets("acme/nothing")

    assert (missing.value.what, missing.value.name) == ("repository", "acme/nothing")


async def test_no_variable_value_leaves_the_client(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed_variables(setup, value=SENTINEL)
    # the fake really serves the values, as GitLab does: the checks below can fail
    served = await setup.api.getitem("/projects/acme%2Fplatform%2Fwidgets/variables")
    assert SENTINEL in repr(served)

    secrets = await setup.forge.secrets(REPO)
    setup.gitlab.fail_next("* /api/v4/groups/acme/variables", 500)
    with pytest.raises(ForgeError) as failed:
        await setup.forge.secrets(REPO)  # after two lists with values were read

    assert secrets == INVENTORY
    error = failed.value
    exposed = [
        repr(secrets),
        str(secrets),
        *(repr(vars_of(secret)) for secret in secrets),
        repr(error),
        str(error),
        error.message,
        repr(error.__cause__),
        str(error.__cause__),
    ]
    assert [text for text in exposed if SENTINEL in text] == []
    logged = [
        f"{record.getMessage()} {record.args!r} {record.exc_text}" for record in caplog.records
    ]
    assert [line for line in logged if SENTINEL in line] == []


def vars_of(secret: CiSecret) -> dict[str, object]:
    return {name: getattr(secret, name) for name in secret.__slots__}


# CI files and runs


GITLAB_CI = """\
include:
  - local: /ci/build.yml
  - ci/test.yml
  - remote: https://example.com/shared.yml
  - local: ci/*.yml
  - project: other/project
    file: /templates/deploy.yml
  - template: Security/SAST.gitlab-ci.yml
build:
  script: make
"""
BUILD = "include:\n  local: ci/common.yml\nbuild:\n  script: make $DEPLOY_TOKEN\n"
COMMON = "variables:\n  GREETING: hello\n"


async def test_ci_files_are_the_ci_file_and_its_local_includes_at_a_ref(setup: Setup) -> None:
    ci = setup.gitlab.ci
    ci.add_file(REPO, ".gitlab-ci.yml", GITLAB_CI, ref="feature")
    ci.add_file(REPO, "ci/build.yml", BUILD, ref="feature")
    ci.add_file(REPO, "ci/common.yml", COMMON, ref="feature")
    ci.add_file(REPO, ".gitlab-ci.yml", "test:\n  script: pytest\n")

    assert await setup.forge.ci_files(REPO, "feature") == [
        CiFile(".gitlab-ci.yml", GITLAB_CI),
        CiFile("ci/build.yml", BUILD),
        CiFile("ci/common.yml", COMMON),
    ]
    assert await setup.forge.ci_files(REPO) == [
        CiFile(".gitlab-ci.yml", "test:\n  script: pytest\n")
    ]
    raw = [
        (call.path, call.query, call.status)
        for call in setup.gitlab.calls
        if call.path.endswith("/raw")
    ]
    base = "/api/v4/projects/acme%2Fplatform%2Fwidgets/repository/files"
    assert raw == [
        (f"{base}/.gitlab-ci.yml/raw", {"ref": "feature"}, 200),
        (f"{base}/ci%2Fbuild.yml/raw", {"ref": "feature"}, 200),
        (f"{base}/ci%2Ftest.yml/raw", {"ref": "feature"}, 404),
        (f"{base}/ci%2Fcommon.yml/raw", {"ref": "feature"}, 200),
        (f"{base}/.gitlab-ci.yml/raw", {}, 200),
    ]


async def test_no_ci_file_is_no_files_and_no_project_is_not_found(setup: Setup) -> None:
    assert await setup.forge.ci_files(REPO) == []
    with pytest.raises(NotFound) as missing:
        await setup.forge.ci_files("acme/nothing")
    assert (missing.value.what, missing.value.name) == ("repository", "acme/nothing")


async def test_latest_runs_is_the_newest_pipeline_that_is_not_a_child(setup: Setup) -> None:
    ci = setup.gitlab.ci
    assert await setup.forge.latest_runs(REPO) == {}
    ci.add_pipeline(REPO, SHA, "main")
    newest = ci.add_pipeline(REPO, SHA, "main", status="failed", user="carol")
    ci.add_pipeline(REPO, SHA, "main", source="parent_pipeline")

    assert await setup.forge.latest_runs(REPO) == {
        ".gitlab-ci.yml": CiRun(
            id=str(newest),
            name=f"pipeline #{newest}",
            state=CheckState.COMPLETED,
            conclusion="failed",
            url=f"{WEB}/{REPO}/-/pipelines/{newest}",
            head_sha=SHA,
            actor="carol",
            event="push",
            started_at=NOW,
            finished_at=NOW,
        )
    }
