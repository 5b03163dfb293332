"""The run tracker against the fake GitHub, through ``GitHubForge`` and gidgethub, on both
databases: rescan (dispatch, re-run, coalescing, already running, nothing to run, retries,
concurrency), restart, completion fan-out, stale events, subscribers, the reconciler and
forge errors. Outbox rows are compared whole: key, target, reply and invocation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.store import Subscriptions, Topic
from bot.ci.models import Run, RunState
from bot.ci.plan import Rescan, RescanOutcome
from bot.ci.records import NewRun, Origin, TrackedForgeRun, TrackedRun
from bot.ci.store import RunStore
from bot.ci.tracker import RunTracker
from bot.config import BotSettings, CiSettings, CiWorkflow, Secret
from bot.config.platforms import GitHubSettings
from bot.forge import CiRunEvent, Forbidden, ForgeError, Forges, NotFound
from bot.messages import Field, Forge, Link, Platform, Reply, ReplyTarget, Status, Table
from bot.store.database import Database
from bot.store.leases import Leases
from bot.store.models import OutboxItem
from bot.store.queues import OutboxQueue
from connectors.github.ci_events import decode_ci
from connectors.github.forge import GitHubForge
from connectors.github.integration import open_github
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Dispatch, Rerun
from tests.github_payloads import workflow_run_payload

TOKEN = "ghp_runs_token"
WEB_REPO = "acme/web"  # has a workflow to dispatch
API_REPO = "acme/api"  # has none: rescan re-runs
SHA = "a" * 40
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GH = "https://github.com"

SLACK_THREAD = ReplyTarget(
    platform=Platform.SLACK,
    channel="C111",
    thread="1700000000.000100",
    extra=(("user", "U1"), ("via", "mention")),
)
PR_THREAD = ReplyTarget(
    platform=Platform.GITHUB,
    channel=WEB_REPO,
    thread="12",
    message="9001",
    extra=(("comment_kind", "issue"), ("quote", "@chatops rescan")),
)
ALICE = Origin(target=SLACK_THREAD, asked_by="alice", invocation_id="inv-alice")
OCTOCAT = Origin(target=PR_THREAD, asked_by="octocat", invocation_id="inv-octocat")


@dataclass(frozen=True)
class Sent:
    key: str
    target: ReplyTarget
    reply: Reply
    invocation_id: str | None = None


@dataclass
class Env:
    github: FakeGitHub
    forge: GitHubForge
    tracker: RunTracker
    clock: FakeClock
    wakes: list[None] = field(default_factory=list)

    async def rescan(self, origin: Origin, repo: str = WEB_REPO, number: int = 12) -> Rescan:
        change = await self.forge.change(repo, number)
        return await self.tracker.rescan(self.forge, change, origin)

    async def restart(self, origin: Origin, repo: str = WEB_REPO, number: int = 12) -> Rescan:
        change = await self.forge.change(repo, number)
        return await self.tracker.restart(self.forge, change, origin)

    def event(self, run_id: int, action: str = "completed") -> CiRunEvent:
        """What GitHub's ``workflow_run`` webhook says about the fake's run now."""
        decoded = decode_ci("workflow_run", workflow_run_payload(self.github, run_id, action))
        assert isinstance(decoded, CiRunEvent)
        return decoded

    async def finish(
        self, run_id: int, conclusion: str, jobs: dict[str, str] | None = None
    ) -> None:
        self.github.finish_workflow_run(run_id, conclusion, jobs)
        await self.tracker.observe(self.event(run_id))

    def runs_of(self, repo: str) -> list[int]:
        return sorted(run.id for run in self.github.world.runs.values() if run.repo == repo)


def github_settings(api_url: str) -> GitHubSettings:
    return GitHubSettings(enabled=True, api_url=api_url, token=Secret("env:GITHUB_TOKEN", TOKEN))


CI = CiSettings(workflows=(CiWorkflow(repo="Acme/Web", workflow="ci.yml"),))


@pytest.fixture
async def env(database: Database) -> AsyncIterator[Env]:
    clock = FakeClock(NOW)
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        async with open_github(github_settings(github.url), BotSettings(), clock) as access:
            forge = GitHubForge(access.client, clock)
            wakes: list[None] = []
            tracker = RunTracker(
                forges=Forges([forge]),
                settings=CI,
                clock=clock,
                outbox=OutboxQueue(database),
                log=logging.getLogger("chatops.test.runs"),
                wake=lambda: wakes.append(None),
                holder="replica-1",
            )
            yield Env(github, forge, tracker, clock, wakes)
        assert github.violations == []


def seed_web(github: FakeGitHub) -> int:
    """acme/web#12 on ``SHA`` with a CI workflow that rescan dispatches; its id."""
    github.add_pull(WEB_REPO, 12, SHA, "feature-x", "octocat", title="Add widgets")
    return github.add_workflow(WEB_REPO, "CI", ".github/workflows/ci.yml")


