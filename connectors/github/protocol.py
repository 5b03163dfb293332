"""GitHub's webhook wire format, sans I/O: signatures checked, deliveries decoded. Pure.

Signatures: GitHub signs each delivery with HMAC-SHA256 of the exact body bytes under the
hook's secret and sends ``X-Hub-Signature-256: sha256=<hex>``. ``verify`` accepts a
delivery when the signature matches any of the given secrets (several during a rotation).
It never accepts the legacy SHA-1 header, a missing header or a malformed one, and it
compares in constant time (``hmac.compare_digest``) against every secret, so the time
taken does not reveal which secret, or how much of a signature, matched. For a body read
in chunks, ``well_formed`` checks the header before any byte is read, ``macs`` starts one
HMAC per secret for the reader to feed, and ``matching`` compares the finished HMACs with
the header, all of them, in constant time each.

Deliveries: ``decode(event, payload, ...)`` returns one of:

- ``Commands`` (``connectors.forge_commands``): the invocations carried by a new comment
  (``issue_comment`` or ``pull_request_review_comment`` with action ``created``), one per
  command line within
  the event's budget (``connectors.budget``), each keyed by the comment, not the delivery:
  ``github:issue_comment:<comment id>:<n>`` (``review_comment`` for a review comment), so
  the same comment arriving twice (a redelivery, a replay under a new
  ``X-GitHub-Delivery``, a repository hook and an App both subscribed) inserts nothing new.
  The delivery id stays with each invocation as the reply target's ``delivery`` hint. A
  command line over the length limit, and the lines beyond the budget, become notices:
  replies queued directly, keyed ``notice:<comment key>:<n>`` and ``notice:<comment
  key>:rest``;
- ``InstallationChange``: an App installation or its repository selection changed;
- ``CiUpdate``: a CI run changed (``workflow_run``, or ``check_suite.completed`` from an
  App other than GitHub Actions), decoded by ``connectors.github.ci_events``;
- ``Ping``: GitHub's hook check;
- ``Ignored``: anything else, with the reason (edits, deletions, the bot's own or
  another bot's comments, comments without a command, events the bot does not use);
- ``Invalid``: a comment event whose names or numbers do not follow GitHub's grammar (a
  ``repository.full_name`` of ``../../orgs/evil``, a comment id that is not a positive
  integer, a body that is not text): nothing from it reaches a URL; the reason is logged.

Invariants: the author is the comment's ``user.login`` (never ``author_association``,
which says nothing about repository permission); the reply goes to the same thread; a
comment is never read as a command when its author is the bot itself or any ``Bot``
account, so two bots cannot talk each other into a loop; every name and number an
invocation carries matched GitHub's grammar (``valid_repository``, ``valid_login``,
positive integers); every string in it is storable (``bot.storable``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.forge import CiRunEvent
from bot.messages import (
    DELIVERY_HINT,
    Actor,
    Forge,
    Invocation,
    Place,
    Platform,
    ReplyTarget,
    Target,
    TargetKind,
)
from bot.parsing import find_commands
from bot.storable import storable_invocation
from connectors import budget
from connectors.forge_commands import Commands as Commands  # decode returns it
from connectors.forge_commands import positive_id
from connectors.github.ci_events import NotTracked, decode_ci

COMMENT_EVENTS = ("issue_comment", "pull_request_review_comment")
INSTALLATION_EVENTS = ("installation", "installation_repositories")
CI_EVENTS = ("workflow_run", "check_suite")
HINT_DELIVERY = DELIVERY_HINT

# GitHub's grammar: an owner (user or organisation) is 1-39 letters, digits and single
# hyphens, not starting with one; a repository name is 1-100 letters, digits, ".", "-"
# and "_", but not "." or "..". App bot users are "<slug>[bot]".
_OWNER = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"
_REPOSITORY = re.compile(rf"{_OWNER}/(?!\.\.?$)[A-Za-z0-9._-]{{1,100}}")
_LOGIN = re.compile(rf"{_OWNER}(?:\[bot\])?")


def valid_repository(name: object) -> bool:
    """Whether ``name`` is an ``owner/repo`` GitHub could have made."""
    return isinstance(name, str) and _REPOSITORY.fullmatch(name) is not None


def valid_login(name: object) -> bool:
    return isinstance(name, str) and _LOGIN.fullmatch(name) is not None


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


@dataclass(frozen=True, slots=True)
class Invalid:
    """A payload field outside GitHub's grammar; the event is ignored and this logged."""

    reason: str


