"""``GitLabForge`` against the fake GitLab, through the real gidgetlab client (``GitLabApi``
as ``open_gitlab`` opens it). Every test compares whole results: dataclasses, whole errors,
the requests the fake recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
from gidgetlab import sansio

from bot.config import BotSettings, Secret
from bot.config.platforms import GitLabSettings
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
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from connectors.gitlab.errors import delivery_error
from connectors.gitlab.forge import GitLabForge
from connectors.gitlab.integration import open_gitlab
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.gitlab_ci import WEB, CreatedPipeline

TOKEN = "glpat-forge-token"
REPO = "acme/platform/widgets"
ENCODED = "acme%2Fplatform%2Fwidgets"
PROJECT_ID = 42
SHA = "a" * 40
OTHER_SHA = "b" * 40
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass
class Setup:
    gitlab: FakeGitLab
    forge: GitLabForge
    clock: FakeClock


def settings(base_url: str) -> GitLabSettings:
    return GitLabSettings(enabled=True, base_url=base_url, token=Secret("env:GITLAB_TOKEN", TOKEN))


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock(NOW)
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab:
        gitlab.ci.clock = clock.now
        gitlab.add_project(REPO, project_id=PROJECT_ID)
        async with open_gitlab(settings(gitlab.url), BotSettings()) as api:
            yield Setup(gitlab, GitLabForge(api, clock), clock)


def errors(exc: ForgeError) -> tuple[type, str, str, int | None]:
    return (type(exc), exc.platform, exc.message, exc.status)


def pipeline_url(pipeline_id: int) -> str:
    return f"{WEB}/{REPO}/-/pipelines/{pipeline_id}"


def job_url(job_id: int) -> str:
    return f"{WEB}/{REPO}/-/jobs/{job_id}"


def run(pipeline_id: int, **fields: object) -> CiRun:
    values: dict[str, object] = {
        "id": str(pipeline_id),
        "name": f"pipeline #{pipeline_id}",
        "state": CheckState.COMPLETED,
        "conclusion": "success",
        "url": pipeline_url(pipeline_id),
        "head_sha": SHA,
        "actor": "alice",
        "event": "push",
        "attempt": 1,
        "started_at": NOW,
        "finished_at": NOW,
        **fields,
    }
    return CiRun(**values)  # type: ignore[arg-type]


def paths(setup: Setup) -> list[tuple[str, str]]:
    return [(call.method, call.path) for call in setup.gitlab.calls]


# Merge requests


async def test_change_reads_open_closed_merged_locked_and_fork_merge_requests(
    setup: Setup,
) -> None:
    ci = setup.gitlab.ci
    ci.add_merge_request(REPO, 7, SHA, "feature", "alice", title="Add widgets", target_branch="dev")
    ci.add_merge_request(REPO, 8, OTHER_SHA, "patch-1", "mallory", fork=True)
    ci.add_merge_request(REPO, 9, SHA, "old", "alice", state="closed")
    ci.add_merge_request(REPO, 10, SHA, "done", "alice", state="merged")
    ci.add_merge_request(REPO, 11, SHA, "merging", "alice", state="locked")

    changes = [await setup.forge.change(REPO, iid) for iid in (7, 8, 9, 10, 11)]

    def change(iid: int, **fields: object) -> Change:
        values: dict[str, object] = {
            "target": Target(REPO, TargetKind.MERGE_REQUEST, iid, Forge.GITLAB),
            "title": f"Merge request {iid}",
            "url": f"{WEB}/{REPO}/-/merge_requests/{iid}",
            "author": "alice",
            "head_sha": SHA,
            "base_ref": "main",
            "fork": False,
            "state": ChangeState.OPEN,
            **fields,
        }
        return Change(**values)  # type: ignore[arg-type]

    assert changes == [
        change(7, title="Add widgets", head_ref="feature", base_ref="dev"),
        change(8, author="mallory", head_sha=OTHER_SHA, head_ref="patch-1", fork=True),
        change(9, head_ref="old", state=ChangeState.CLOSED),
        change(10, head_ref="done", state=ChangeState.MERGED),
        change(11, head_ref="merging"),
    ]
    assert paths(setup) == [
        ("GET", f"/api/v4/projects/{ENCODED}/merge_requests/{iid}") for iid in (7, 8, 9, 10, 11)
    ]


async def test_a_missing_merge_request_and_a_missing_project_are_told_apart(
    setup: Setup,
) -> None:
    with pytest.raises(NotFound) as no_mr:
        await setup.forge.change(REPO, 99)
    with pytest.raises(NotFound) as no_project:
        await setup.forge.change("acme/nothing", 1)

    assert (no_mr.value.what, no_mr.value.name, errors(no_mr.value)) == (
        "merge request",
        f"{REPO}!99",
        (NotFound, "GitLab", f"GitLab has no merge request {REPO}!99 that the bot can see.", 404),
    )
    assert (no_project.value.what, errors(no_project.value)) == (
        "repository",
        (NotFound, "GitLab", "GitLab has no repository acme/nothing that the bot can see.", 404),
    )
    assert paths(setup) == [
        ("GET", f"/api/v4/projects/{ENCODED}/merge_requests/99"),
        ("GET", f"/api/v4/projects/{ENCODED}"),
        ("GET", "/api/v4/projects/acme%2Fnothing/merge_requests/1"),
        ("GET", "/api/v4/projects/acme%2Fnothing"),
    ]


# Pipelines and checks


async def test_ci_runs_are_the_newest_pipeline_of_each_ref_read_whole(setup: Setup) -> None:
    ci = setup.gitlab.ci
    ci.add_merge_request(REPO, 7, SHA, "feature", "alice")
    superseded = ci.add_pipeline(REPO, SHA, "feature", status="failed")
    branch = ci.add_pipeline(REPO, SHA, "feature", status="running", user="bob")
    mr = ci.add_pipeline(
        REPO,
        SHA,
        "refs/merge-requests/7/head",
        status="manual",
        source="merge_request_event",
        name="MR pipeline",
        merge_request_iid=7,
    )
    ci.add_pipeline(REPO, SHA, "feature", source="parent_pipeline")
    ci.add_status(REPO, SHA, "external/lint", "success")
    ci.add_pipeline(REPO, OTHER_SHA, "feature")

    runs = await setup.forge.ci_runs(REPO, SHA)

    assert superseded < branch < mr
    assert runs == [
        run(
            mr,
            name="MR pipeline",
            event="merge_request_event",
            conclusion="action_required",
        ),
        run(branch, state=CheckState.IN_PROGRESS, conclusion=None, actor="bob", finished_at=None),
    ]


async def test_checks_are_the_jobs_of_the_head_pipelines_then_external_statuses(
    setup: Setup,
) -> None:
    ci = setup.gitlab.ci
    ci.job_names[REPO] = tuple(f"job {n:03}" for n in range(103))
    older = ci.add_pipeline(REPO, SHA, "feature", jobs={"old job": "failed"})
    head = ci.add_pipeline(REPO, SHA, "feature", status="running", jobs={})
    ci.job_names[REPO] = ()
    lint = ci.add_job(ci.pipelines[head], "lint", "failed")
    lint.allow_failure = True
    flaky = ci.add_job(ci.pipelines[head], "flaky", "failed")
    many = [ci.add_job(ci.pipelines[head], f"job {n:03}", "success").id for n in range(103)]
    deploy = ci.add_job(ci.pipelines[head], "deploy", "manual")
    running = ci.add_job(ci.pipelines[head], "slow", "running")
    # a retry of "flaky": the failed one is kept as retried, the new one is pending
    flaky.retried = True
    again = ci.add_job(ci.pipelines[head], "flaky", "pending")
    ci.add_status(REPO, SHA, "external/scan", "failed", target_url="https://scan/1")
    ci.add_status(REPO, SHA, "external/cov", "success", pipeline_id=head)
    ci.add_status(REPO, OTHER_SHA, "external/elsewhere", "success")

    checks = await setup.forge.checks(REPO, SHA)

    assert older < head
    done = {"started_at": NOW, "finished_at": NOW}
    assert checks == [
        Check("job", "lint", CheckState.COMPLETED, "allowed_failure", job_url(lint.id), **done),
        *[
            Check("job", f"job {n:03}", CheckState.COMPLETED, "success", job_url(job), **done)
            for n, job in enumerate(many)
        ],
        Check("job", "deploy", CheckState.COMPLETED, "manual", job_url(deploy.id)),
        Check("job", "slow", CheckState.IN_PROGRESS, None, job_url(running.id), NOW),
        Check("job", "flaky", CheckState.QUEUED, None, job_url(again.id)),
        Check("status", "external/cov", CheckState.COMPLETED, "success", None, **done),
        Check("status", "external/scan", CheckState.COMPLETED, "failed", "https://scan/1", **done),
    ]
    job_pages = [
        call.query
        for call in setup.gitlab.calls
        if call.path == f"/api/v4/projects/{ENCODED}/pipelines/{head}/jobs"
    ]
    assert job_pages == [{"per_page": "100"}, {"page": "2", "per_page": "100"}]


async def test_ci_run_and_jobs_read_one_pipeline_and_a_missing_one_is_a_missing_run(
    setup: Setup,
) -> None:
    ci = setup.gitlab.ci
    pipeline = ci.add_pipeline(REPO, SHA, "main", jobs={"build": "success", "test": "failed"})
    build, test = ci.current_jobs(pipeline)

    assert await setup.forge.ci_run(REPO, str(pipeline)) == run(pipeline, conclusion="success")
    assert await setup.forge.jobs(REPO, str(pipeline)) == [
        Job("build", CheckState.COMPLETED, "success", job_url(build.id)),
        Job("test", CheckState.COMPLETED, "failed", job_url(test.id)),
    ]
    for run_id in ("99999", "suite:3"):
        with pytest.raises(NotFound) as missing:
            await setup.forge.ci_run(REPO, run_id)
        assert errors(missing.value) == (
            NotFound,
            "GitLab",
            f"GitLab has no run {run_id} in {REPO} that the bot can see.",
            404,
        )


# Starting and stopping CI


async def test_rerun_creates_a_new_pipeline_for_the_same_ref(setup: Setup) -> None:
    ci = setup.gitlab.ci
    ci.add_merge_request(REPO, 7, SHA, "feature", "alice")
    mr = ci.add_pipeline(
        REPO, SHA, "refs/merge-requests/7/head", status="failed", source="merge_request_event"
    )
    branch = ci.add_pipeline(REPO, SHA, "feature", status="failed")

    again_mr = await setup.forge.rerun(REPO, str(mr))
    again_branch = await setup.forge.rerun(REPO, str(branch))

    assert again_mr is not None
    assert again_branch is not None
    new_mr, new_branch = int(again_mr.id), int(again_branch.id)
    queued = {"state": CheckState.QUEUED, "conclusion": None, "finished_at": None}
    assert again_mr == run(new_mr, event="merge_request_event", actor="chatops-bot", **queued)
    assert again_branch == run(new_branch, event="api", actor="chatops-bot", **queued)
    assert ci.created == [
        CreatedPipeline(REPO, new_mr, "refs/merge-requests/7/head", 7),
        CreatedPipeline(REPO, new_branch, "feature"),
    ]
    assert [call.json for call in setup.gitlab.calls if call.method == "POST"] == [
        None,
        {"ref": "feature"},
    ]
    assert ci.retries == []


async def test_rerun_of_failed_jobs_only_retries_the_same_pipeline(setup: Setup) -> None:
    ci = setup.gitlab.ci
    pipeline = ci.add_pipeline(
        REPO, SHA, "main", status="failed", jobs={"a": "success", "b": "failed"}
    )

    assert await setup.forge.rerun(REPO, str(pipeline), failed_only=True) is None

    assert ci.retries == [(REPO, pipeline)]
    assert [(job.name, job.status) for job in ci.current_jobs(pipeline)] == [
        ("a", "success"),
        ("b", "pending"),
    ]
    assert ci.created == []


async def test_cancel_cancels_the_pipeline(setup: Setup) -> None:
    ci = setup.gitlab.ci
    pipeline = ci.add_pipeline(REPO, SHA, "main", status="running")

    assert await setup.forge.cancel(REPO, str(pipeline)) is True

    assert ci.cancels == [(REPO, pipeline)]
    assert await setup.forge.ci_run(REPO, str(pipeline)) == run(
        pipeline, conclusion="canceled", started_at=NOW
    )
    with pytest.raises(NotFound):
        await setup.forge.cancel(REPO, "12345")


@pytest.mark.parametrize("status", ["success", "failed", "skipped", "manual"])
async def test_cancel_of_a_finished_pipeline_says_nothing_was_left_to_cancel(
    setup: Setup, status: str
) -> None:
    ci = setup.gitlab.ci
    pipeline = ci.add_pipeline(REPO, SHA, "main", status=status)

    assert await setup.forge.cancel(REPO, str(pipeline)) is False

    assert ci.cancels == [(REPO, pipeline)]  # GitLab accepts it and leaves the pipeline be
    assert ci.pipelines[pipeline].status == status


async def test_cancel_of_a_cancelled_pipeline_counts_as_stopped(setup: Setup) -> None:
    """Its answer reads like one the cancel stopped: ``canceled``."""
    ci = setup.gitlab.ci
    pipeline = ci.add_pipeline(REPO, SHA, "main", status="canceled")

    assert await setup.forge.cancel(REPO, str(pipeline)) is True

    assert ci.cancels == [(REPO, pipeline)]


async def test_dispatch_on_a_merge_requests_branch_creates_a_merge_request_pipeline(
    setup: Setup,
) -> None:
    ci = setup.gitlab.ci
    ci.add_merge_request(REPO, 3, SHA, "feature", "alice", state="closed")
    ci.add_merge_request(REPO, 7, SHA, "feature", "alice")
    ci.add_merge_request(REPO, 8, OTHER_SHA, "feature", "mallory", fork=True)

    started = await setup.forge.dispatch(REPO, ".gitlab-ci.yml", "feature", {})

    (created,) = ci.created
    assert created == CreatedPipeline(REPO, created.pipeline_id, "refs/merge-requests/7/head", 7)
    assert started == run(
        created.pipeline_id,
        event="merge_request_event",
        actor="chatops-bot",
        state=CheckState.QUEUED,
        conclusion=None,
        finished_at=None,
    )
    listing = setup.gitlab.calls[0]
    assert (listing.path, listing.query) == (
        f"/api/v4/projects/{ENCODED}/merge_requests",
        {"per_page": "100", "state": "opened", "source_branch": "feature"},
    )


async def test_dispatch_with_inputs_runs_a_branch_pipeline_with_variables(setup: Setup) -> None:
    ci = setup.gitlab.ci
    ci.add_branch(REPO, "release", OTHER_SHA)

    started = await setup.forge.dispatch(REPO, "deploy", "release", {"TARGET": "staging"})
    assert started is not None
    assert not setup.forge.dispatched(started)  # GitLab names the pipeline a dispatch made

    (created,) = ci.created
    assert created == CreatedPipeline(
        REPO, created.pipeline_id, "release", None, (("TARGET", "staging"),)
    )
    assert started == run(
        created.pipeline_id,
        head_sha=OTHER_SHA,
        event="api",
        actor="chatops-bot",
        state=CheckState.QUEUED,
        conclusion=None,
        finished_at=None,
    )
    assert setup.gitlab.calls[-1].json == {
        "ref": "release",
        "variables": [{"key": "TARGET", "value": "staging"}],
    }


async def test_dispatch_on_an_unknown_ref_says_what_gitlab_said(setup: Setup) -> None:
    with pytest.raises(ForgeError) as refused:
        await setup.forge.dispatch(REPO, "ci", "nowhere", {})

    assert errors(refused.value) == (ForgeError, "GitLab", "base: Reference not found", 400)


def test_thread_is_the_merge_requests_notes_with_an_optional_sticky_note(setup: Setup) -> None:
    assert setup.forge.thread(REPO, 7) == ReplyTarget(
        platform=Platform.GITLAB, channel=REPO, thread="merge_requests/7"
    )
    assert setup.forge.thread(REPO, 7, sticky="summary") == ReplyTarget(
        platform=Platform.GITLAB,
        channel=REPO,
        thread="merge_requests/7",
        extra=(("sticky", "summary"),),
    )


# Errors


async def test_api_failures_become_forge_errors_for_users(setup: Setup) -> None:
    gitlab, forge = setup.gitlab, setup.forge
    reset = int(NOW.timestamp()) + 150
    gitlab.fail_next("*", 401)
    gitlab.fail_next("*", 403, body={"message": "403 Forbidden - token lacks the api scope"})
    gitlab.fail_next("*", 429, headers={"Retry-After": "90"}, body={"message": "Retry later"})
    gitlab.fail_next("*", 429, body={"message": "Retry later"})
    gitlab.fail_next(
        "*",
        403,
        headers={
            "RateLimit-Limit": "2000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
        },
    )
    gitlab.fail_next("*", 502)

    seen = []
    for _ in range(6):
        with pytest.raises(ForgeError) as failed:
            await forge.ci_run(REPO, "1")
        seen.append(errors(failed.value))

    assert seen == [
        (Forbidden, "GitLab", "401 Unauthorized", 401),
        (Forbidden, "GitLab", "403 Forbidden - token lacks the api scope", 403),
        (ForgeError, "GitLab", "GitLab is rate limiting the bot; try again after 12:02 UTC.", 429),
        (ForgeError, "GitLab", "GitLab is rate limiting the bot; try again after 12:01 UTC.", 429),
        (ForgeError, "GitLab", "GitLab is rate limiting the bot; try again after 12:03 UTC.", 403),
        (ForgeError, "GitLab", "GitLab had an error (502); try again in a few minutes.", 502),
    ]


async def test_an_unreachable_gitlab_is_a_forge_error() -> None:
    clock = FakeClock(NOW)
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab:
        url = gitlab.url
    async with open_gitlab(settings(url), BotSettings()) as api:
        with pytest.raises(ForgeError) as failed:
            await GitLabForge(api, clock).change(REPO, 1)

    assert errors(failed.value) == (
        ForgeError,
        "GitLab",
        "GitLab could not be reached (ClientConnectorError).",
        None,
    )


def gitlab_failure(status: int, headers: dict[str, str] | None = None) -> Exception:
    """The exception gidgetlab raises for this response."""
    body = b'{"message": "' + str(status).encode() + b' failed"}'
    try:
        sansio.decipher_response(
            status, {"content-type": "application/json", **(headers or {})}, body
        )
    except Exception as exc:
        return exc
    raise AssertionError(f"gidgetlab accepted {status}")


def test_failed_sends_map_onto_retry_decisions() -> None:
    now = NOW.timestamp()
    limited = {
        "ratelimit-limit": "2000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(now + 30),
    }
    cases = [
        (gitlab_failure(429), {"retry-after": "12"}),
        (gitlab_failure(429), None),
        (gitlab_failure(403, limited), None),
        (gitlab_failure(404), None),
        (gitlab_failure(401), None),
        (gitlab_failure(500), None),
        (aiohttp.ServerDisconnectedError(), None),
    ]

    decided = [
        (type(error), error.reason, getattr(error, "retry_after", None))
        for error in (delivery_error(exc, now, headers) for exc, headers in cases)
    ]

    assert decided == [
        (RateLimited, "GitLab answered 429: 429 failed", 12.0),
        (RateLimited, "GitLab answered 429: 429 failed", 60.0),
        (RateLimited, "GitLab answered 403: 403 failed", 30.0),
        (Undeliverable, "GitLab answered 404: 404 failed", None),
        (
            Undeliverable,
            "GitLab refused the bot's token (401: 401 failed); check gitlab.token",
            None,
        ),
        (DeliveryError, "GitLab answered 500: 500 failed", None),
        (DeliveryError, "GitLab unreachable: ServerDisconnectedError", None),
    ]
