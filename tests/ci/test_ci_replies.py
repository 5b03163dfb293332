"""The CI reply builders: whole ``Reply`` values for results, summaries and checks tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.ci.models import RunState
from bot.ci.records import TrackedForgeRun, TrackedRun
from bot.ci.replies import (
    checks_table,
    forge_run_result_reply,
    run_result_reply,
    summary_reply,
)
from bot.forge import Change, ChangeState, Check, CheckState, CiRun, CiRunEvent, Job
from bot.messages import Field, Forge, Link, Reply, Status, Table, Target, TargetKind

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
RUN_URL = "https://github.com/acme/web/actions/runs/30"


def run(
    conclusion: str | None,
    *,
    forge_runs: tuple[TrackedForgeRun, ...] = (),
    number: int | None = 12,
    forge: Forge = Forge.GITHUB,
    started: datetime | None = NOW - timedelta(minutes=5, seconds=3),
) -> TrackedRun:
    return TrackedRun(
        id=3,
        forge=forge,
        repo="acme/web",
        number=number,
        head_sha=SHA,
        state=RunState.COMPLETED if conclusion else RunState.IN_PROGRESS,
        conclusion=conclusion,
        requested_by="octocat",
        requested_at=NOW - timedelta(minutes=6),
        started_at=started,
        finished_at=NOW if conclusion else None,
        forge_runs=forge_runs,
        origins=2,
    )


def forge_run(conclusion: str | None, name: str = "CI", url: str = RUN_URL) -> TrackedForgeRun:
    state = RunState.COMPLETED if conclusion else RunState.IN_PROGRESS
    return TrackedForgeRun("30", name, state, conclusion, url, 2)


def fields(conclusion: str, duration: str = "5m 3s") -> tuple[Field, ...]:
    return (
        Field("conclusion", conclusion),
        Field("duration", duration),
        Field("requested by", "octocat"),
        Field("head commit", "0123456"),
    )


def test_a_passed_run() -> None:
    reply = run_result_reply(run("success", forge_runs=(forge_run("success"),)), [], NOW)

    assert reply == Reply(
        title="CI passed: acme/web#12",
        status=Status.OK,
        fields=fields("success"),
        links=(Link("CI", RUN_URL),),
    )


def test_a_failed_run_lists_its_failed_jobs_with_links() -> None:
    jobs = [
        Job("test (3.11)", CheckState.COMPLETED, "failure", "https://github.com/j/1"),
        Job("lint", CheckState.COMPLETED, "timed_out", None),
    ]

    reply = run_result_reply(run("failure", forge_runs=(forge_run("failure"),)), jobs, NOW)

    assert reply == Reply(
        title="CI failed: acme/web#12",
        status=Status.ERROR,
        paragraphs=("Failed jobs: test (3.11), lint.",),
        fields=fields("failure"),
        links=(Link("CI", RUN_URL), Link("test (3.11)", "https://github.com/j/1")),
    )


def test_a_failed_run_whose_jobs_could_not_be_listed_says_so() -> None:
    reply = run_result_reply(
        run("failure", forge_runs=(forge_run("failure"),)), [], NOW, jobs_unavailable=True
    )

    assert reply == Reply(
        title="CI failed: acme/web#12",
        status=Status.ERROR,
        paragraphs=("Failed jobs: job list unavailable.",),
        fields=fields("failure"),
        links=(Link("CI", RUN_URL),),
    )


def test_a_cancelled_run_is_a_warning_and_a_gitlab_change_reads_with_a_bang() -> None:
    reply = run_result_reply(
        run("cancelled", forge=Forge.GITLAB, forge_runs=(forge_run("canceled", url=""),)), [], NOW
    )

    assert reply == Reply(
        title="CI cancelled: acme/web!12",
        status=Status.WARNING,
        fields=fields("cancelled"),
    )


def test_a_run_that_never_started_says_so_and_counts_from_the_request() -> None:
    reply = run_result_reply(run("error", started=None, number=None), [], NOW)

    assert reply == Reply(
        title="CI could not run: acme/web@0123456",
        status=Status.ERROR,
        paragraphs=(
            "The forge did not start CI for this commit, or no longer knows the run; "
            "ask again with `rescan`.",
        ),
        fields=fields("error", duration="6m"),
    )


def test_a_forge_run_nobody_tracks() -> None:
    event = CiRunEvent(
        forge=Forge.GITHUB,
        repo="acme/web",
        run=CiRun(
            id="30",
            name="Deploy",
            state=CheckState.COMPLETED,
            conclusion="failure",
            url=RUN_URL,
            head_sha=SHA,
            actor="hubot",
            event="push",
            attempt=3,
            started_at=NOW - timedelta(hours=1, minutes=2),
            finished_at=NOW - timedelta(minutes=1),
        ),
        changes=(12, 14),
    )

    reply = forge_run_result_reply(event, [], NOW, jobs_unavailable=True)

    assert reply == Reply(
        title="CI failed: acme/web#12",
        status=Status.ERROR,
        paragraphs=("Deploy, attempt 3", "Failed jobs: job list unavailable."),
        fields=(
            Field("conclusion", "failure"),
            Field("duration", "1h 1m"),
            Field("started by", "hubot"),
            Field("head commit", "0123456"),
        ),
        links=(Link("Deploy", RUN_URL),),
    )


def check(name: str, state: CheckState, conclusion: str | None, url: str | None) -> Check:
    return Check("check_run", name, state, conclusion, url)


CHECKS = (
    check("build", CheckState.COMPLETED, "success", "https://ci/build"),
    check("docs", CheckState.IN_PROGRESS, None, "https://ci/docs"),
    check("lint", CheckState.COMPLETED, "failure", "https://ci/lint"),
    check("optional", CheckState.COMPLETED, "skipped", None),
    check("deploy", CheckState.QUEUED, None, None),
    Check("status", "ci/jenkins", CheckState.COMPLETED, "error", "https://jenkins/1"),
)
TABLE = Table(
    headers=("check", "state", "link"),
    rows=(
        ("lint", "failure", "https://ci/lint"),
        ("ci/jenkins", "error", "https://jenkins/1"),
        ("docs", "in progress", "https://ci/docs"),
        ("deploy", "queued", ""),
        ("build", "success", "https://ci/build"),
        ("optional", "skipped", ""),
    ),
)


def test_the_checks_table_puts_failures_first_then_what_runs_then_the_rest() -> None:
    assert checks_table(CHECKS) == TABLE


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


def test_the_summary_shows_the_checks_and_the_bots_runs() -> None:
    runs = [run(None, forge_runs=(forge_run(None),)), run("success", started=None)]

    reply = summary_reply(CHANGE, CHECKS, runs, NOW)

    assert reply == Reply(
        title="CI summary for acme/web#12",
        status=Status.ERROR,
        paragraphs=(
            "Bot run #3 on 0123456: in progress, asked by octocat 6m ago.",
            "Bot run #3 on 0123456: success, asked by octocat 6m ago.",
        ),
        fields=(Field("head", "0123456"), Field("updated", "2026-11-21 12:00 UTC")),
        table=TABLE,
        links=(Link("acme/web#12", "https://github.com/acme/web/pull/12"), Link("CI", RUN_URL)),
    )


def test_a_summary_without_checks() -> None:
    reply = summary_reply(CHANGE, [], [], NOW)

    assert reply == Reply(
        title="CI summary for acme/web#12",
        status=Status.INFO,
        paragraphs=("No checks have reported on 0123456 yet.",),
        fields=(Field("head", "0123456"), Field("updated", "2026-11-21 12:00 UTC")),
        links=(Link("acme/web#12", "https://github.com/acme/web/pull/12"),),
    )


def test_a_summary_of_passing_or_running_checks() -> None:
    passing = [check("build", CheckState.COMPLETED, "success", None)]
    running = [*passing, check("docs", CheckState.QUEUED, None, None)]

    assert summary_reply(CHANGE, passing, [], NOW).status is Status.OK
    assert summary_reply(CHANGE, running, [], NOW).status is Status.RUNNING
