"""The CI feature's decisions, pure: what to start, what a forge run's update means, what to say.

The modules around this one ask the forge and the database (``start``, ``launch``,
``follow``, ``notices``, ``reconcile``); every choice they make on what they read is a
function here, so it can be read, and tested, without a forge or a database:

- starting: ``plan_start`` (dispatch the configured workflow, else re-run the commit's
  runs), ``ours`` and ``foreign`` (the run a command or someone else started), what the
  reply says was done (``how_dispatched``, ``how_reran``, ``how_started``), and whether
  joining a live run is ``COALESCED`` or ``ALREADY_RUNNING`` (``joined``);
- following: ``update_for`` (what a forge run's update means for a run waiting on it),
  ``conclusion`` (a run's result from its forge runs), which dispatched forge runs a run
  may adopt (``resumable``, ``late``);
- saying: the messages a settled run enqueues (``result_messages``, ``abandon_messages``,
  ``untracked_messages``), each under a key derived from the run, or from the forge run and
  its attempt, so nothing is told twice.

Invariants: no I/O, no clock (times come in as arguments), no state.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels.store import Subscriber
from bot.ci.models import RunState
from bot.ci.records import NewRun, Origin, StoredOrigin, TrackedForgeRun, TrackedRun
from bot.forge import (
    CANCELLED_CONCLUSIONS,
    FAILED_CONCLUSIONS,
    Change,
    CheckState,
    CiRun,
    CiRunEvent,
)
from bot.messages import Forge, Outgoing, Place, Reply, ReplyTarget
from bot.pipeline.keys import run_origin_key, run_subscriber_key

KEY_MAX = 255  # the outbox key column
STATES = {
    CheckState.QUEUED: RunState.QUEUED,
    CheckState.IN_PROGRESS: RunState.IN_PROGRESS,
    CheckState.COMPLETED: RunState.COMPLETED,
}


class RescanOutcome(enum.StrEnum):
    STARTED = "started"  # we started CI (dispatch or re-run); run is set
    COALESCED = "coalesced"  # a rescan of this head commit was asked for within the window
    ALREADY_RUNNING = "running"  # CI for this head commit is running (ours or not); run is set
    NOTHING_TO_RUN = "nothing"  # no workflow configured and no runs for the commit to re-run


@dataclass(frozen=True, slots=True)
class Rescan:
    """What ``rescan`` or ``restart`` did, for the command's reply."""

    outcome: RescanOutcome
    run: TrackedRun | None
    cancelled: tuple[CiRun, ...] = ()  # restart: what was cancelled
    how: str = ""  # "dispatched ci.yml on feature-x", "re-ran 2 workflow runs", for the reply


@dataclass(frozen=True, slots=True)
class StartPlan:
    """How to start CI: dispatch ``workflow``, or re-run ``reruns``."""

    workflow: str | None = None
    reruns: tuple[CiRun, ...] = ()


class Update(enum.Enum):
    """What a forge run's update means for a run waiting on that forge run."""

    RECORD = "record"  # the attempt the run waits for (or a later one): record it
    RERUN = "rerun"  # the older attempt finished: issue the re-run the run still has to do
    IGNORE = "ignore"  # an older attempt, or one still finishing: nothing to do yet


# ---------------------------------------------------------------------- starting


def plan_start(
    workflow: str | None, change: Change, runs: Sequence[CiRun], *, include_running: bool
) -> StartPlan | None:
    """Dispatch ``workflow`` (configured for the repository; never for a fork), else re-run
    the commit's completed runs (all of them for a restart); None when there is nothing."""
    if workflow is not None and not change.fork:
        return StartPlan(workflow=workflow)
    reruns = tuple(run for run in runs if include_running or run.state is CheckState.COMPLETED)
    return StartPlan(reruns=reruns) if reruns else None


def joined(requested_at: datetime, now: datetime, window: timedelta) -> RescanOutcome:
    """Joining a live run: ``COALESCED`` if it was asked for within the window."""
    recent = now - requested_at < window
    return RescanOutcome.COALESCED if recent else RescanOutcome.ALREADY_RUNNING


def forge_row(run: CiRun) -> TrackedForgeRun:
    """The record of a forge run as the forge reports it, waiting for its current attempt."""
    return TrackedForgeRun(
        external_id=run.id,
        name=run.name,
        state=STATES[run.state],
        conclusion=run.conclusion,
        url=run.url,
        attempt=run.attempt,
    )


def rerun_row(run: CiRun) -> TrackedForgeRun:
    """The record of a re-run still to be issued: ``REQUESTED``, waiting for the next attempt."""
    return TrackedForgeRun(
        external_id=run.id,
        name=run.name,
        state=RunState.REQUESTED,
        conclusion=None,
        url=run.url,
        attempt=run.attempt + 1,
    )


def ours(forge: Forge, change: Change, origin: Origin, now: datetime) -> NewRun:
    """A run a command starts: requested by the asker, now."""
    return NewRun(
        forge=forge,
        repo=change.target.repo,
        number=change.target.number,
        head_sha=change.head_sha,
        requested_by=origin.asked_by,
        requested_at=now,
        request_id=origin.invocation_id,
    )


