"""Decode a verified GitHub webhook delivery into what the bot should do. Pure; no I/O.

``decode(event, payload, ...)`` returns one of:

- ``Commands``: the invocations carried by a new comment (``issue_comment`` or
  ``pull_request_review_comment`` with action ``created``), one per command line, each
  keyed ``github:<delivery>:<index>`` so a redelivered event inserts nothing new;
- ``InstallationChange``: an App installation or its repository selection changed;
- ``CiUpdate``: a CI run changed (``workflow_run``, or ``check_suite.completed`` from an
  App other than GitHub Actions), decoded by ``connectors.github.ci_events``;
- ``Ping``: GitHub's hook check;
- ``Ignored``: anything else, with the reason (edits, deletions, the bot's own or
  another bot's comments, comments without a command, events the bot does not use).

Invariants: the author is the comment's ``user.login`` (never ``author_association``,
which says nothing about repository permission); the reply goes to the same thread; a
comment is never read as a command when its author is the bot itself or any ``Bot``
account, so two bots cannot talk each other into a loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.forge import CiRunEvent
from bot.messages import Actor, Forge, Invocation, Platform, ReplyTarget, Target, TargetKind
from bot.parsing import find_commands
from connectors.github.ci_events import NotTracked, decode_ci

COMMENT_EVENTS = ("issue_comment", "pull_request_review_comment")
INSTALLATION_EVENTS = ("installation", "installation_repositories")
CI_EVENTS = ("workflow_run", "check_suite")


@dataclass(frozen=True, slots=True)
class Commands:
    invocations: tuple[Invocation, ...]
    installation_id: int | None


@dataclass(frozen=True, slots=True)
class InstallationChange:
    installation_id: int
    account: str
    action: str  # created, deleted, suspend, unsuspend, added, removed, new_permissions_accepted
    added: tuple[str, ...]  # repositories (owner/name) now reachable
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CiUpdate:
    event: CiRunEvent


@dataclass(frozen=True, slots=True)
class Ping:
    hook_id: int | None


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


Decoded = Commands | InstallationChange | CiUpdate | Ping | Ignored


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is on GitHub, to find commands and skip its own comments."""

    mentions: tuple[str, ...]  # e.g. ("@chatops", "@chatops-bot")
    logins: frozenset[str]  # lower-case logins whose comments are never commands


def decode(
    event: str,
    delivery: str,
    payload: Mapping[str, Any],
    *,
    identity: Identity,
    received_at: datetime,
    new_id: Any,
) -> Decoded:
    """``new_id()`` makes invocation ids; injected so tests can pin them."""
    if event == "ping":
        hook_id = payload.get("hook_id")
        return Ping(hook_id=hook_id if isinstance(hook_id, int) else None)
    if event in INSTALLATION_EVENTS:
        return _installation(event, payload)
    if event in CI_EVENTS:
        update = decode_ci(event, payload)
        return Ignored(update.reason) if isinstance(update, NotTracked) else CiUpdate(update)
    if event not in COMMENT_EVENTS:
        return Ignored(f"{event} events carry no commands")
    action = payload.get("action")
    if action != "created":
        return Ignored(f"{event}.{action} is not a new comment")
    comment = payload["comment"]
    author = comment["user"]
    login = str(author["login"])
    if login.lower() in identity.logins or author.get("type") == "Bot":
        return Ignored(f"comment by the bot account {login}")
    lines = find_commands(comment.get("body") or "", identity.mentions)
    if not lines:
        return Ignored("no command in the comment")
    repo = str(payload["repository"]["full_name"])
    number, kind = _thread(event, payload)
    installation = payload.get("installation")
    installation_id = int(installation["id"]) if isinstance(installation, Mapping) else None
    reply_to = ReplyTarget(
        platform=Platform.GITHUB,
        channel=repo,
        thread=str(number),
        message=str(comment["id"]),
        extra=_hints(event, installation_id),
    )
    actor = Actor(platform=Platform.GITHUB, id=login, name=login)
    target = Target(repo=repo, kind=kind, number=number, forge=Forge.GITHUB)
    invocations = tuple(
        Invocation(
            id=new_id(),
            platform=Platform.GITHUB,
            actor=actor,
            text=line,
            reply_to=_with_quote(reply_to, identity.mentions[0], line),
            delivery_key=f"github:{delivery}:{index}",
            received_at=received_at,
            target=target,
        )
        for index, line in enumerate(lines)
    )
    return Commands(invocations=invocations, installation_id=installation_id)


def _thread(event: str, payload: Mapping[str, Any]) -> tuple[int, TargetKind]:
    """The issue or PR number the comment belongs to, and which of the two it is."""
    if event == "pull_request_review_comment":
        return int(payload["pull_request"]["number"]), TargetKind.PULL_REQUEST
    issue = payload["issue"]
    kind = TargetKind.PULL_REQUEST if issue.get("pull_request") else TargetKind.ISSUE
    return int(issue["number"]), kind


def _hints(event: str, installation_id: int | None) -> tuple[tuple[str, str], ...]:
    hints = [("comment_kind", "review" if event == "pull_request_review_comment" else "issue")]
    if installation_id is not None:
        hints.append(("installation", str(installation_id)))
    return tuple(hints)


def _with_quote(reply_to: ReplyTarget, mention: str, line: str) -> ReplyTarget:
    quoted = f"{mention} {line}".rstrip()
    return ReplyTarget(
        platform=reply_to.platform,
        channel=reply_to.channel,
        thread=reply_to.thread,
        message=reply_to.message,
        extra=(*reply_to.extra, ("quote", quoted)),
    )


def _installation(event: str, payload: Mapping[str, Any]) -> InstallationChange:
    installation = payload["installation"]
    account = installation.get("account") or {}
    action = str(payload.get("action", ""))
    if event == "installation_repositories":
        added = _names(payload.get("repositories_added") or ())
        removed = _names(payload.get("repositories_removed") or ())
    elif action == "deleted":
        added, removed = (), _names(payload.get("repositories") or ())
    else:
        added, removed = _names(payload.get("repositories") or ()), ()
    return InstallationChange(
        installation_id=int(installation["id"]),
        account=str(account.get("login", "")),
        action=action,
        added=added,
        removed=removed,
    )


def _names(repositories: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(str(repo["full_name"]) for repo in repositories)
