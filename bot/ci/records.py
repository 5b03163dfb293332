"""What a tracked CI run is: the records the run tracker reads and the store keeps.

``TrackedRun`` is CI on one head commit that the bot started or was asked about, with the
forge runs it waits on (``TrackedForgeRun``) and how many places wait for its result
(``StoredOrigin``; ``Origin`` is one about to be added). ``NewRun`` is what a command
inserts. ``active_key``, ``place_of`` and ``run_state`` are the rules the store keeps
them by: one live run per commit, one origin per place, a run's state from its forge runs'.

Invariants: frozen data, no I/O; repositories are compared in lower case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.ci.models import RunState
from bot.messages import Forge, ReplyTarget

PLACE_MAX = 255


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked about a run, and where its result goes."""

    target: ReplyTarget  # the invocation's reply_to, as is (connectors handle stale hints)
    asked_by: str  # display name, e.g. "octocat"
    invocation_id: str


@dataclass(frozen=True, slots=True)
class TrackedForgeRun:
    """One forge run (workflow run, pipeline) a tracked run waits on.

    ``attempt`` is the attempt the run waits for; a ``REQUESTED`` forge run is one the
    bot still has to re-run (its previous attempt had not finished when asked).
    """

    external_id: str
    name: str
    state: RunState
    conclusion: str | None
    url: str
    attempt: int


@dataclass(frozen=True, slots=True)
class TrackedRun:
    """CI on one head commit that the bot started or was asked about."""

    id: int
    forge: Forge
    repo: str
    number: int | None
    head_sha: str
    state: RunState
    conclusion: str | None
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    forge_runs: tuple[TrackedForgeRun, ...]
    origins: int  # how many places wait for it
    # the invocation that created it; None when it tracks CI someone else started
    request_id: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredOrigin:
    id: int
    run_id: int
    target: ReplyTarget
    invocation_id: str | None
    asked_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class NewRun:
    """What ``create`` and ``replace`` insert."""

    forge: Forge
    repo: str
    number: int | None
    head_sha: str
    requested_by: str
    requested_at: datetime
    request_id: str | None
    started_at: datetime | None = None
    forge_runs: tuple[TrackedForgeRun, ...] = ()


class ActiveRunExists(Exception):
    """Another live run for the commit exists (another request or replica made it first)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"a run is already active for {key}")
        self.key = key


def active_key(forge: Forge, repo: str, sha: str) -> str:
    return f"{forge.value}:{repo.lower()}:{sha}"


def place_of(target: ReplyTarget) -> str:
    """One key per platform, channel and thread: an origin is told once per place."""
    place = f"{target.platform.value}:{target.channel}:{target.thread or ''}"
    if len(place) <= PLACE_MAX:
        return place
    return f"{target.platform.value}:sha256:{hashlib.sha256(place.encode()).hexdigest()}"


def run_state(forge_runs: Sequence[TrackedForgeRun]) -> RunState:
    """A run's state from its forge runs' (``COMPLETED`` only when all are)."""
    states = {forge_run.state for forge_run in forge_runs}
    if states and states == {RunState.COMPLETED}:
        return RunState.COMPLETED
    for state in (RunState.IN_PROGRESS, RunState.QUEUED):
        if state in states:
            return state
    return RunState.REQUESTED
