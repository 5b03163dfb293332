"""What command handlers and the run tracker may ask of a code host, platform-blind.

``ForgeClient`` is the protocol a forge package implements (``connectors.github.forge``,
``connectors.gitlab.forge``): read a pull or merge request (``Change``), list the CI of a
commit (``Check``: check runs and commit statuses; ``CiRun``: workflow runs or pipelines,
which can be re-run and cancelled), start CI (re-run, dispatch), tell which runs a
dispatch starts, and name the thread of a change as a ``ReplyTarget`` so replies and the
sticky summary go through the outbox like every other message. For the secrets commands
it lists a repository's CI secrets (``CiSecret``: names and dates, never values), its CI
files (``CiFile``: workflows, ``.gitlab-ci.yml``) and the latest run of each CI file.
``Forges`` picks the client for a ``Target``.

Invariants:
- Nothing here performs I/O; the types are frozen data with plain JSON-able fields.
- A client reports every failure as a ``ForgeError`` (a ``bot.errors.UpstreamError``), so
  the router turns an unexpected one into a clear reply; ``NotFound`` says *what* was not
  found, so a handler can name the target it understood.
- Times are timezone-aware UTC; ids are the forge's own, as strings.
- A forge's own words (event names such as ``workflow_dispatch``, what an HTTP status
  means) stay in its package: callers ask neutral questions (``dispatched``, ``cancel``'s
  answer) and the client answers them.
- A secret's value never crosses this boundary: a client that is handed values (GitLab's
  variables API) drops them before building a ``CiSecret``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.errors import CommandError, UpstreamError
from bot.messages import Forge, ReplyTarget, Target, TargetKind

# Conclusions that mean "this did not pass", across GitHub and GitLab vocabularies.
FAILED_CONCLUSIONS = frozenset(
    {"failure", "failed", "timed_out", "startup_failure", "action_required", "error"}
)
CANCELLED_CONCLUSIONS = frozenset({"cancelled", "canceled", "skipped", "stale"})


class ForgeError(UpstreamError):
    """A forge API call failed; ``status`` is the HTTP status when there was one."""


class NotFound(ForgeError):
    """The forge says it has no such thing (or the bot may not see it).

    ``what`` is one of ``repository``, ``pull request``, ``merge request``, ``run``.
    """

    def __init__(self, platform: str, what: str, name: str) -> None:
        super().__init__(platform, f"{platform} has no {what} {name} that the bot can see.", 404)
        self.what = what
        self.name = name


class Forbidden(ForgeError):
    """The bot's credentials may not do this (401/403 that is not a rate limit)."""


class ChangeState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class CheckState(enum.StrEnum):
    """Where a check or run is in its life; a finished one has a ``conclusion``."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class Change:
    """A pull request (GitHub) or merge request (GitLab), as CI commands need it."""

    target: Target  # resolved: forge, repo, kind and number set
    title: str
    url: str
    author: str
    head_sha: str
    head_ref: str
    base_ref: str
    fork: bool  # the head lives in another repository
    state: ChangeState


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a commit: a check run or a commit status (``kind``)."""

    kind: str  # "check_run" | "status" | "job"
    name: str
    state: CheckState
    conclusion: str | None
    url: str | None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED_CONCLUSIONS


@dataclass(frozen=True, slots=True)
class CiRun:
    """One workflow run (GitHub Actions) or pipeline (GitLab): what can be re-run or cancelled.

    ``attempt`` counts re-runs of the same run id (GitHub's ``run_attempt``; 1 on GitLab,
    where a retry is a new pipeline).
    """

    id: str
    name: str
    state: CheckState
    conclusion: str | None
    url: str
    head_sha: str
    actor: str
    event: str
    attempt: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED_CONCLUSIONS


@dataclass(frozen=True, slots=True)
class Job:
    """One job of a ``CiRun``, for "which jobs failed"."""

    name: str
    state: CheckState
    conclusion: str | None
    url: str | None

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED_CONCLUSIONS


@dataclass(frozen=True, slots=True)
class CiRunEvent:
    """A forge webhook said a CI run changed (GitHub ``workflow_run``, GitLab pipeline).

    ``changes`` are the pull/merge request numbers the forge associated with the run.
    """

    forge: Forge
    repo: str
    run: CiRun
    changes: tuple[int, ...] = ()


class SecretScope(enum.StrEnum):
    """Where a CI secret is defined, from the repository's point of view."""

    REPOSITORY = "repository"  # GitHub Actions repository secret; GitLab project variable
    ENVIRONMENT = "environment"  # GitHub environment secret; GitLab variable with an env scope
    ORGANIZATION = "organization"  # GitHub organization secret; GitLab group variable
    DEPENDABOT = "dependabot"  # GitHub Dependabot secret


