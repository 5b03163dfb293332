"""The run tracker on GitLab: ``GitLabForge`` through gidgetlab against the fake GitLab, the
pipeline webhook decoded by ``connectors.gitlab.ci_events``, on both databases.

Rescan creates a merge request pipeline (re-running the latest pipeline of the merge
request, or dispatching the configured one); its completion, as GitLab's ``Pipeline Hook``
tells it, settles the run and goes to every origin (the merge request's thread and a Slack
thread) plus the sticky summary, once; restart cancels the running pipeline and creates a
new one; the reconciler settles a run whose webhook was lost. Outbox rows are compared
whole."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.ci.models import Run, RunState
from bot.ci.plan import Rescan, RescanOutcome
from bot.ci.records import Origin, TrackedForgeRun
from bot.ci.store import RunStore
from bot.ci.tracker import RunTracker
from bot.config import BotSettings, CiSettings, CiWorkflow, Secret
from bot.config.platforms import GitLabSettings
from bot.forge import CheckState, CiRun, CiRunEvent, Forges
from bot.messages import Field, Forge, Link, Platform, Reply, ReplyTarget, Status, Table
from bot.store.database import Database
from bot.store.models import OutboxItem
from bot.store.queues import OutboxQueue
from connectors.gitlab.ci_events import decode_ci
from connectors.gitlab.forge import GitLabForge
from connectors.gitlab.integration import open_gitlab
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.gitlab_ci import WEB, CreatedPipeline, pipeline_hook

TOKEN = "glpat-runs-token"
REPO = "acme/platform/web"
PROJECT_ID = 77
SHA = "c" * 40
MR_REF = "refs/merge-requests/7/head"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

SLACK_THREAD = ReplyTarget(
    platform=Platform.SLACK,
    channel="C111",
    thread="1700000000.000100",
    extra=(("user", "U1"), ("via", "mention")),
)
MR_THREAD = ReplyTarget(
    platform=Platform.GITLAB,
    channel=REPO,
    thread="merge_requests/7",
    message="5001",
    extra=(("quote", "@chatops rescan"),),
)
ALICE = Origin(target=SLACK_THREAD, asked_by="alice", invocation_id="inv-alice")
BOB = Origin(target=MR_THREAD, asked_by="bob", invocation_id="inv-bob")


@dataclass(frozen=True)
class Sent:
    key: str
    target: ReplyTarget
    reply: Reply
    invocation_id: str | None = None


@dataclass
class Env:
    gitlab: FakeGitLab
    forge: GitLabForge
    clock: FakeClock
    database: Database

    def tracker(self, settings: CiSettings | None = None) -> RunTracker:
        return RunTracker(
            forges=Forges([self.forge]),
            settings=settings or CiSettings(),
            clock=self.clock,
            outbox=OutboxQueue(self.database),
            log=logging.getLogger("chatops.test.runs.gitlab"),
            holder="replica-1",
        )

    def event(self, pipeline_id: int) -> CiRunEvent:
        """What GitLab's ``Pipeline Hook`` says about the fake's pipeline now."""
        decoded = decode_ci("Pipeline Hook", pipeline_hook(self.gitlab.ci, pipeline_id, PROJECT_ID))
        assert decoded is not None
        return decoded


@pytest.fixture
async def env(database: Database) -> AsyncIterator[Env]:
    clock = FakeClock(NOW)
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab:
        gitlab.ci.clock = clock.now
        gitlab.add_project(REPO, project_id=PROJECT_ID)
        gitlab.ci.add_merge_request(REPO, 7, SHA, "feature", "bob", title="Add widgets")
        settings = GitLabSettings(
            enabled=True, base_url=gitlab.url, token=Secret("env:GITLAB_TOKEN", TOKEN)
        )
        async with open_gitlab(settings, BotSettings()) as api:
            yield Env(gitlab, GitLabForge(api, clock), clock, database)


def pipeline_url(pipeline_id: int) -> str:
    return f"{WEB}/{REPO}/-/pipelines/{pipeline_id}"


def pipeline_row(
    pipeline_id: int, *, state: RunState = RunState.QUEUED, conclusion: str | None = None
) -> TrackedForgeRun:
    return TrackedForgeRun(
        str(pipeline_id),
        f"pipeline #{pipeline_id}",
        state,
        conclusion,
        pipeline_url(pipeline_id),
        1,
    )


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


async def rescan(env: Env, tracker: RunTracker, origin: Origin) -> Rescan:
    return await tracker.rescan(env.forge, await env.forge.change(REPO, 7), origin)


def new_pipeline(env: Env) -> int:
    (created,) = env.gitlab.ci.created
    return created.pipeline_id


async def test_rescan_creates_a_pipeline_whose_completion_goes_to_every_origin_once(
    env: Env,
) -> None:
    ci = env.gitlab.ci
    earlier = ci.add_pipeline(
        REPO, SHA, MR_REF, status="failed", source="merge_request_event", merge_request_iid=7
    )
    tracker = env.tracker()

    started = await rescan(env, tracker, ALICE)
    joined = await rescan(env, tracker, BOB)

    pipeline = new_pipeline(env)
    assert ci.created == [CreatedPipeline(REPO, pipeline, MR_REF, 7)]
    assert pipeline > earlier
    assert started.run is not None
    run_id = started.run.id
    assert (started.outcome, started.how, started.run.forge_runs) == (
        RescanOutcome.STARTED,
        "re-ran 1 workflow run",
        (pipeline_row(pipeline),),
    )
    assert (joined.outcome, joined.run.id if joined.run else None) == (
        RescanOutcome.COALESCED,
        run_id,
    )

    ci.start_pipeline(pipeline)
    await tracker.observe(env.event(pipeline))
    assert await outbox() == []
    env.clock.advance(240)
    ci.finish_pipeline(pipeline, "failed", {"build": "success", "test": "failed"})
    await tracker.observe(env.event(pipeline))
    await tracker.observe(env.event(pipeline))  # delivered twice

    build, test = ci.current_jobs(pipeline)
    result = Reply(
        title=f"CI failed: {REPO}!7",
        status=Status.ERROR,
        paragraphs=("Failed jobs: test.",),
        fields=(
            Field("conclusion", "failure"),
            Field("duration", "4m"),
            Field("requested by", "alice"),
            Field("head commit", "ccccccc"),
        ),
        links=(
            Link(f"pipeline #{pipeline}", pipeline_url(pipeline)),
            Link("test", f"{WEB}/{REPO}/-/jobs/{test.id}"),
        ),
    )
    summary = Reply(
        title=f"CI summary for {REPO}!7",
        status=Status.ERROR,
        paragraphs=(f"Bot run #{run_id} on ccccccc: failure, asked by alice 4m ago.",),
        fields=(Field("head", "ccccccc"), Field("updated", "2026-11-21 12:04 UTC")),
        table=Table(
            headers=("check", "state", "link"),
            rows=(
                ("test", "failed", f"{WEB}/{REPO}/-/jobs/{test.id}"),
                ("build", "success", f"{WEB}/{REPO}/-/jobs/{build.id}"),
            ),
        ),
        links=(
            Link(f"{REPO}!7", f"{WEB}/{REPO}/-/merge_requests/7"),
            Link(f"pipeline #{pipeline}", pipeline_url(pipeline)),
        ),
    )
    alice, bob = await RunStore().origins(run_id)
    assert await outbox() == [
        Sent(f"run:{run_id}:origin:{alice.id}", SLACK_THREAD, result, "inv-alice"),
        Sent(f"run:{run_id}:origin:{bob.id}", MR_THREAD, result, "inv-bob"),
        Sent(f"run:{run_id}:summary", env.forge.thread(REPO, 7, sticky="summary"), summary),
    ]
    assert await Run.filter(active_key__isnull=False).count() == 0


async def test_rescan_with_a_configured_pipeline_dispatches_a_merge_request_pipeline(
    env: Env,
) -> None:
    settings = CiSettings(
        workflows=(CiWorkflow(repo=REPO, workflow=".gitlab-ci.yml", forge="gitlab"),)
    )

    started = await rescan(env, env.tracker(settings), ALICE)

    pipeline = new_pipeline(env)
    assert env.gitlab.ci.created == [CreatedPipeline(REPO, pipeline, MR_REF, 7)]
    assert started.run is not None
    assert (started.outcome, started.how, started.run.forge_runs) == (
        RescanOutcome.STARTED,
        "dispatched .gitlab-ci.yml on feature",
        (pipeline_row(pipeline),),
    )


async def test_restart_cancels_the_running_pipeline_and_follows_a_new_one(env: Env) -> None:
    ci = env.gitlab.ci
    running = ci.add_pipeline(
        REPO, SHA, MR_REF, status="running", source="merge_request_event", merge_request_iid=7
    )
    tracker = env.tracker()
    change = await env.forge.change(REPO, 7)

    restarted = await tracker.restart(env.forge, change, ALICE)

    pipeline = new_pipeline(env)
    assert ci.cancels == [(REPO, running)]
    assert ci.created == [CreatedPipeline(REPO, pipeline, MR_REF, 7)]
    assert restarted.run is not None
    assert (restarted.outcome, restarted.how, restarted.run.forge_runs) == (
        RescanOutcome.STARTED,
        "re-ran 1 workflow run",
        (pipeline_row(pipeline),),
    )
    assert restarted.cancelled == (
        CiRun(
            id=str(running),
            name=f"pipeline #{running}",
            state=CheckState.IN_PROGRESS,
            conclusion=None,
            url=pipeline_url(running),
            head_sha=SHA,
            actor="alice",
            event="merge_request_event",
            started_at=NOW,
        ),
    )

    # the cancelled pipeline's own event changes nothing; the new one's completes the run
    await tracker.observe(env.event(running))
    assert (await RunStore().get(restarted.run.id)) == restarted.run
    ci.finish_pipeline(pipeline, "success")
    await tracker.observe(env.event(pipeline))
    (done,) = await tracker.runs_for(Forge.GITLAB, REPO, 7)
    assert (done.state, done.conclusion, done.forge_runs) == (
        RunState.COMPLETED,
        "success",
        (pipeline_row(pipeline, state=RunState.COMPLETED, conclusion="success"),),
    )


async def test_the_reconciler_settles_a_gitlab_run_whose_webhook_was_lost(env: Env) -> None:
    ci = env.gitlab.ci
    ci.add_pipeline(REPO, SHA, MR_REF, source="merge_request_event", merge_request_iid=7)
    tracker = env.tracker()
    started = await rescan(env, tracker, BOB)
    assert started.run is not None
    pipeline = new_pipeline(env)
    ci.finish_pipeline(pipeline, "success")

    assert await tracker.reconcile() == 0  # not stuck yet
    env.clock.advance(timedelta(minutes=61).total_seconds())
    assert await tracker.reconcile() == 1

    (sent, summary) = await outbox()
    assert (sent.key, sent.target, sent.reply.title, sent.invocation_id) == (
        f"run:{started.run.id}:origin:{(await RunStore().origins(started.run.id))[0].id}",
        MR_THREAD,
        f"CI passed: {REPO}!7",
        "inv-bob",
    )
    assert (summary.key, summary.target) == (
        f"run:{started.run.id}:summary",
        env.forge.thread(REPO, 7, sticky="summary"),
    )
    calls = env.gitlab.calls_matching("GET", f"/api/v4/projects/{REPO}/pipelines/{pipeline}")
    assert [call.status for call in calls] == [200]  # asked once, by the reconciler
