"""``GitHubForge`` against the fake GitHub, through the real ``GitHubClient`` and gidgethub.

The client is opened by ``open_github``, as the server and ``chatops shell`` open it. Every
test compares whole results (dataclasses, whole errors) and ends with the fake's contract
check: ``violations == []``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import BotSettings, Config, Secret
from bot.config.platforms import GitHubSettings
from bot.forge import (
    Change,
    ChangeState,
    Check,
    CheckState,
    CiRun,
    Forbidden,
    ForgeError,
    Job,
    NotFound,
)
from bot.messages import Forge, Platform, ReplyTarget, Target, TargetKind
from bot.store.database import Database
from connectors.enabled import open_forges
from connectors.github.forge import GitHubForge
from connectors.github.integration import open_github
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Dispatch, Rerun
from tests.github_stack import APP_ID, app_key

TOKEN = "ghp_forge_token"
REPO = "acme/widgets"
SHA = "a" * 40
OTHER_SHA = "b" * 40
WEB = "https://github.com"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LOG = logging.getLogger("chatops.test")


@dataclass
class Setup:
    github: FakeGitHub
    forge: GitHubForge
    clock: FakeClock


def settings(api_url: str, **extra: object) -> GitHubSettings:
    values: dict[str, object] = {"enabled": True, "api_url": api_url, **extra}
    if "app_id" not in extra:
        values["token"] = Secret("env:GITHUB_TOKEN", TOKEN)
    return GitHubSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock(NOW)
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        async with open_github(settings(github.url), BotSettings(), clock) as access:
            yield Setup(github, GitHubForge(access.client, clock), clock)


def errors(exc: ForgeError) -> tuple[type, str, str, int | None]:
    """An error as a user meets it: its kind, platform, message and status."""
    return (type(exc), exc.platform, exc.message, exc.status)


def run_url(run_id: int) -> str:
    return f"{WEB}/{REPO}/actions/runs/{run_id}"


# Pull requests


async def test_change_reads_open_closed_merged_and_fork_pull_requests(setup: Setup) -> None:
    github, forge = setup.github, setup.forge
    github.add_pull(REPO, 7, SHA, "feature", "alice", title="Add widgets", base_ref="develop")
    github.add_pull(REPO, 8, OTHER_SHA, "patch-1", "mallory", fork=True)
    github.add_pull(REPO, 9, SHA, "old", "alice", state="closed")
    github.add_pull(REPO, 10, SHA, "done", "alice", merged=True)

    changes = [await forge.change(REPO, number) for number in (7, 8, 9, 10)]

    def change(number: int, **fields: object) -> Change:
        values: dict[str, object] = {
            "target": Target(REPO, TargetKind.PULL_REQUEST, number, Forge.GITHUB),
            "title": f"Pull request {number}",
            "url": f"{WEB}/{REPO}/pull/{number}",
            "author": "alice",
            "head_sha": SHA,
            "base_ref": "main",
            "fork": False,
            "state": ChangeState.OPEN,
            **fields,
        }
        return Change(**values)  # type: ignore[arg-type]

    assert changes == [
        change(7, title="Add widgets", head_ref="feature", base_ref="develop"),
        change(8, author="mallory", head_sha=OTHER_SHA, head_ref="patch-1", fork=True),
        change(9, head_ref="old", state=ChangeState.CLOSED),
        change(10, head_ref="done", state=ChangeState.MERGED),
    ]
    assert setup.github.violations == []


async def test_a_missing_pull_request_and_a_missing_repository_are_told_apart(
    setup: Setup,
) -> None:
    setup.github.add_pull(REPO, 7, SHA, "feature", "alice")

    with pytest.raises(NotFound) as no_pull:
        await setup.forge.change(REPO, 99)
    with pytest.raises(NotFound) as no_repo:
        await setup.forge.change("acme/nothing", 1)

    assert (no_pull.value.what, no_pull.value.name, errors(no_pull.value)) == (
        "pull request",
        f"{REPO}#99",
        (NotFound, "GitHub", f"GitHub has no pull request {REPO}#99 that the bot can see.", 404),
    )
    assert (no_repo.value.what, no_repo.value.name, errors(no_repo.value)) == (
        "repository",
        "acme/nothing",
        (NotFound, "GitHub", "GitHub has no repository acme/nothing that the bot can see.", 404),
    )
    assert [c.operation_id for c in setup.github.calls] == [
        "pulls/get",
        "repos/get",
        "pulls/get",
        "repos/get",
    ]
    assert setup.github.violations == []


async def test_a_repository_added_without_pulls_exists_but_its_pulls_do_not(setup: Setup) -> None:
    setup.github.add_repo(REPO, private=True)

    with pytest.raises(NotFound) as missing:
        await setup.forge.change(REPO, 1)

    assert (missing.value.what, missing.value.name) == ("pull request", f"{REPO}#1")
    assert setup.github.violations == []


# Checks and runs


async def test_checks_reads_every_page_of_check_runs_then_the_commit_statuses(
    setup: Setup,
) -> None:
    github = setup.github
    ids = [github.add_check_run(REPO, SHA, f"check {n:03}") for n in range(105)]
    running = github.add_check_run(REPO, SHA, "slow", status="in_progress", conclusion=None)
    github.add_check_run(REPO, OTHER_SHA, "elsewhere")
    github.add_status(REPO, SHA, "ci/legacy", "pending")
    github.add_status(REPO, SHA, "ci/legacy", "failure", target_url="https://ci.example/1")
    github.add_status(REPO, SHA, "ci/queue", "pending")
    github.add_status(REPO, SHA, "ci/lint", "success", target_url="https://ci.example/2")

    checks = await setup.forge.checks(REPO, SHA)

    older = [(check_id, f"check {n:03}") for n, check_id in enumerate(ids)]
    newest_first = [(running, "slow"), *reversed(older)]
    assert checks == [
        Check(
            kind="check_run",
            name=name,
            state=CheckState.IN_PROGRESS if check_id == running else CheckState.COMPLETED,
            conclusion=None if check_id == running else "success",
            url=f"{WEB}/{REPO}/runs/{check_id}",
            started_at=NOW,
            finished_at=None if check_id == running else NOW,
        )
        for check_id, name in newest_first
    ] + [
        Check(
            "status", "ci/lint", CheckState.COMPLETED, "success", "https://ci.example/2", None, NOW
        ),
        Check("status", "ci/queue", CheckState.IN_PROGRESS, None, None),
        Check(
            "status",
            "ci/legacy",
            CheckState.COMPLETED,
            "failure",
            "https://ci.example/1",
            None,
            NOW,
        ),
    ]
    pages = [call.query for call in github.calls_to("checks/list-for-ref")]
    assert pages == [
        {"filter": "latest", "per_page": "100"},
        {"filter": "latest", "per_page": "100", "page": "2"},
    ]
    assert github.violations == []


async def test_ci_runs_reads_every_page_and_keeps_the_newest_run_per_workflow(
    setup: Setup,
) -> None:
    github, clock = setup.github, setup.clock
    ci = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    lint = github.add_workflow(REPO, "Lint", ".github/workflows/lint.yml")
    for _ in range(100):
        github.add_workflow_run(REPO, ci, SHA, "feature", event="pull_request")
    clock.advance(60)
    lint_run = github.add_workflow_run(
        REPO, lint, SHA, "feature", event="pull_request", conclusion="failure", actor="alice"
    )
    clock.advance(60)
    ci_run = github.add_workflow_run(
        REPO, ci, SHA, "feature", event="pull_request", status="in_progress"
    )
    github.add_workflow_run(REPO, ci, OTHER_SHA, "main")

    runs = await setup.forge.ci_runs(REPO, SHA)

    assert runs == [
        CiRun(
            id=str(ci_run),
            name="CI",
            state=CheckState.IN_PROGRESS,
            conclusion=None,
            url=run_url(ci_run),
            head_sha=SHA,
            actor="chatops-bot",
            event="pull_request",
            attempt=1,
            started_at=NOW + timedelta(seconds=120),
            finished_at=None,
        ),
        CiRun(
            id=str(lint_run),
            name="Lint",
            state=CheckState.COMPLETED,
            conclusion="failure",
            url=run_url(lint_run),
            head_sha=SHA,
            actor="alice",
            event="pull_request",
            attempt=1,
            started_at=NOW + timedelta(seconds=60),
            finished_at=NOW + timedelta(seconds=60),
        ),
    ]
    pages = [call.query for call in github.calls_to("actions/list-workflow-runs-for-repo")]
    assert pages == [
        {"head_sha": SHA, "per_page": "100"},
        {"head_sha": SHA, "per_page": "100", "page": "2"},
    ]
    assert github.violations == []


async def test_ci_run_and_its_jobs(setup: Setup) -> None:
    github = setup.github
    workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    run = github.add_workflow_run(REPO, workflow, SHA, "feature", conclusion="failure")
    build = github.add_job(run, "build")
    test = github.add_job(run, "test", conclusion="failure")
    deploy = github.add_job(run, "deploy", status="queued", conclusion=None)

    found = await setup.forge.ci_run(REPO, str(run))
    jobs = await setup.forge.jobs(REPO, str(run))

    assert found == CiRun(
        id=str(run),
        name="CI",
        state=CheckState.COMPLETED,
        conclusion="failure",
        url=run_url(run),
        head_sha=SHA,
        actor="chatops-bot",
        event="push",
        attempt=1,
        started_at=NOW,
        finished_at=NOW,
    )
    assert jobs == [
        Job("build", CheckState.COMPLETED, "success", f"{run_url(run)}/job/{build}"),
        Job("test", CheckState.COMPLETED, "failure", f"{run_url(run)}/job/{test}"),
        Job("deploy", CheckState.QUEUED, None, f"{run_url(run)}/job/{deploy}"),
    ]
    assert github.violations == []


async def test_unknown_and_malformed_run_ids_are_not_found(setup: Setup) -> None:
    setup.github.add_repo(REPO)

    with pytest.raises(NotFound) as unknown:
        await setup.forge.ci_run(REPO, "4242")
    with pytest.raises(NotFound) as malformed:
        await setup.forge.jobs(REPO, "suite:12")

    assert (unknown.value.what, unknown.value.name, unknown.value.message) == (
        "run",
        f"4242 in {REPO}",
        f"GitHub has no run 4242 in {REPO} that the bot can see.",
    )
    assert (malformed.value.what, malformed.value.name) == ("run", f"suite:12 in {REPO}")
    assert [c.operation_id for c in setup.github.calls] == ["actions/get-workflow-run"]
    assert setup.github.violations == []


# Starting and stopping CI


async def test_rerun_all_or_failed_jobs_and_a_run_still_going_is_forbidden(setup: Setup) -> None:
    github, clock = setup.github, setup.clock
    workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    failed = github.add_workflow_run(REPO, workflow, SHA, "feature", conclusion="failure")
    github.add_job(failed, "build")
    github.add_job(failed, "test", conclusion="failure")
    passed = github.add_workflow_run(REPO, workflow, SHA, "feature")
    running = github.add_workflow_run(REPO, workflow, SHA, "feature", status="in_progress")
    clock.advance(30)

    await setup.forge.rerun(REPO, str(failed), failed_only=True)
    await setup.forge.rerun(REPO, str(passed))
    with pytest.raises(Forbidden) as refused:
        await setup.forge.rerun(REPO, str(running))
    again = await setup.forge.ci_run(REPO, str(failed))
    jobs = await setup.forge.jobs(REPO, str(failed))

    assert github.reruns == [Rerun(REPO, failed, failed_only=True), Rerun(REPO, passed, False)]
    assert errors(refused.value) == (
        Forbidden,
        "GitHub",
        "This workflow run is not completed",
        403,
    )
    assert again == CiRun(
        id=str(failed),
        name="CI",
        state=CheckState.QUEUED,
        conclusion=None,
        url=run_url(failed),
        head_sha=SHA,
        actor="chatops-bot",
        event="push",
        attempt=2,
        started_at=NOW + timedelta(seconds=30),
        finished_at=None,
    )
    assert [(job.name, job.state) for job in jobs] == [
        ("build", CheckState.COMPLETED),
        ("test", CheckState.QUEUED),
    ]
    assert github.violations == []


async def test_cancel_a_running_run_and_a_finished_one_is_not_cancelled(setup: Setup) -> None:
    github = setup.github
    workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    running = github.add_workflow_run(REPO, workflow, SHA, "feature", status="in_progress")

    assert await setup.forge.cancel(REPO, str(running)) is True
    assert await setup.forge.cancel(REPO, str(running)) is False  # GitHub answers 409

    assert github.cancellations == [(REPO, running)]
    assert github.workflow_run(running).conclusion == "cancelled"
    assert github.violations == []


async def test_dispatch_starts_the_workflow_on_the_pull_branch_and_returns_the_run(
    setup: Setup,
) -> None:
    github = setup.github
    github.add_pull(REPO, 7, SHA, "feature", "alice")
    github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    github.add_token("ghp_other", "alice")

    run = await setup.forge.dispatch(REPO, "ci.yml", "feature", {"suite": "full"})

    assert github.dispatches == [Dispatch(REPO, "ci.yml", "feature", {"suite": "full"})]
    assert [call.json for call in github.calls_to("actions/create-workflow-dispatch")] == [
        {"ref": "feature", "inputs": {"suite": "full"}, "return_run_details": True}
    ]
    run_id = max(github.world.runs)
    assert run == CiRun(
        id=str(run_id),
        name="CI",
        state=CheckState.QUEUED,
        conclusion=None,
        url=run_url(run_id),
        head_sha=SHA,
        actor="chatops-bot",
        event="workflow_dispatch",
        attempt=1,
        started_at=NOW,
        finished_at=None,
    )
    assert setup.forge.dispatched(run)
    assert not setup.forge.dispatched(replace(run, event="pull_request"))
    assert github.workflow_run(run_id).head_branch == "feature"
    assert github.violations == []


async def test_dispatch_without_run_details_returns_none(setup: Setup) -> None:
    setup.github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    setup.github.fail_next("actions/create-workflow-dispatch", 204)

    assert await setup.forge.dispatch(REPO, "ci.yml", "main", {}) is None
    assert setup.github.calls_to("actions/get-workflow-run") == []
    assert setup.github.violations == []


async def test_dispatch_of_an_unknown_workflow_is_not_found(setup: Setup) -> None:
    setup.github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")

    with pytest.raises(NotFound) as missing:
        await setup.forge.dispatch(REPO, "deploy.yml", "main", {})

    assert (missing.value.what, missing.value.message) == (
        "workflow",
        f"GitHub has no workflow deploy.yml in {REPO} that the bot can see.",
    )
    assert setup.github.violations == []


async def test_thread_names_the_pull_request_and_an_optional_sticky_comment(
    setup: Setup,
) -> None:
    forge = setup.forge

    assert forge.forge is Forge.GITHUB
    assert forge.thread(REPO, 7) == ReplyTarget(platform=Platform.GITHUB, channel=REPO, thread="7")
    assert forge.thread(REPO, 7, sticky="ci-summary") == ReplyTarget(
        platform=Platform.GITHUB, channel=REPO, thread="7", extra=(("sticky", "ci-summary"),)
    )
    assert setup.github.calls == []


# Failures


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (
            403,
            {},
            {"message": "Resource not accessible by integration"},
            (Forbidden, "GitHub", "Resource not accessible by integration", 403),
        ),
        (
            502,
            {},
            None,
            (ForgeError, "GitHub", "GitHub had an error (502); try again in a few minutes.", 502),
        ),
        (
            429,
            {"retry-after": "120"},
            {"message": "Too many requests"},
            (
                ForgeError,
                "GitHub",
                "GitHub is rate limiting the bot; try again after 12:02 UTC.",
                429,
            ),
        ),
        (
            429,
            {"retry-after": "150"},  # 12:02:30: the minute is rounded up, never early
            {"message": "Too many requests"},
            (
                ForgeError,
                "GitHub",
                "GitHub is rate limiting the bot; try again after 12:03 UTC.",
                429,
            ),
        ),
        (
            403,
            {
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int((NOW + timedelta(minutes=45)).timestamp())),
            },
            {"message": "API rate limit exceeded for installation ID 1."},
            (
                ForgeError,
                "GitHub",
                "GitHub is rate limiting the bot; try again after 12:45 UTC.",
                403,
            ),
        ),
        (
            403,
            {},
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
            (
                ForgeError,
                "GitHub",
                "GitHub is rate limiting the bot; try again after 12:01 UTC.",
                403,
            ),
        ),
    ],
)
async def test_api_failures_become_clear_forge_errors(
    setup: Setup,
    status: int,
    headers: dict[str, str],
    body: object,
    expected: tuple[type, str, str, int],
) -> None:
    setup.github.add_pull(REPO, 7, SHA, "feature", "alice")
    setup.github.fail_next("pulls/get", status, headers=headers, body=body)

    with pytest.raises(ForgeError) as failed:
        await setup.forge.change(REPO, 7)

    assert errors(failed.value) == expected
    assert setup.github.calls_to("repos/get") == []
    assert setup.github.violations == []


async def test_bad_credentials_are_forbidden() -> None:
    clock = FakeClock(NOW)
    async with FakeGitHub(clock=clock.now) as github:
        github.add_pull(REPO, 7, SHA, "feature", "alice")
        async with open_github(settings(github.url), BotSettings(), clock) as access:
            with pytest.raises(Forbidden) as refused:
                await GitHubForge(access.client, clock).change(REPO, 7)

        assert errors(refused.value) == (Forbidden, "GitHub", "Bad credentials", 401)
        assert github.violations == []


async def test_an_unreachable_github_is_a_forge_error_without_a_status() -> None:
    clock = FakeClock(NOW)
    async with FakeGitHub(clock=clock.now) as github:
        gone = github.url
    async with open_github(settings(gone), BotSettings(), clock) as access:
        with pytest.raises(ForgeError) as unreachable:
            await GitHubForge(access.client, clock).checks(REPO, SHA)

    assert errors(unreachable.value) == (
        ForgeError,
        "GitHub",
        "GitHub could not be reached (ClientConnectorError).",
        None,
    )


async def test_a_repository_the_app_is_not_installed_on_is_not_found(database: Database) -> None:
    del database  # the App's installations are recorded in the store
    private, public = app_key()
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))  # App JWTs use the real time
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_installation(1, "acme", ["widgets"])
        github.add_pull(REPO, 7, SHA, "feature", "alice")
        app = settings(github.url, app_id=APP_ID, private_key=Secret("file:app.pem", private))
        async with open_github(app, BotSettings(), clock) as access:
            forge = GitHubForge(access.client, clock)
            change = await forge.change(REPO, 7)
            with pytest.raises(NotFound) as missing:
                await forge.change("elsewhere/gadgets", 1)

        assert (change.head_sha, change.target) == (
            SHA,
            Target(REPO, TargetKind.PULL_REQUEST, 7, Forge.GITHUB),
        )
        assert (missing.value.what, missing.value.name) == ("repository", "elsewhere/gadgets")
        assert github.violations == []


# The shell's forges


async def test_open_forges_gives_the_github_client_only_when_github_is_enabled() -> None:
    clock = FakeClock(NOW)
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        github.add_pull(REPO, 7, SHA, "feature", "alice")
        enabled = Config(github=settings(github.url))
        async with open_forges(enabled, clock, LOG) as forges:
            client = forges.client(Forge.GITHUB)
            assert client is not None
            change = await client.change(REPO, 7)
        async with open_forges(Config(), clock, LOG) as none:
            assert (bool(none), none.client(Forge.GITHUB)) == (False, None)

        assert (change.head_ref, change.author) == ("feature", "alice")
        assert github.violations == []