def seed_api(github: FakeGitHub, *, status: str = "completed") -> tuple[int, int]:
    """acme/api#7 on ``SHA`` with two workflows that ran on it (failed lint, passed build)."""
    github.add_pull(API_REPO, 7, SHA, "fix-y", "octocat")
    build = github.add_workflow(API_REPO, "Build", ".github/workflows/build.yml")
    lint = github.add_workflow(API_REPO, "Lint", ".github/workflows/lint.yml")
    first = github.add_workflow_run(API_REPO, build, SHA, "fix-y", event="pull_request")
    second = github.add_workflow_run(
        API_REPO,
        lint,
        SHA,
        "fix-y",
        event="pull_request",
        status=status,
        conclusion="failure" if status == "completed" else None,
    )
    return first, second


def run_url(repo: str, run_id: int) -> str:
    return f"{GH}/{repo}/actions/runs/{run_id}"


def tracked(
    run_id: int,
    *,
    repo: str = WEB_REPO,
    number: int = 12,
    state: RunState = RunState.QUEUED,
    conclusion: str | None = None,
    requested_by: str = "alice",
    requested_at: datetime = NOW,
    started_at: datetime | None = NOW,
    finished_at: datetime | None = None,
    forge_runs: tuple[TrackedForgeRun, ...] = (),
    origins: int = 1,
    request_id: str | None = "inv-alice",
    updated_at: datetime | None = NOW,
) -> TrackedRun:
    return TrackedRun(
        id=run_id,
        forge=Forge.GITHUB,
        repo=repo,
        number=number,
        head_sha=SHA,
        state=state,
        conclusion=conclusion,
        requested_by=requested_by,
        requested_at=requested_at,
        started_at=started_at,
        finished_at=finished_at,
        forge_runs=forge_runs,
        origins=origins,
        request_id=request_id,
        updated_at=updated_at,
    )


def forge_run(
    repo: str,
    run_id: int,
    name: str = "CI",
    *,
    state: RunState = RunState.QUEUED,
    conclusion: str | None = None,
    attempt: int = 1,
) -> TrackedForgeRun:
    return TrackedForgeRun(str(run_id), name, state, conclusion, run_url(repo, run_id), attempt)


async def outbox() -> list[Sent]:
    rows = await OutboxItem.all().order_by("id")
    return [
        Sent(
            key=row.key,
            target=ReplyTarget.from_dict(row.target),
            reply=Reply.from_dict(row.reply),
            invocation_id=row.invocation_id,
        )
        for row in rows
    ]


async def live_runs() -> int:
    count: int = await Run.filter(active_key__isnull=False).count()
    return count


def result_fields(conclusion: str, requested_by: str, duration: str = "0s") -> tuple[Field, ...]:
    return (
        Field("conclusion", conclusion),
        Field("duration", duration),
        Field("requested by", requested_by),
        Field("head commit", "aaaaaaa"),
    )


# --------------------------------------------------------------------------- starting CI


async def test_rescan_dispatches_the_configured_workflow_on_the_pull_requests_branch(
    env: Env,
) -> None:
    seed_web(env.github)

    result = await env.rescan(ALICE)

    (dispatched,) = env.runs_of(WEB_REPO)
    assert env.github.dispatches == [Dispatch(WEB_REPO, "ci.yml", "feature-x", {})]
    assert result == Rescan(
        RescanOutcome.STARTED,
        tracked(result.run.id if result.run else 0, forge_runs=(forge_run(WEB_REPO, dispatched),)),
        how="dispatched ci.yml on feature-x",
    )


