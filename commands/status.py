"""``status [TARGET]``: the CI state of a pull request's head commit, and the bot's own runs.

Reads only. The checks (check runs and commit statuses) come from the forge, grouped so
that what fails comes first; the runs the bot started or was asked about come from the
run tracker. Inside a pull request's thread the target is that pull request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.ci.records import TrackedRun
from bot.ci.replies import checks_table, short_sha
from bot.ci.tracker import RunTracker
from bot.context import Context
from bot.forge import Change, Check, CheckState
from bot.messages import Field, Link, Reply, Status, Target
from bot.router import Command
from commands.changes import label, open_change, when

TRACKED_SHOWN = 3


@dataclass(frozen=True, slots=True)
class StatusArgs:
    target: Target | None = field(
        default=None, metadata={"help": "the pull request (owner/repo#12)", "metavar": "TARGET"}
    )


class StatusCommand:
    """``status``, bound to the run tracker it reads the bot's own runs from."""

    def __init__(self, runs: RunTracker) -> None:
        self._runs = runs

    async def status(self, ctx: Context, _args: StatusArgs) -> Reply:
        client, change = await open_change(ctx, "status")
        checks = await client.checks(change.target.repo, change.head_sha)
        runs = await self._runs.runs_for(
            client.forge, change.target.repo, change.target.number or 0, limit=TRACKED_SHOWN
        )
        return status_reply(change, checks, runs, ctx.clock.now())


def status_reply(
    change: Change, checks: Sequence[Check], runs: Sequence[TrackedRun], now: datetime
) -> Reply:
    failing = sum(1 for check in checks if check.failed)
    running = sum(1 for check in checks if check.state is not CheckState.COMPLETED)
    passed = len(checks) - failing - running
    counts = [
        f"{count} {word}"
        for count, word in ((failing, "failing"), (running, "running"), (passed, "passed"))
        if count
    ]
    tone = (
        Status.ERROR
        if failing
        else Status.RUNNING
        if running
        else Status.OK
        if checks
        else Status.INFO
    )
    title = f"CI for {label(change)}: " + (", ".join(counts) if counts else "no checks yet")
    fields = [
        Field("head", f"{short_sha(change.head_sha)} ({change.head_ref})"),
        Field("pull request", f"{change.state} · {change.title}"),
    ]
    links = [Link(label(change), change.url)]
    for run in runs:
        fields.append(Field(f"bot run {run.id}", _tracked(run, now)))
        links.extend(Link(forge_run.name, forge_run.url) for forge_run in run.forge_runs)
    paragraphs = () if checks else (f"No checks have reported on {short_sha(change.head_sha)}.",)
    return Reply(
        title=title,
        status=tone,
        paragraphs=paragraphs,
        fields=tuple(fields),
        table=checks_table(checks) if checks else None,
        links=tuple(links),
    )


def _tracked(run: TrackedRun, now: datetime) -> str:
    state = run.conclusion or str(run.state).replace("_", " ")
    return (
        f"{state} on {short_sha(run.head_sha)}, asked by {run.requested_by} "
        f"{when(run.requested_at, now)}"
    )


def commands(runs: RunTracker) -> tuple[Command[StatusArgs], ...]:
    handlers = StatusCommand(runs)
    return (
        Command(
            name="status",
            summary="Show the CI state of a pull request's head commit.",
            handler=handlers.status,
            args=StatusArgs,
            examples=("status", "status acme/web#12", "status #12"),
            description=(
                "Lists every check run and commit status of the head commit, failing first, "
                "and the runs the bot started for it. In a pull request's thread, the target "
                "is that pull request."
            ),
        ),
    )