def foreign(forge: Forge, change: Change, running: Sequence[CiRun], now: datetime) -> NewRun:
    """A run for CI someone else started: requested by its actor, when it started."""
    starts = [run.started_at for run in running if run.started_at is not None]
    began = min(starts) if starts else now
    return NewRun(
        forge=forge,
        repo=change.target.repo,
        number=change.target.number,
        head_sha=change.head_sha,
        requested_by=next((run.actor for run in running if run.actor), "someone else"),
        requested_at=began,
        request_id=None,
        started_at=began,
        forge_runs=tuple(forge_row(run) for run in running),
    )


def how_dispatched(workflow: str, change: Change) -> str:
    return f"dispatched {workflow} on {change.head_ref}"


def how_reran(count: int, waiting: int) -> str:
    """``re-ran 2 workflow runs (1 once its cancellation completes)``."""
    text = f"re-ran {count} workflow run{'' if count == 1 else 's'}"
    if waiting:
        their = "its" if waiting == 1 else "their"
        text += f" ({waiting} once {their} cancellation completes)"
    return text


def waiting_reruns(run: TrackedRun) -> int:
    """How many of the run's re-runs are still to be issued."""
    return sum(1 for row in run.forge_runs if row.state is RunState.REQUESTED)


def how_started(workflow: str | None, change: Change, run: TrackedRun) -> str:
    """What a run that started earlier did, for the answer to a retried invocation."""
    if workflow is not None and not change.fork:
        return how_dispatched(workflow, change)
    return how_reran(len(run.forge_runs), waiting_reruns(run))


def busy(change: Change) -> str:
    return (
        f"CI on {change.target} changed several times while the bot looked at it; "
        "try again in a moment."
    )


# ---------------------------------------------------------------------- following


def update_for(row: TrackedForgeRun, seen: CiRun) -> Update:
    """What ``seen`` (the forge's word on a forge run) means for a run waiting on ``row``."""
    if seen.attempt < row.attempt:
        if row.state is RunState.REQUESTED and seen.state is CheckState.COMPLETED:
            return Update.RERUN
        return Update.IGNORE
    return Update.RECORD


def conclusion(forge_runs: Sequence[TrackedForgeRun]) -> str:
    """A run's result: failure if any failed, else cancelled if any was cancelled, else
    success (a skipped forge run counts as passed)."""
    conclusions = {row.conclusion for row in forge_runs}
    if conclusions & FAILED_CONCLUSIONS:
        return "failure"
    if conclusions & (CANCELLED_CONCLUSIONS - {"skipped"}):
        return "cancelled"
    return "success"


def resumable(dispatches: Sequence[CiRun], since: datetime) -> list[CiRun]:
    """Of the commit's dispatched runs, those still going that a run requested at ``since``
    started: a retried invocation adopts them instead of dispatching again."""
    return [
        run
        for run in dispatches
        if run.state is not CheckState.COMPLETED
        and run.started_at is not None
        and run.started_at >= since
    ]


def late(dispatches: Sequence[CiRun], since: datetime) -> list[CiRun]:
    """Of the commit's dispatched runs, those that may be the one a run requested at
    ``since`` waits for (one that has not started yet may be)."""
    return [run for run in dispatches if run.started_at is None or run.started_at >= since]


# ---------------------------------------------------------------------- saying


def follows_up(target: ReplyTarget) -> bool:
    """Whether a result can reach ``target`` later: not a session, which has ended."""
    return target.place is not Place.SESSION


def result_messages(
    run_id: int,
    result: Reply,
    origins: Sequence[StoredOrigin],
    subscribers: Sequence[Subscriber],
    summary: Outgoing | None,
) -> list[Outgoing]:
    """A settled run's messages: the result to every origin that can still hear it, the
    sticky summary, and the result to each subscribed channel that is not an origin."""
    out = [_to_origin(run_id, origin, result) for origin in origins if follows_up(origin.target)]
    if summary is not None:
        out.append(summary)
    places = {(origin.target.platform, origin.target.channel) for origin in origins}
    out += [
        Outgoing(target=sub.target, reply=result, key=run_subscriber_key(run_id, sub.id))
        for sub in subscribers
        if (sub.target.platform, sub.target.channel) not in places
    ]
    return out


def abandon_messages(
    run_id: int, result: Reply, origins: Sequence[StoredOrigin], skip_invocation: str | None
) -> list[Outgoing]:
    """A run that never started: its origins hear it, except the invocation whose own
    reply says why; nobody else does."""
    return [
        _to_origin(run_id, origin, result)
        for origin in origins
        if follows_up(origin.target)
        if skip_invocation is None or origin.invocation_id != skip_invocation
    ]


def untracked_messages(
    event: CiRunEvent, reply: Reply, subscribers: Sequence[Subscriber]
) -> list[Outgoing]:
    """A completed forge run no run tracks: each subscribed channel, once per attempt."""
    run = event.run
    base = f"forge-run:{event.forge.value}:{event.repo.lower()}:{run.id}:{run.attempt}"
    return [Outgoing(sub.target, reply, bounded(f"{base}:sub:{sub.id}")) for sub in subscribers]


def bounded(key: str) -> str:
    """An outbox key within the column's size: long ones end in a hash instead."""
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_MAX - len(digest) - 1]}:{digest}"


def _to_origin(run_id: int, origin: StoredOrigin, result: Reply) -> Outgoing:
    return Outgoing(
        target=origin.target,
        reply=result,
        key=run_origin_key(run_id, origin.id),
        invocation_id=origin.invocation_id,
    )