async def test_rescan_without_a_workflow_reruns_the_latest_run_of_each_workflow(env: Env) -> None:
    build, lint = seed_api(env.github)

    result = await env.rescan(ALICE, API_REPO, 7)

    assert env.github.reruns == [Rerun(API_REPO, lint, False), Rerun(API_REPO, build, False)]
    assert env.github.dispatches == []
    assert result.run is not None
    assert result == Rescan(
        RescanOutcome.STARTED,
        tracked(
            result.run.id,
            repo=API_REPO,
            number=7,
            forge_runs=(
                forge_run(API_REPO, lint, "Lint", attempt=2),
                forge_run(API_REPO, build, "Build", attempt=2),
            ),
        ),
        how="re-ran 2 workflow runs",
    )


async def test_rescan_with_nothing_to_dispatch_or_rerun_keeps_no_run(env: Env) -> None:
    env.github.add_pull(API_REPO, 7, SHA, "fix-y", "octocat")

    result = await env.rescan(ALICE, API_REPO, 7)

    assert result == Rescan(RescanOutcome.NOTHING_TO_RUN, None)
    assert await Run.all().count() == 0


async def test_a_fork_is_rerun_rather_than_dispatched(env: Env) -> None:
    workflow = seed_web(env.github)
    env.github.add_pull(WEB_REPO, 13, SHA, "patch-1", "mallory", fork=True)
    previous = env.github.add_workflow_run(WEB_REPO, workflow, SHA, "patch-1")

    result = await env.rescan(ALICE, WEB_REPO, 13)

    assert (result.outcome, result.how) == (RescanOutcome.STARTED, "re-ran 1 workflow run")
    assert env.github.dispatches == []
    assert env.github.reruns == [Rerun(WEB_REPO, previous, False)]


# --------------------------------------------------------------------------- joining


async def test_a_second_rescan_within_the_window_joins_the_first(env: Env) -> None:
    seed_web(env.github)
    first = await env.rescan(ALICE)
    env.clock.advance(119)

    second = await env.rescan(OCTOCAT)

    assert first.run is not None
    assert second == Rescan(RescanOutcome.COALESCED, replace(first.run, origins=2))
    assert len(env.github.dispatches) == 1
    assert await Run.all().count() == 1


async def test_a_rescan_after_the_window_while_ours_runs_is_already_running(env: Env) -> None:
    seed_web(env.github)
    first = await env.rescan(ALICE)
    env.clock.advance(121)

    second = await env.rescan(OCTOCAT)

    assert first.run is not None
    assert second.run is not None
    assert (second.outcome, second.run.id, second.run.origins) == (
        RescanOutcome.ALREADY_RUNNING,
        first.run.id,
        2,
    )
    assert len(env.github.dispatches) == 1


async def test_a_rescan_while_someone_elses_ci_runs_follows_it(env: Env) -> None:
    build, lint = seed_api(env.github, status="in_progress")
    env.github.workflow_run(lint).actor = "hubot"
    env.clock.advance(30)

    result = await env.rescan(ALICE, API_REPO, 7)

    assert env.github.reruns == []
    assert env.github.dispatches == []
    assert result.run is not None
    assert result == Rescan(
        RescanOutcome.ALREADY_RUNNING,
        tracked(
            result.run.id,
            repo=API_REPO,
            number=7,
            state=RunState.IN_PROGRESS,
            requested_by="hubot",
            request_id=None,
            updated_at=NOW + timedelta(seconds=30),
            forge_runs=(forge_run(API_REPO, lint, "Lint", state=RunState.IN_PROGRESS),),
        ),
    )
    assert env.github.workflow_run(build).status == "completed"  # so not part of what runs


async def test_two_concurrent_rescans_make_one_run(env: Env) -> None:
    seed_web(env.github)

    results = await asyncio.gather(env.rescan(ALICE), env.rescan(OCTOCAT))

    outcomes = sorted(result.outcome for result in results)
    assert outcomes == [RescanOutcome.COALESCED, RescanOutcome.STARTED]
    assert len(env.github.dispatches) == 1
    assert await Run.all().count() == 1
    runs = await env.tracker.runs_for(Forge.GITHUB, "ACME/WEB", 12)
    assert [(run.origins, len(run.forge_runs)) for run in runs] == [(2, 1)]


