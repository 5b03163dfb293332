"""``rescan``, ``restart`` and ``update``: start CI on a pull request again, or refresh its summary.

``rescan`` starts CI on the head commit unless it is running or was just asked for (the run
tracker decides; see ``bot.ci.start``); ``restart`` cancels what runs and starts again; both
answer at once and the result follows in the same place when the run finishes. ``update``
starts nothing: it rewrites the pull request's sticky summary comment from the current
state, through the outbox, in the same transaction as its answer.

All three need write access. A closed or merged pull request is not rescanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.ci.notices import SUMMARY_STICKY
from bot.ci.plan import Rescan, RescanOutcome, follows_up
from bot.ci.records import TrackedRun
from bot.ci.replies import short_sha, summary_reply
from bot.ci.tracker import RunTracker
from bot.context import Context
from bot.forge import Change, ChangeState, CiRun
from bot.messages import Field, Level, Link, Reply, Status, Target
from bot.router import Command
from commands.changes import label, open_change, origin, when

TARGET_HELP = {"help": "the pull request (owner/repo#12)", "metavar": "TARGET"}


@dataclass(frozen=True, slots=True)
class ChangeArgs:
    target: Target | None = field(default=None, metadata=TARGET_HELP)


class RescanCommands:
    """``rescan``, ``restart`` and ``update``, bound to the run tracker that starts runs."""

    def __init__(self, runs: RunTracker) -> None:
        self._runs = runs

    async def rescan(self, ctx: Context, _args: ChangeArgs) -> Reply:
        return await self._run_again(ctx, "rescan", restart=False)

    async def restart(self, ctx: Context, _args: ChangeArgs) -> Reply:
        return await self._run_again(ctx, "restart", restart=True)

    async def _run_again(self, ctx: Context, command: str, *, restart: bool) -> Reply:
        client, change = await open_change(ctx, command)
        if change.state is not ChangeState.OPEN:
            return _not_open(change, command)
        asker = origin(ctx)
        start = self._runs.restart if restart else self._runs.rescan
        result = await start(client, change, asker)
        return rescan_reply(change, result, ctx.clock.now(), follows=follows_up(asker.target))

    async def update(self, ctx: Context, _args: ChangeArgs) -> Reply:
        client, change = await open_change(ctx, "update")
        repo, number = change.target.repo, change.target.number or 0
        checks = await client.checks(repo, change.head_sha)
        runs = await self._runs.runs_for(client.forge, repo, number)
        now = ctx.clock.now()
        ctx.also_send(
            client.thread(repo, number, sticky=SUMMARY_STICKY),
            summary_reply(change, checks, runs, now),
            SUMMARY_STICKY,
        )
        return Reply(
            title=f"Summary updated: {label(change)}",
            status=Status.OK,
            paragraphs=(
                f"The summary comment on {label(change)} now shows {len(checks)} check(s) of "
                f"{short_sha(change.head_sha)} and {len(runs)} bot run(s).",
            ),
            links=(Link(label(change), change.url),),
        )


def rescan_reply(change: Change, result: Rescan, now: datetime, *, follows: bool = True) -> Reply:
    """The immediate answer to ``rescan`` or ``restart``; ``follows`` says whether the
    result will be posted where it was asked (not in a shell session, which ends)."""
    run = result.run
    target = label(change)
    later = (
        "The result will be posted here when it finishes."
        if follows
        else f"Say `status {target}` to see how it goes."
    )
    if result.outcome is RescanOutcome.NOTHING_TO_RUN or run is None:
        return Reply(
            title=f"Nothing to rescan: {target}",
            status=Status.WARNING,
            paragraphs=(
                f"No CI has run on {short_sha(change.head_sha)} yet, so there is nothing to "
                f"re-run, and no workflow is configured for {change.target.repo}.",
                "An operator can name one under [[ci.workflows]] in the bot's configuration.",
            ),
        )
    fields = (Field("run", f"#{run.id}"), Field("head", short_sha(run.head_sha)))
    links = _run_links(run)
    if result.outcome is RescanOutcome.COALESCED:
        return Reply(
            title=f"Rescan already requested: {target}",
            status=Status.INFO,
            paragraphs=(
                f"{run.requested_by} asked for it at {when(run.requested_at, now)}; "
                f"this request joins run #{run.id}.",
                later,
            ),
            fields=fields,
            links=links,
        )
    if result.outcome is RescanOutcome.ALREADY_RUNNING:
        return Reply(
            title=f"CI is already running: {target}",
            status=Status.RUNNING,
            paragraphs=(
                f"Started by {run.requested_by} at {when(run.requested_at, now)}.",
                later,
                "To cancel it and start over, say `restart`.",
            ),
            fields=fields,
            links=links,
        )
    paragraphs = []
    if result.cancelled:
        paragraphs.append(f"Cancelled {_names(result.cancelled)}.")
    if result.how:
        paragraphs.append(_sentence(result.how))
    paragraphs.append(later)
    verb = "Restarted" if result.cancelled else "Rescan started"
    return Reply(
        title=f"{verb}: {target}",
        status=Status.RUNNING,
        paragraphs=tuple(paragraphs),
        fields=fields,
        links=links,
    )


def _not_open(change: Change, command: str) -> Reply:
    return Reply(
        title=f"Not rescanned: {label(change)} is {change.state}",
        status=Status.WARNING,
        paragraphs=(f"`{command}` only starts CI on open pull requests.",),
    )


def _run_links(run: TrackedRun) -> tuple[Link, ...]:
    return tuple(Link(forge_run.name, forge_run.url) for forge_run in run.forge_runs)


def _names(runs: Sequence[CiRun]) -> str:
    names = ", ".join(run.name for run in runs)
    return f"{len(runs)} run{'s' if len(runs) != 1 else ''} ({names})"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def commands(runs: RunTracker) -> tuple[Command[ChangeArgs], ...]:
    handlers = RescanCommands(runs)
    return (
        Command(
            name="rescan",
            summary="Run CI again on a pull request's head commit; the result follows here.",
            handler=handlers.rescan,
            args=ChangeArgs,
            level=Level.WRITE,
            examples=("rescan", "rescan acme/web#12"),
            description=(
                "Dispatches the workflow configured for the repository, or re-runs the "
                "commit's latest workflow runs. If CI is already running, or a rescan was "
                "just asked for, this request joins it instead of starting another."
            ),
        ),
        Command(
            name="restart",
            summary="Cancel the CI running on a pull request, then run it again.",
            handler=handlers.restart,
            args=ChangeArgs,
            level=Level.WRITE,
            examples=("restart", "restart acme/web#12"),
        ),
        Command(
            name="update",
            summary="Refresh the pull request's summary comment without starting anything.",
            handler=handlers.update,
            args=ChangeArgs,
            level=Level.WRITE,
            examples=("update", "update acme/web#12"),
        ),
    )
