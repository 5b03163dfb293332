"""The CI decisions, pure: what to start, what a forge run's update means, who hears what."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.store import Subscriber, Topic
from bot.ci.models import RunState
from bot.ci.plan import (
    KEY_MAX,
    RescanOutcome,
    StartPlan,
    Update,
    abandon_messages,
    bounded,
    conclusion,
    follows_up,
    how_reran,
    joined,
    late,
    plan_start,
    result_messages,
    resumable,
    untracked_messages,
    update_for,
)
from bot.ci.records import StoredOrigin, TrackedForgeRun
from bot.forge import Change, ChangeState, CheckState, CiRun, CiRunEvent
from bot.messages import Forge, Outgoing, Place, Platform, Reply, ReplyTarget, Target, TargetKind

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHA = "a" * 40
CHANGE = Change(
    target=Target("acme/web", TargetKind.PULL_REQUEST, 12, Forge.GITHUB),
    title="Add widgets",
    url="https://github.com/acme/web/pull/12",
    author="octocat",
    head_sha=SHA,
    head_ref="feature-x",
    base_ref="main",
    fork=False,
    state=ChangeState.OPEN,
)
RESULT = Reply(title="CI passed: acme/web#12")
SLACK = ReplyTarget(platform=Platform.SLACK, channel="C1", thread="1.2")
PR = ReplyTarget(platform=Platform.GITHUB, channel="acme/web", thread="12")
SHELL = ReplyTarget(platform=Platform.SHELL, channel="local:alice")


def ci_run(
    run_id: str,
    state: CheckState = CheckState.COMPLETED,
    *,
    attempt: int = 1,
    started_at: datetime | None = NOW,
) -> CiRun:
    return CiRun(
        id=run_id,
        name=f"run {run_id}",
        state=state,
        conclusion="success" if state is CheckState.COMPLETED else None,
        url=f"https://ci/{run_id}",
        head_sha=SHA,
        actor="octocat",
        event="push",
        attempt=attempt,
        started_at=started_at,
    )


def row(state: RunState, attempt: int = 1, conclusion: str | None = None) -> TrackedForgeRun:
    return TrackedForgeRun("1", "CI", state, conclusion, "https://ci/1", attempt)


def origin(origin_id: int, target: ReplyTarget, invocation: str | None) -> StoredOrigin:
    return StoredOrigin(origin_id, 7, target, invocation, "alice", NOW)


def subscriber(sub_id: int, target: ReplyTarget) -> Subscriber:
    return Subscriber(sub_id, Forge.GITHUB, "acme/web", Topic.RUNS, target, "bob", NOW)


def test_a_configured_workflow_is_dispatched_except_for_a_fork() -> None:
    done, going = ci_run("1"), ci_run("2", CheckState.IN_PROGRESS)

    assert plan_start("ci.yml", CHANGE, [done], include_running=False) == StartPlan("ci.yml")
    fork = replace(CHANGE, fork=True)
    assert plan_start("ci.yml", fork, [done, going], include_running=False) == StartPlan(
        reruns=(done,)
    )
    assert plan_start(None, CHANGE, [done, going], include_running=True) == StartPlan(
        reruns=(done, going)
    )
    assert plan_start(None, CHANGE, [going], include_running=False) is None


@pytest.mark.parametrize(
    ("waiting", "seen", "expected"),
    [
        (row(RunState.QUEUED), ci_run("1", CheckState.IN_PROGRESS), Update.RECORD),
        (row(RunState.QUEUED, attempt=2), ci_run("1", attempt=3), Update.RECORD),
        (row(RunState.QUEUED, attempt=2), ci_run("1", attempt=1), Update.IGNORE),
        (row(RunState.REQUESTED, attempt=2), ci_run("1", attempt=1), Update.RERUN),
        (
            row(RunState.REQUESTED, attempt=2),
            ci_run("1", CheckState.IN_PROGRESS, attempt=1),
            Update.IGNORE,
        ),
    ],
)
def test_what_an_update_means_for_a_run_waiting_on_it(
    waiting: TrackedForgeRun, seen: CiRun, expected: Update
) -> None:
    assert update_for(waiting, seen) is expected


def test_a_runs_conclusion_is_failure_then_cancelled_then_success() -> None:
    def of(*conclusions: str) -> str:
        return conclusion([row(RunState.COMPLETED, conclusion=c) for c in conclusions])

    assert [
        of("success", "failure", "cancelled"),
        of("success", "canceled"),
        of("success", "skipped"),
        of(),
    ] == ["failure", "cancelled", "success", "success"]


def test_joining_within_the_window_coalesces() -> None:
    window = timedelta(seconds=60)
    assert [
        joined(NOW - timedelta(seconds=59), NOW, window),
        joined(NOW - timedelta(seconds=60), NOW, window),
    ] == [RescanOutcome.COALESCED, RescanOutcome.ALREADY_RUNNING]


def test_what_the_reply_says_was_rerun() -> None:
    assert [how_reran(1, 0), how_reran(2, 1), how_reran(3, 2)] == [
        "re-ran 1 workflow run",
        "re-ran 2 workflow runs (1 once its cancellation completes)",
        "re-ran 3 workflow runs (2 once their cancellation completes)",
    ]


def test_which_dispatched_runs_a_run_may_adopt() -> None:
    before = ci_run("1", CheckState.IN_PROGRESS, started_at=NOW - timedelta(minutes=1))
    going = ci_run("2", CheckState.IN_PROGRESS)
    done = ci_run("3")
    waiting = ci_run("4", CheckState.QUEUED, started_at=None)
    dispatches = [before, going, done, waiting]

    assert resumable(dispatches, NOW) == [going]
    assert late(dispatches, NOW) == [going, done, waiting]


def test_a_result_goes_to_origins_that_can_hear_it_then_the_summary_then_other_channels() -> None:
    origins = [origin(1, SLACK, "inv-1"), origin(2, SHELL, "inv-2"), origin(3, PR, None)]
    in_origin_channel = replace(SLACK, thread=None)
    elsewhere = ReplyTarget(platform=Platform.DISCORD, channel="D9")
    subscribers = [subscriber(5, in_origin_channel), subscriber(6, elsewhere)]
    summary = Outgoing(PR, Reply(title="CI summary"), "run:7:summary")

    assert result_messages(7, RESULT, origins, subscribers, summary) == [
        Outgoing(SLACK, RESULT, "run:7:origin:1", "inv-1"),
        Outgoing(PR, RESULT, "run:7:origin:3", None),
        summary,
        Outgoing(elsewhere, RESULT, "run:7:sub:6"),
    ]
    assert abandon_messages(7, RESULT, origins, "inv-1") == [
        Outgoing(PR, RESULT, "run:7:origin:3", None)
    ]


def test_only_a_session_cannot_hear_a_result_later() -> None:
    assert [follows_up(target) for target in (SLACK, PR, SHELL)] == [True, True, False]
    assert follows_up(replace(SHELL, place=Place.CHANNEL))


def test_a_forge_run_nobody_tracks_is_keyed_by_its_attempt_within_the_key_column() -> None:
    long_repo = "acme/" + "w" * 300
    event = CiRunEvent(Forge.GITHUB, long_repo, ci_run("9", attempt=2))
    (short,) = untracked_messages(
        CiRunEvent(Forge.GITHUB, "Acme/Web", ci_run("9", attempt=2)),
        RESULT,
        [subscriber(5, SLACK)],
    )
    (long,) = untracked_messages(event, RESULT, [subscriber(5, SLACK)])

    assert short.key == "forge-run:github:acme/web:9:2:sub:5"
    assert len(long.key) == KEY_MAX
    assert long.key == bounded(f"forge-run:github:{long_repo}:9:2:sub:5")
    assert long.key != bounded(f"forge-run:github:{long_repo}:9:3:sub:5")