# --------------------------------------------------------------------------- retries


async def test_a_retried_invocation_answers_as_before_and_starts_nothing(env: Env) -> None:
    seed_web(env.github)
    first = await env.rescan(ALICE)
    joined = await env.rescan(OCTOCAT)

    again = await env.rescan(ALICE)
    joined_again = await env.rescan(OCTOCAT)

    assert first.run is not None
    assert again == replace(first, run=replace(first.run, origins=2))
    assert joined_again == joined
    assert len(env.github.dispatches) == 1


async def test_a_retry_after_dying_before_the_forge_call_makes_it(env: Env) -> None:
    seed_web(env.github)
    store = RunStore()
    new = NewRun(Forge.GITHUB, WEB_REPO, 12, SHA, "alice", NOW, "inv-alice")
    await store.create(new, ALICE, NOW)  # the first attempt got this far, then died
    env.clock.advance(60)

    result = await env.rescan(ALICE)

    (dispatched,) = env.runs_of(WEB_REPO)
    assert len(env.github.dispatches) == 1
    assert result.run is not None
    assert (result.outcome, result.how, result.run.forge_runs) == (
        RescanOutcome.STARTED,
        "dispatched ci.yml on feature-x",
        (forge_run(WEB_REPO, dispatched),),
    )


async def test_a_retry_after_dying_after_the_dispatch_adopts_the_dispatched_run(env: Env) -> None:
    seed_web(env.github)
    store = RunStore()
    new = NewRun(Forge.GITHUB, WEB_REPO, 12, SHA, "alice", NOW, "inv-alice")
    await store.create(new, ALICE, NOW)
    await env.forge.dispatch(WEB_REPO, "ci.yml", "feature-x", {})  # ... and this, then died
    env.clock.advance(60)

    result = await env.rescan(ALICE)

    (dispatched,) = env.runs_of(WEB_REPO)
    assert len(env.github.dispatches) == 1
    assert result.run is not None
    assert (result.outcome, result.run.forge_runs) == (
        RescanOutcome.STARTED,
        (forge_run(WEB_REPO, dispatched),),
    )


# --------------------------------------------------------------------------- completion


async def test_completion_tells_every_origin_the_summary_and_subscribers_once(env: Env) -> None:
    seed_web(env.github)
    check = env.github.add_check_run(WEB_REPO, SHA, "CI / test", conclusion="failure")
    subscriptions = Subscriptions()
    elsewhere = ReplyTarget(platform=Platform.DISCORD, channel="555")
    await subscriptions.subscribe(elsewhere, Forge.GITHUB, "ACME/web", Topic.RUNS, "bob", NOW)
    await subscriptions.subscribe(SLACK_THREAD, Forge.GITHUB, WEB_REPO, Topic.ALL, "bob", NOW)
    await subscriptions.subscribe(
        ReplyTarget(platform=Platform.SLACK, channel="C999"),
        Forge.GITHUB,
        WEB_REPO,
        Topic.ALERTS,
        "bob",
        NOW,
    )
    started = await env.rescan(ALICE)
    await env.rescan(OCTOCAT)
    assert started.run is not None
    run_id = started.run.id
    (dispatched,) = env.runs_of(WEB_REPO)
    env.github.start_workflow_run(dispatched)
    await env.tracker.observe(env.event(dispatched, "in_progress"))
    assert await outbox() == []
    env.clock.advance(300)
    job = env.github.add_job(dispatched, "test", status="in_progress", conclusion=None)

    await env.finish(dispatched, "failure", {"test": "failure", "lint": "success"})
    await env.tracker.observe(env.event(dispatched))  # delivered twice

    result = Reply(
        title="CI failed: acme/web#12",
        status=Status.ERROR,
        paragraphs=("Failed jobs: test.",),
        fields=result_fields("failure", "alice", "5m"),
        links=(
            Link("CI", run_url(WEB_REPO, dispatched)),
            Link("test", f"{GH}/{WEB_REPO}/actions/runs/{dispatched}/job/{job}"),
        ),
    )
    summary = Reply(
        title="CI summary for acme/web#12",
        status=Status.ERROR,
        paragraphs=(f"Bot run #{run_id} on aaaaaaa: failure, asked by alice 5m ago.",),
        fields=(Field("head", "aaaaaaa"), Field("updated", "2026-11-21 12:05 UTC")),
        table=Table(
            headers=("check", "state", "link"),
            rows=(("CI / test", "failure", f"{GH}/{WEB_REPO}/runs/{check}"),),
        ),
        links=(
            Link("acme/web#12", f"{GH}/{WEB_REPO}/pull/12"),
            Link("CI", run_url(WEB_REPO, dispatched)),
        ),
    )
    origins = await RunStore().origins(run_id)
    subscribers = await subscriptions.for_repo(Forge.GITHUB, WEB_REPO, Topic.RUNS)
    discord = next(sub for sub in subscribers if sub.target.platform is Platform.DISCORD)
    assert await outbox() == [
        Sent(f"run:{run_id}:origin:{origins[0].id}", SLACK_THREAD, result, "inv-alice"),
        Sent(f"run:{run_id}:origin:{origins[1].id}", PR_THREAD, result, "inv-octocat"),
        Sent(
            f"run:{run_id}:summary",
            ReplyTarget(
                platform=Platform.GITHUB,
                channel=WEB_REPO,
                thread="12",
                extra=(("sticky", "summary"),),
            ),
            summary,
        ),
        Sent(f"run:{run_id}:sub:{discord.id}", elsewhere, result),
    ]
    assert len(env.wakes) == 1
    assert await live_runs() == 0
    (done,) = await env.tracker.runs_for(Forge.GITHUB, WEB_REPO, 12)
    assert (done.state, done.conclusion, done.finished_at) == (
        RunState.COMPLETED,
        "failure",
        NOW + timedelta(seconds=300),
    )


