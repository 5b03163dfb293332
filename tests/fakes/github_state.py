"""What the fake GitHub remembers: comments, reactions, hooks, deliveries, apps, pulls and CI.

``World`` is plain data plus id counters; behaviour lives in ``github_handlers`` and JSON
shapes in ``github_render``. Ids are per kind and start at 1 (comments, both issue and
review comments, share one sequence, as a comment id names one comment in a repository).
Logins stand for users everywhere; a login ending in ``[bot]`` is a bot.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")


@dataclass
class Comment:
    """An issue comment (``kind == "issue"``) or a pull request review comment."""

    id: int
    repo: str
    number: int
    body: str
    author: str
    kind: str
    created_at: datetime
    updated_at: datetime
    path: str = "README.md"
    commit_id: str = "0" * 40
    in_reply_to: int | None = None


@dataclass(frozen=True)
class Reaction:
    """A reaction as tests see it: ``id`` is the issue number or comment id reacted to."""

    repo: str
    kind: str
    id: int
    content: str
    user: str


@dataclass(frozen=True)
class StoredReaction:
    reaction_id: int
    record: Reaction
    created_at: datetime


@dataclass
class Hook:
    """A repository webhook; ``config`` keeps the secret, which responses never show."""

    id: int
    repo: str
    events: list[str]
    config: dict[str, Any]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    guid: str
    event: str
    action: str | None
    status_code: int
    delivered_at: datetime
    redelivery: bool
    installation_id: int | None
    repository_id: int | None
    payload: dict[str, Any]


@dataclass
class Installation:
    id: int
    account: str
    repos: list[str]
    permissions: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class Grant:
    """Who a token speaks for; installation tokens expire and see only their repos."""

    login: str
    installation_id: int | None = None
    expires_at: datetime | None = None
    repos: frozenset[str] | None = None


@dataclass
class Pull:
    repo: str
    number: int
    head_sha: str
    head_ref: str
    author: str
    state: str
    fork: bool
    base_ref: str
    title: str
    created_at: datetime
    merged: bool = False


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class CommitStatus:
    id: int
    repo: str
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None
    created_at: datetime


@dataclass(frozen=True)
class Workflow:
    id: int
    repo: str
    name: str
    path: str
    created_at: datetime


@dataclass
class WorkflowRun:
    id: int
    repo: str
    workflow_id: int
    head_sha: str
    head_branch: str
    event: str
    status: str
    conclusion: str | None
    run_number: int
    actor: str
    created_at: datetime
    updated_at: datetime
    run_attempt: int = 1
    started_at: datetime | None = None  # this attempt's start; the creation time when None


@dataclass
class Job:
    id: int
    run_id: int
    repo: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Dispatch:
    """A ``workflow_dispatch``: ``workflow`` is the id or file name as the caller sent it."""

    repo: str
    workflow: int | str
    ref: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Rerun:
    repo: str
    run_id: int
    failed_only: bool


@dataclass(frozen=True)
class StoredSecret:
    """An Actions, environment or Dependabot secret: a name and dates (values are never kept)."""

    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OrgSecret:
    """An organization Actions secret; ``selected`` lists repos for visibility ``selected``."""

    name: str
    visibility: str
    selected: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass
class World:
    """Everything the fake knows; handlers read and change it, tests seed and inspect it."""

    clock: Callable[[], datetime]
    bot_login: str
    app_id: str | None
    app_slug: str
    comments: dict[int, Comment] = field(default_factory=dict)
    reactions: list[StoredReaction] = field(default_factory=list)
    permissions: dict[tuple[str, str], str] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens_minted: Counter[int] = field(default_factory=Counter)
    hooks: dict[int, Hook] = field(default_factory=dict)
    pings: list[tuple[str, int]] = field(default_factory=list)
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    redeliveries: list[int] = field(default_factory=list)
    pulls: dict[tuple[str, int], Pull] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    dispatches: list[Dispatch] = field(default_factory=list)
    reruns: list[Rerun] = field(default_factory=list)
    cancellations: list[tuple[str, int]] = field(default_factory=list)
    repos: dict[str, bool] = field(default_factory=dict)  # added with add_repo: private?
    # secrets and files (tests.fakes.github_secrets): by repository, environment, organization
    repo_secrets: dict[str, list[StoredSecret]] = field(default_factory=dict)
    environment_secrets: dict[tuple[str, str], list[StoredSecret]] = field(default_factory=dict)
    org_secrets: dict[str, list[OrgSecret]] = field(default_factory=dict)
    dependabot_secrets: dict[str, list[StoredSecret]] = field(default_factory=dict)
    files: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (repo, ref)
    # the App's granted permissions and subscribed events (None: the render's defaults), and
    # its webhook's configuration (``GET /app/hook/config``; None: no webhook URL set)
    app_permissions: dict[str, str] | None = None
    app_events: list[str] | None = None
    app_hook_config: dict[str, Any] | None = None
    rate_limit: int = 5000
    rate_used: int = 0
    rate_reset: int = 0
    _sequences: dict[str, Iterator[int]] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        """The next id of ``kind`` (1, 2, ...)."""
        return next(self._sequences.setdefault(kind, itertools.count(1)))

    @property
    def app_bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    def add_comment(
        self, repo: str, number: int, body: str, author: str, *, kind: str = "issue", **extra: Any
    ) -> Comment:
        now = self.clock()
        comment = Comment(
            id=self.next_id("comment"),
            repo=repo,
            number=number,
            body=body,
            author=author,
            kind=kind,
            created_at=now,
            updated_at=now,
            **extra,
        )
        self.comments[comment.id] = comment
        return comment

    def comment(self, repo: str, comment_id: int, kind: str) -> Comment | None:
        found = self.comments.get(comment_id)
        return found if found is not None and (found.repo, found.kind) == (repo, kind) else None

    def thread(self, repo: str, number: int, kind: str | None = None) -> list[Comment]:
        """Comments on one issue or pull request, oldest first."""
        return [
            c
            for c in self.comments.values()
            if (c.repo, c.number) == (repo, number) and kind in (None, c.kind)
        ]

    def react(self, record: Reaction) -> tuple[StoredReaction, bool]:
        """Add ``record`` unless the same user already reacted so; True when it is new."""
        for stored in self.reactions:
            if stored.record == record:
                return stored, False
        stored = StoredReaction(self.next_id("reaction"), record, self.clock())
        self.reactions.append(stored)
        return stored, True

    def association(self, repo: str, login: str) -> str:
        """``author_association`` as GitHub derives it, from what the fake knows."""
        if login == repo.split("/")[0]:
            return "OWNER"
        if self.permissions.get((repo, login), "none") != "none":
            return "COLLABORATOR"
        return "NONE"

    def hooks_of(self, repo: str) -> list[Hook]:
        return [hook for hook in self.hooks.values() if hook.repo == repo]

    def knows_repo(self, repo: str) -> bool:
        """A repository exists here once added, or once anything of it was seeded."""
        return (
            repo in self.repos
            or any(pull.repo == repo for pull in self.pulls.values())
            or any(workflow.repo == repo for workflow in self.workflows.values())
            or any(repo in installation.repos for installation in self.installations.values())
            or any(hook.repo == repo for hook in self.hooks.values())
        )

    def statuses_for(self, repo: str, sha: str) -> list[CommitStatus]:
        """Latest status per context, newest first, as the combined status reports them."""
        latest: dict[str, CommitStatus] = {}
        for status in reversed(self.statuses):
            if (status.repo, status.sha) == (repo, sha):
                latest.setdefault(status.context, status)
        return list(latest.values())