@dataclass(frozen=True, slots=True)
class CiSecret:
    """One CI secret a repository's CI can read: its name and metadata, never its value.

    ``scope_name`` names where it is defined: the repository, the environment, the
    organization or group path. ``updated_at`` is when it was last set (rotated), when the
    forge says so (GitLab does not). ``attributes`` are the forge's flags, such as
    ``masked`` or ``protected``, sorted.
    """

    name: str
    scope: SecretScope
    scope_name: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CiFile:
    """A CI definition file of a repository at some ref: its path and text."""

    path: str  # ".github/workflows/ci.yml", ".gitlab-ci.yml", "ci/deploy.yml"
    text: str


class CiEventSink(Protocol):
    """Where forge webhooks hand CI run updates (the run tracker)."""

    async def observe(self, event: CiRunEvent) -> None: ...


class ForgeClient(Protocol):
    """One forge's API, as handlers and the run tracker use it."""

    @property
    def forge(self) -> Forge: ...

    async def change(self, repo: str, number: int) -> Change:
        """The pull/merge request, or ``NotFound`` naming the repository or the change."""
        ...

    async def checks(self, repo: str, sha: str) -> list[Check]:
        """Every check of the commit: the latest check run per name, then commit statuses."""
        ...

    async def ci_runs(self, repo: str, sha: str) -> list[CiRun]:
        """The CI runs of the commit, newest first (the latest attempt of each run)."""
        ...

    async def ci_run(self, repo: str, run_id: str) -> CiRun: ...

    async def jobs(self, repo: str, run_id: str) -> list[Job]: ...

    async def rerun(self, repo: str, run_id: str, *, failed_only: bool = False) -> CiRun | None:
        """Run it again. None when the forge counts a new attempt of the same run (GitHub);
        the new run when it starts another one instead (GitLab: a new pipeline)."""
        ...

    async def cancel(self, repo: str, run_id: str) -> bool:
        """Cancel the run; False when there was nothing left to cancel (it had finished)."""
        ...

    async def dispatch(
        self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]
    ) -> CiRun | None:
        """Start ``workflow`` on ``ref``; the new run when the forge says which it is."""
        ...

    def dispatched(self, run: CiRun) -> bool:
        """Whether ``run`` is of the kind ``dispatch`` starts, so that a dispatch that did not
        say which run it started can be found among the commit's runs."""
        ...

    def thread(self, repo: str, number: int, *, sticky: str | None = None) -> ReplyTarget:
        """Where a message to the change's thread goes; ``sticky`` names a comment that is
        edited in place (one per change and name) instead of posted again."""
        ...

    async def secrets(self, repo: str) -> list[CiSecret]:
        """Every CI secret the repository's CI can read, sorted by scope, scope name, name.

        GitHub: Actions secrets of the repository, of its environments, of the organization
        (those visible to the repository), and Dependabot secrets. GitLab: project variables
        and those of every ancestor group. Names and dates only.
        """
        ...

    async def ci_files(self, repo: str, ref: str | None = None) -> list[CiFile]:
        """The CI definition files at ``ref`` (default branch when None), sorted by path.

        GitHub: ``.github/workflows/*.yml`` and ``*.yaml`` (reusable workflows called from the
        same repository live there too). GitLab: ``.gitlab-ci.yml`` and the files it
        includes with ``include: local``. A repository without any gives ``[]``.
        """
        ...

    async def latest_runs(self, repo: str) -> dict[str, CiRun]:
        """The newest CI run of each CI file, keyed by the file's path (as in ``ci_files``)."""
        ...


class Forges:
    """The configured forge clients, and which one serves a target."""

    def __init__(self, clients: Sequence[ForgeClient] = ()) -> None:
        self._clients = {client.forge: client for client in clients}

    def __bool__(self) -> bool:
        return bool(self._clients)

    def add(self, client: ForgeClient) -> None:
        if client.forge in self._clients:
            raise ValueError(f"a client for {client.forge.value} is already registered")
        self._clients[client.forge] = client

    def forge_of(self, target: Target) -> Forge:
        """The forge a target means: its prefix, else its syntax, else the only one configured."""
        if target.forge is not None:
            return target.forge
        if target.kind in (TargetKind.MERGE_REQUEST, TargetKind.ISSUE):
            return Forge.GITLAB
        if len(self._clients) == 1:
            return next(iter(self._clients))
        return Forge.GITHUB

    def client_for(self, target: Target) -> ForgeClient:
        """The client for ``target``, or a ``CommandError`` that says the forge is not set up."""
        forge = self.forge_of(target)
        client = self._clients.get(forge)
        if client is None:
            raise CommandError(
                f"{_display(forge)} is not set up on this bot, "
                f"so it cannot act on {target.display}."
            )
        return client

    def client(self, forge: Forge) -> ForgeClient | None:
        return self._clients.get(forge)


def _display(forge: Forge) -> str:
    return {Forge.GITHUB: "GitHub", Forge.GITLAB: "GitLab"}[forge]