async def test_a_run_completes_when_all_its_forge_runs_have(env: Env) -> None:
    build, lint = seed_api(env.github)
    started = await env.rescan(ALICE, API_REPO, 7)
    assert started.run is not None

    await env.finish(lint, "success")
    assert await outbox() == []
    await env.finish(build, "cancelled")

    assert await outbox() == [
        Sent(
            f"run:{started.run.id}:origin:{(await RunStore().origins(started.run.id))[0].id}",
            SLACK_THREAD,
            Reply(
                title="CI cancelled: acme/api#7",
                status=Status.WARNING,
                fields=result_fields("cancelled", "alice"),
                links=(
                    Link("Lint", run_url(API_REPO, lint)),
                    Link("Build", run_url(API_REPO, build)),
                ),
            ),
            "inv-alice",
        ),
        Sent(
            f"run:{started.run.id}:summary",
            ReplyTarget(
                platform=Platform.GITHUB,
                channel=API_REPO,
                thread="7",
                extra=(("sticky", "summary"),),
            ),
            Reply(
                title="CI summary for acme/api#7",
                status=Status.INFO,
                paragraphs=(
                    "No checks have reported on aaaaaaa yet.",
                    f"Bot run #{started.run.id} on aaaaaaa: cancelled, asked by alice 0s ago.",
                ),
                fields=(Field("head", "aaaaaaa"), Field("updated", "2026-11-21 12:00 UTC")),
                links=(
                    Link("acme/api#7", f"{GH}/{API_REPO}/pull/7"),
                    Link("Lint", run_url(API_REPO, lint)),
                    Link("Build", run_url(API_REPO, build)),
                ),
            ),
        ),
    ]


async def test_an_older_attempts_completion_is_ignored(env: Env) -> None:
    build, lint = seed_api(env.github)
    stale = env.event(lint)  # attempt 1's completion, delivered late
    started = await env.rescan(ALICE, API_REPO, 7)
    assert started.run is not None

    await env.tracker.observe(stale)

    assert await outbox() == []
    (run,) = await env.tracker.runs_for(Forge.GITHUB, API_REPO, 7)
    assert run.forge_runs == (
        forge_run(API_REPO, lint, "Lint", attempt=2),
        forge_run(API_REPO, build, "Build", attempt=2),
    )


