"""The replies about CI: a run's result, the sticky pull request summary, the checks table.

Pure ``Reply`` builders, no I/O: the run tracker calls them when a run completes, the
commands when they answer. Text is plain; renderers escape it.

- ``run_result_reply``: one tracked run finished (title ``CI passed: acme/web#12``), with
  its conclusion, duration, who asked, the head commit, failed jobs and links;
- ``forge_run_result_reply``: the same for a forge run the bot does not track (for the
  channels subscribed to the repository);
- ``summary_reply``: the pull request's CI at a glance (``CI summary for acme/web#12``);
- ``checks_table``: a commit's checks, failing first, then running or queued, then the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.ci.records import TrackedRun
from bot.durations import format_duration
from bot.forge import CANCELLED_CONCLUSIONS, Change, Check, CheckState, CiRunEvent, Job
from bot.messages import Field, Forge, Link, Reply, Status, Table

SHORT_SHA = 7
TITLES = {
    "success": "CI passed",
    "failure": "CI failed",
    "cancelled": "CI cancelled",
    "error": "CI could not run",
}
NOT_RUN = (
    "The forge did not start CI for this commit, or no longer knows the run; "
    "ask again with `rescan`."
)
JOBS_UNAVAILABLE = "Failed jobs: job list unavailable."


def short_sha(sha: str) -> str:
    return sha[:SHORT_SHA]


def change_ref(forge: Forge, repo: str, number: int | None, sha: str) -> str:
    """``acme/web#12``, ``group/project!5``, or ``acme/web@abc1234`` without a change."""
    if number is None:
        return f"{repo}@{short_sha(sha)}"
    sigil = "!" if forge is Forge.GITLAB else "#"
    return f"{repo}{sigil}{number}"


def run_result_reply(
    run: TrackedRun,
    failed_jobs: Sequence[Job],
    now: datetime,
    *,
    jobs_unavailable: bool = False,
) -> Reply:
    """What everyone waiting for ``run`` is told when it completes."""
    conclusion = run.conclusion or "unknown"
    began = run.started_at or run.requested_at
    paragraphs = _failures(failed_jobs, jobs_unavailable)
    if conclusion == "error":
        paragraphs = (NOT_RUN, *paragraphs)
    links = [Link(forge_run.name, forge_run.url) for forge_run in run.forge_runs if forge_run.url]
    links += [Link(job.name, job.url) for job in failed_jobs if job.url]
    return Reply(
        title=f"{_title(conclusion)}: {change_ref(run.forge, run.repo, run.number, run.head_sha)}",
        status=_tone(conclusion),
        paragraphs=paragraphs,
        fields=(
            Field("conclusion", conclusion),
            Field("duration", format_duration((run.finished_at or now) - began)),
            Field("requested by", run.requested_by),
            Field("head commit", short_sha(run.head_sha)),
        ),
        links=tuple(links),
    )


def forge_run_result_reply(
    event: CiRunEvent,
    failed_jobs: Sequence[Job],
    now: datetime,
    *,
    jobs_unavailable: bool = False,
) -> Reply:
    """A completed forge run the bot does not track, for the repository's subscribers."""
    run = event.run
    conclusion = run.conclusion or "unknown"
    number = event.changes[0] if event.changes else None
    began = run.started_at or run.finished_at or now
    links = [Link(run.name, run.url)] if run.url else []
    links += [Link(job.name, job.url) for job in failed_jobs if job.url]
    return Reply(
        title=f"{_title(conclusion)}: {change_ref(event.forge, event.repo, number, run.head_sha)}",
        status=_tone(conclusion),
        paragraphs=(
            f"{run.name}, attempt {run.attempt}",
            *_failures(failed_jobs, jobs_unavailable),
        ),
        fields=(
            Field("conclusion", conclusion),
            Field("duration", format_duration((run.finished_at or now) - began)),
            Field("started by", run.actor or "unknown"),
            Field("head commit", short_sha(run.head_sha)),
        ),
        links=tuple(links),
    )


def summary_reply(
    change: Change, checks: Sequence[Check], runs: Sequence[TrackedRun], now: datetime
) -> Reply:
    """The sticky summary of a pull/merge request: its head's checks and the bot's runs."""
    target = change.target
    ref = change_ref(target.forge or Forge.GITHUB, target.repo, target.number, change.head_sha)
    paragraphs: list[str] = []
    if not checks:
        paragraphs.append(f"No checks have reported on {short_sha(change.head_sha)} yet.")
    paragraphs += [_run_line(run, now) for run in runs]
    links = [Link(ref, change.url)]
    links += [
        Link(forge_run.name, forge_run.url)
        for run in runs
        for forge_run in run.forge_runs
        if forge_run.url
    ]
    return Reply(
        title=f"CI summary for {ref}",
        status=_checks_tone(checks),
        paragraphs=tuple(paragraphs),
        fields=(
            Field("head", short_sha(change.head_sha)),
            Field("updated", f"{now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"),
        ),
        table=checks_table(checks) if checks else None,
        links=tuple(links),
    )


def checks_table(checks: Sequence[Check]) -> Table:
    """Failing checks first, then running or queued ones, then passed or skipped ones;
    the forge's order within each group."""
    ordered = sorted(checks, key=_check_group)  # stable: the forge's order within a group
    return Table(
        headers=("check", "state", "link"),
        rows=tuple((check.name, _check_state(check), check.url or "") for check in ordered),
    )


def _title(conclusion: str) -> str:
    return TITLES.get(conclusion, f"CI {conclusion}")


def _tone(conclusion: str) -> Status:
    if conclusion == "success":
        return Status.OK
    if conclusion in CANCELLED_CONCLUSIONS:
        return Status.WARNING
    return Status.ERROR


def _checks_tone(checks: Sequence[Check]) -> Status:
    if any(check.failed for check in checks):
        return Status.ERROR
    if any(check.state is not CheckState.COMPLETED for check in checks):
        return Status.RUNNING
    return Status.OK if checks else Status.INFO


def _failures(failed_jobs: Sequence[Job], unavailable: bool) -> tuple[str, ...]:
    if unavailable:
        return (JOBS_UNAVAILABLE,)
    if not failed_jobs:
        return ()
    return ("Failed jobs: " + ", ".join(job.name for job in failed_jobs) + ".",)


def _check_group(check: Check) -> int:
    if check.failed:
        return 0
    return 1 if check.state is not CheckState.COMPLETED else 2


def _check_state(check: Check) -> str:
    if check.state is CheckState.COMPLETED:
        return check.conclusion or "completed"
    return str(check.state).replace("_", " ")


def _run_line(run: TrackedRun, now: datetime) -> str:
    state = run.conclusion or str(run.state).replace("_", " ")
    ago = format_duration(now - run.requested_at)
    sha = short_sha(run.head_sha)
    return f"Bot run #{run.id} on {sha}: {state}, asked by {run.requested_by} {ago} ago."