Decoded = Commands | InstallationChange | CiUpdate | Ping | Ignored | Invalid


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
    limits: budget.Limits | None = None,
) -> Decoded:
    """``new_id()`` makes invocation ids; injected so tests can pin them. ``KeyError``,
    ``TypeError`` or ``ValueError`` for a payload without the fields its event promises."""
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
    comment = _object(payload, "comment")
    author = _object(comment, "user")
    login = author["login"]
    if not valid_login(login):
        return Invalid("comment.user.login is not a GitHub login")
    if login.lower() in identity.logins or author.get("type") == "Bot":
        return Ignored(f"comment by the bot account {login}")
    body = comment.get("body")
    if body is not None and not isinstance(body, str):
        return Invalid("comment.body is not text")
    lines = find_commands(body or "", identity.mentions)
    if not lines:
        return Ignored("no command in the comment")
    repo = _object(payload, "repository")["full_name"]
    if not valid_repository(repo):
        return Invalid("repository.full_name is not owner/name")
    comment_id = positive_id(comment["id"])
    thread = _thread(event, payload)
    if comment_id is None or thread is None:
        return Invalid("a comment, issue or pull request number is not a positive integer")
    number, kind = thread
    installation = payload.get("installation")
    installation_id = None
    if isinstance(installation, Mapping):
        installation_id = positive_id(installation.get("id"))
        if installation_id is None:
            return Invalid("installation.id is not a positive integer")
    comment_kind = "review" if event == "pull_request_review_comment" else "issue"
    reply_to = ReplyTarget(
        platform=Platform.GITHUB,
        channel=repo,
        thread=str(number),
        message=str(comment_id),
        extra=(*_hints(comment_kind, installation_id), (HINT_DELIVERY, delivery)),
        place=Place.THREAD,
    )
    key = f"github:{comment_kind}_comment:{comment_id}"
    limits = limits or budget.Limits()
    plan = budget.plan(lines, limits)
    actor = Actor(platform=Platform.GITHUB, id=login, name=login)
    target = Target(repo=repo, kind=kind, number=number, forge=Forge.GITHUB)
    mention = identity.mentions[0]
    invocations = tuple(
        storable_invocation(
            Invocation(
                id=new_id(),
                platform=Platform.GITHUB,
                actor=actor,
                text=line,
                reply_to=_with_quote(reply_to, f"{mention} {line}"),
                delivery_key=f"{key}:{index}",
                received_at=received_at,
                target=target,
            )
        )
        for index, line in plan.run
    )
    notices = budget.forge_notices(
        plan,
        limits,
        key=key,
        reply_to=reply_to,
        quoting=lambda line: _with_quote(reply_to, f"{mention} {line}"),
    )
    return Commands(invocations=invocations, installation_id=installation_id, notices=notices)


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} is not an object")
    return value


def _thread(event: str, payload: Mapping[str, Any]) -> tuple[int, TargetKind] | None:
    """The issue or PR number the comment belongs to, and which of the two it is."""
    if event == "pull_request_review_comment":
        number = positive_id(_object(payload, "pull_request")["number"])
        return None if number is None else (number, TargetKind.PULL_REQUEST)
    issue = _object(payload, "issue")
    kind = TargetKind.PULL_REQUEST if issue.get("pull_request") else TargetKind.ISSUE
    number = positive_id(issue["number"])
    return None if number is None else (number, kind)


def _hints(comment_kind: str, installation_id: int | None) -> tuple[tuple[str, str], ...]:
    hints = [("comment_kind", comment_kind)]
    if installation_id is not None:
        hints.append(("installation", str(installation_id)))
    return tuple(hints)


def _with_quote(reply_to: ReplyTarget, quoted: str) -> ReplyTarget:
    return ReplyTarget(
        platform=reply_to.platform,
        channel=reply_to.channel,
        thread=reply_to.thread,
        message=reply_to.message,
        extra=(*reply_to.extra, ("quote", quoted.rstrip())),
        place=reply_to.place,
    )


def _installation(event: str, payload: Mapping[str, Any]) -> InstallationChange:
    installation = _object(payload, "installation")
    account = installation.get("account") or {}
    if not isinstance(account, Mapping):
        raise TypeError("installation.account is not an object")
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
    """The repositories' ``owner/name``s; a name outside GitHub's grammar is left out."""
    names = (repo.get("full_name") for repo in repositories if isinstance(repo, Mapping))
    return tuple(name for name in names if isinstance(name, str) and valid_repository(name))


# Signatures

PREFIX = "sha256="
_WELL_FORMED = re.compile(r"sha256=[0-9a-f]{64}")


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    if header is None or not header.startswith(PREFIX):
        return False
    given = header.encode("ascii", errors="replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, sign(body, secret).encode())
    return matched


def well_formed(header: str) -> bool:
    """Whether ``header`` has the shape GitHub sends: ``sha256=`` and 64 lower-case hex digits."""
    return _WELL_FORMED.fullmatch(header) is not None


def macs(secrets: Iterable[str]) -> list[hmac.HMAC]:
    """One fresh HMAC-SHA256 per secret, to be fed the body as it streams in."""
    return [hmac.new(secret.encode(), digestmod=hashlib.sha256) for secret in secrets]


def matching(header: str, finished: Sequence[hmac.HMAC]) -> list[bool]:
    """For each finished HMAC, whether ``header`` is its signature (every one compared)."""
    given = header.encode("ascii", errors="replace")
    return [hmac.compare_digest(given, (PREFIX + mac.hexdigest()).encode()) for mac in finished]