async def test_the_job_list_is_best_effort(env: Env) -> None:
    build, lint = seed_api(env.github)
    await env.rescan(ALICE, API_REPO, 7)
    await env.finish(build, "success")
    env.github.fail_next("actions/list-jobs-for-workflow-run", 502)
    env.github.fail_next("pulls/get", 502)  # and the summary is skipped

    await env.finish(lint, "failure")

    (sent,) = await outbox()
    assert sent.reply.paragraphs == ("Failed jobs: job list unavailable.",)
    assert sent.reply.title == "CI failed: acme/api#7"


async def test_a_completed_run_nobody_tracks_is_told_to_subscribers_once(env: Env) -> None:
    build, _ = seed_api(env.github)
    subscriptions = Subscriptions()
    channel = ReplyTarget(platform=Platform.SLACK, channel="C222")
    subscriber, _ = await subscriptions.subscribe(
        channel, Forge.GITHUB, API_REPO, Topic.RUNS, "bob", NOW
    )

    await env.tracker.observe(env.event(build))
    await env.tracker.observe(env.event(build))

    assert await outbox() == [
        Sent(
            f"forge-run:github:{API_REPO}:{build}:1:sub:{subscriber.id}",
            channel,
            Reply(
                title="CI passed: acme/api#7",
                status=Status.OK,
                paragraphs=("Build, attempt 1",),
                fields=(
                    Field("conclusion", "success"),
                    Field("duration", "0s"),
                    Field("started by", "chatops-bot"),
                    Field("head commit", "aaaaaaa"),
                ),
                links=(Link("Build", run_url(API_REPO, build)),),
            ),
        )
    ]
    assert await Run.all().count() == 0


async def test_a_dispatch_without_run_details_is_attached_when_its_run_shows_up(env: Env) -> None:
    workflow = seed_web(env.github)
    env.github.fail_next("actions/create-workflow-dispatch", 204)

    result = await env.rescan(ALICE)
    assert result.run is not None
    assert (result.outcome, result.run.state, result.run.forge_runs) == (
        RescanOutcome.STARTED,
        RunState.REQUESTED,
        (),
    )
    other = env.github.add_workflow_run(WEB_REPO, workflow, SHA, "feature-x", status="queued")
    await env.tracker.observe(env.event(other, "requested"))  # a push run: not ours
    ours = env.github.add_workflow_run(
        WEB_REPO, workflow, SHA, "feature-x", event="workflow_dispatch", status="queued"
    )

    await env.tracker.observe(env.event(ours, "requested"))

    (run,) = await env.tracker.runs_for(Forge.GITHUB, WEB_REPO, 12)
    assert (run.state, run.forge_runs) == (RunState.QUEUED, (forge_run(WEB_REPO, ours),))


# --------------------------------------------------------------------------- restart


async def test_restart_cancels_then_reruns_once_the_cancel_has_finished(env: Env) -> None:
    build, lint = seed_api(env.github, status="in_progress")
    env.github.fail_next("actions/cancel-workflow-run", 202, body={})  # accepted, not done yet

    result = await env.restart(ALICE, API_REPO, 7)

    assert env.github.reruns == [Rerun(API_REPO, build, False)]  # lint is still cancelling
    assert [run.id for run in result.cancelled] == [str(lint)]
    assert result.run is not None
    assert (result.outcome, result.how) == (
        RescanOutcome.STARTED,
        "re-ran 2 workflow runs (1 once its cancellation completes)",
    )
    assert result.run.forge_runs == (
        forge_run(API_REPO, lint, "Lint", state=RunState.REQUESTED, attempt=2),
        forge_run(API_REPO, build, "Build", attempt=2),
    )

    await env.finish(lint, "cancelled")  # the cancel lands: now it can be re-run

    assert env.github.reruns == [Rerun(API_REPO, build, False), Rerun(API_REPO, lint, False)]
    (run,) = await env.tracker.runs_for(Forge.GITHUB, API_REPO, 7)
    assert run.forge_runs == (
        forge_run(API_REPO, lint, "Lint", attempt=2),
        forge_run(API_REPO, build, "Build", attempt=2),
    )
    assert await outbox() == []

    await env.finish(lint, "success")
    await env.finish(build, "success")

    assert [(sent.key, sent.reply.title) for sent in await outbox()] == [
        (
            f"run:{run.id}:origin:{(await RunStore().origins(run.id))[0].id}",
            "CI passed: acme/api#7",
        ),
        (f"run:{run.id}:summary", "CI summary for acme/api#7"),
    ]


async def test_restart_moves_the_waiting_origins_to_the_new_run(env: Env) -> None:
    seed_web(env.github)
    first = await env.rescan(ALICE)
    (old,) = env.runs_of(WEB_REPO)
    env.clock.advance(10)

    result = await env.restart(OCTOCAT)

    assert first.run is not None
    assert result.run is not None
    assert [run.id for run in result.cancelled] == [str(old)]
    assert env.github.cancellations == [(WEB_REPO, old)]
    assert len(env.github.dispatches) == 2
    new = env.runs_of(WEB_REPO)[1]
    assert (result.outcome, result.run.origins, result.run.forge_runs) == (
        RescanOutcome.STARTED,
        2,
        (forge_run(WEB_REPO, new),),
    )
    await env.tracker.observe(env.event(old))  # the cancelled run's completion: nobody is told
    assert await outbox() == []

    await env.finish(new, "success")

    origins = await RunStore().origins(result.run.id)
    assert [(sent.key, sent.target, sent.reply.title) for sent in await outbox()] == [
        (f"run:{result.run.id}:origin:{origins[0].id}", SLACK_THREAD, "CI passed: acme/web#12"),
        (f"run:{result.run.id}:origin:{origins[1].id}", PR_THREAD, "CI passed: acme/web#12"),
        (
            f"run:{result.run.id}:summary",
            ReplyTarget(
                platform=Platform.GITHUB,
                channel=WEB_REPO,
                thread="12",
                extra=(("sticky", "summary"),),
            ),
            "CI summary for acme/web#12",
        ),
    ]
    superseded = await RunStore().get(first.run.id)
    assert superseded is not None
    assert (superseded.state, superseded.conclusion, superseded.origins) == (
        RunState.COMPLETED,
        "cancelled",
        0,
    )


# --------------------------------------------------------------------------- the reconciler


async def test_the_reconciler_completes_a_run_whose_webhook_was_lost(env: Env) -> None:
    seed_web(env.github)
    started = await env.rescan(ALICE)
    assert started.run is not None
    (dispatched,) = env.runs_of(WEB_REPO)
    env.github.finish_workflow_run(dispatched, "success")  # ... and no webhook arrives
    env.clock.advance(59 * 60)
    assert await env.tracker.reconcile() == 0  # not stuck yet
    env.clock.advance(2 * 60)

    assert await env.tracker.reconcile() == 1
    assert await env.tracker.reconcile() == 0

    assert [(sent.key, sent.reply.title) for sent in await outbox()] == [
        (
            f"run:{started.run.id}:origin:{(await RunStore().origins(started.run.id))[0].id}",
            "CI passed: acme/web#12",
        ),
        (f"run:{started.run.id}:summary", "CI summary for acme/web#12"),
    ]
    assert await live_runs() == 0


async def test_the_reconciler_runs_on_one_replica_at_a_time(env: Env) -> None:
    seed_web(env.github)
    await env.rescan(ALICE)
    (dispatched,) = env.runs_of(WEB_REPO)
    env.github.finish_workflow_run(dispatched, "success")
    env.clock.advance(61 * 60)
    await Leases().acquire("ci:reconcile", "replica-2", env.clock.now(), timedelta(minutes=5))

    assert await env.tracker.reconcile() == 0
    assert await outbox() == []


async def test_the_reconciler_settles_what_the_forge_no_longer_knows(env: Env) -> None:
    seed_web(env.github)
    await env.rescan(ALICE)
    (dispatched,) = env.runs_of(WEB_REPO)
    del env.github.world.runs[dispatched]  # deleted on GitHub
    env.clock.advance(61 * 60)

    assert await env.tracker.reconcile() == 1

    (sent,) = [sent for sent in await outbox() if ":origin:" in sent.key]
    assert (sent.reply.title, sent.reply.fields[0]) == (
        "CI failed: acme/web#12",
        Field("conclusion", "failure"),
    )


async def test_the_reconciler_issues_a_rerun_whose_cancel_webhook_was_lost(env: Env) -> None:
    build, lint = seed_api(env.github, status="in_progress")
    env.github.fail_next("actions/cancel-workflow-run", 202, body={})
    await env.restart(ALICE, API_REPO, 7)
    env.github.finish_workflow_run(lint, "cancelled")  # ... and no webhook says so
    env.clock.advance(61 * 60)

    assert await env.tracker.reconcile() == 0

    assert env.github.reruns == [Rerun(API_REPO, build, False), Rerun(API_REPO, lint, False)]
    (run,) = await env.tracker.runs_for(Forge.GITHUB, API_REPO, 7)
    assert run.forge_runs == (
        forge_run(API_REPO, lint, "Lint", attempt=2),
        forge_run(API_REPO, build, "Build", attempt=2),
    )


async def test_the_reconciler_settles_a_dispatch_that_never_showed_up(env: Env) -> None:
    seed_web(env.github)
    env.github.fail_next("actions/create-workflow-dispatch", 204)  # no run details
    started = await env.rescan(ALICE)
    assert started.run is not None
    env.clock.advance(61 * 60)

    assert await env.tracker.reconcile() == 1

    origin = (await RunStore().origins(started.run.id))[0]
    assert await outbox() == [
        Sent(
            f"run:{started.run.id}:origin:{origin.id}",
            SLACK_THREAD,
            Reply(
                title="CI could not run: acme/web#12",
                status=Status.ERROR,
                paragraphs=(
                    "The forge did not start CI for this commit, or no longer knows the run; "
                    "ask again with `rescan`.",
                ),
                fields=result_fields("error", "alice", "1h 1m"),
            ),
            "inv-alice",
        )
    ]
    assert await live_runs() == 0


# --------------------------------------------------------------------------- forge errors


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound("GitHub", "workflow", "ci.yml in acme/web")),
        (403, Forbidden("GitHub", "Resource not accessible by integration", 403)),
        (500, ForgeError("GitHub", "GitHub had an error (500); try again in a few minutes.", 500)),
    ],
)
async def test_a_forge_error_during_rescan_is_raised_and_leaves_no_live_run(
    env: Env, status: int, error: ForgeError
) -> None:
    seed_web(env.github)
    env.github.fail_next(
        "actions/create-workflow-dispatch",
        status,
        body={"message": "Resource not accessible by integration"},
    )
    with pytest.raises(ForgeError) as caught:
        await env.rescan(ALICE)

    assert (type(caught.value), caught.value.message, caught.value.status) == (
        type(error),
        error.message,
        error.status,
    )
    assert await live_runs() == 0
    assert await outbox() == []
    # the same invocation, retried once the forge is back, starts CI for real
    again = await env.rescan(ALICE)
    assert again.outcome is RescanOutcome.STARTED
    assert len(env.github.dispatches) == 1


async def test_someone_who_joined_a_run_the_forge_refused_is_told(env: Env) -> None:
    seed_api(env.github)
    store = RunStore()
    # octocat's rescan created the run and is about to ask the forge ...
    new = NewRun(Forge.GITHUB, API_REPO, 7, SHA, "octocat", NOW, "inv-octocat")
    await store.create(new, OCTOCAT, NOW)
    joined = await env.rescan(ALICE, API_REPO, 7)  # ... when alice joins it
    assert joined.outcome is RescanOutcome.COALESCED
    env.github.fail_next("actions/re-run-workflow", 500, times=2)

    with pytest.raises(ForgeError):
        await env.rescan(OCTOCAT, API_REPO, 7)  # the retried invocation resumes, and fails

    origins = await store.origins(joined.run.id if joined.run else 0)
    alice = next(origin for origin in origins if origin.invocation_id == "inv-alice")
    assert await outbox() == [
        Sent(
            f"run:{alice.run_id}:origin:{alice.id}",
            SLACK_THREAD,
            Reply(
                title="CI could not run: acme/api#7",
                status=Status.ERROR,
                paragraphs=(
                    "The forge did not start CI for this commit, or no longer knows the run; "
                    "ask again with `rescan`.",
                ),
                fields=result_fields("error", "octocat"),
            ),
            "inv-alice",
        )
    ]
    assert await live_runs() == 0
