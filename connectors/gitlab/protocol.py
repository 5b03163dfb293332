"""GitLab's webhook wire format, sans I/O: who sent a delivery, and what it asks. Pure.

Who sent it: GitLab's ``X-Gitlab-Token`` and its optional signing token.

``X-Gitlab-Token`` carries a hook's secret token verbatim (no HMAC, no timestamp).
``token_matches`` compares it with every configured token (several during a rotation) with
``hmac.compare_digest``, always against all of them, so the time taken reveals neither
which token nor how much of one matched. gidgetlab's own check compares with ``!=``; it is
never used.

The signing token follows the Standard Webhooks scheme (GitLab MR 230944): a token
``whsec_<base64 key>``; GitLab sends ``webhook-id`` (the Idempotency-Key),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, one or more space-separated
``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``. ``check_signature`` accepts a
delivery when any signature matches any configured token and the timestamp is within
``TOLERANCE_SECONDS`` of now (the scheme's five minutes), so a captured delivery cannot be
replayed later.

Both checks run over the raw bytes, before anything parses them; an empty
configured token never matches; nothing here logs or returns a secret.

What it asks: ``decode(event, payload, ...)`` returns one of:

- ``Commands`` (``connectors.forge_commands``): the invocations carried by a new note on a
  merge request or an issue (``Note Hook``), one per command line;
- ``CiUpdate``: a pipeline changed (``Pipeline Hook``, ``Merge Request Hook``), as the
  injected ``decode_ci`` (``connectors.gitlab.ci_events``) reads it;
- ``Ignored``: anything else, with the reason (system notes, edited notes, notes on
  commits or snippets, the bot's own notes and those of project or group bot users,
  notes without a command, events the bot does not use).

Inbox keys (one per command): ``gitlab:note:<note id>:<n>``, the note and its command
line, never the delivery: a note id names one note on the instance, so the same note
arriving twice (GitLab's retry or "Resend", a project hook and a group hook, a replay with
new delivery headers) inserts nothing new. The delivery's own id (``Idempotency-Key``, else
``X-Gitlab-Event-UUID``/``X-Gitlab-Webhook-UUID``) stays with each invocation as the reply
target's ``delivery`` hint. The note's commands are cut to the event's budget
(``connectors.budget``): an over-long line and the lines beyond the budget become notices,
keyed ``notice:gitlab:note:<note id>:<n>`` and ``...:rest``.

A note whose project path, numbers or author fall outside GitLab's grammar decodes to
``Invalid`` (logged by the caller): nothing from it reaches a URL.

Invariants: the author is the payload's ``user`` (its numeric id is the actor id, its
username the name); the reply goes to the same merge request or issue; a note by the bot
itself or by a bot user is never a command, so two bots cannot talk each other into a loop;
only notes whose ``action`` is ``create`` (or that carry no action, as GitLab before 15.x)
are read, so editing an old note never re-runs it; every string in an invocation is
storable (``bot.storable``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
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

SIGNING_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300.0
NOTE_HOOK = "Note Hook"
CI_HOOKS = ("Pipeline Hook", "Merge Request Hook")
# users behind project and group access tokens: project_<id>_bot_<hex>, group_<id>_bot_<hex>
_TOKEN_BOT = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$", re.IGNORECASE)

CiDecoder = Callable[[str, Mapping[str, Any]], CiRunEvent | None]
HINT_DELIVERY = DELIVERY_HINT
# GitLab's grammar: a path segment is letters, digits, "_", "-" and ".", starting with a
# letter, digit or "_" (so never "." or ".."), nested up to 20 groups deep; usernames too.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}"
_PROJECT_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{1,20}}")
_USERNAME = re.compile(_SEGMENT)


def valid_project_path(path: object) -> bool:
    """Whether ``path`` is a ``group/.../project`` GitLab could have made."""
    return isinstance(path, str) and _PROJECT_PATH.fullmatch(path) is not None


@dataclass(frozen=True, slots=True)
class CiUpdate:
    event: CiRunEvent


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """A payload field outside GitLab's grammar; the event is ignored and this logged."""

    reason: str


Decoded = Commands | CiUpdate | Ignored | Invalid


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is on GitLab, to find commands and skip its own notes."""

    mentions: tuple[str, ...]  # e.g. ("@chatops", "@chatops-bot")
    usernames: frozenset[str]  # lower-case usernames whose notes are never commands


@dataclass(frozen=True, slots=True)
class DeliveryIds:
    """The delivery headers GitLab sends that identify one event for one hook."""

    idempotency_key: str | None = None
    event_uuid: str | None = None
    webhook_uuid: str | None = None

    def name(self) -> str:
        """The delivery's id for the audit trail ("" when GitLab sent none)."""
        if self.idempotency_key:
            return self.idempotency_key
        if self.event_uuid and self.webhook_uuid:
            return f"{self.event_uuid}:{self.webhook_uuid}"
        return self.event_uuid or ""


def decode(
    event: str,
    payload: Mapping[str, Any],
    *,
    delivery: DeliveryIds,
    identity: Identity,
    received_at: datetime,
    new_id: Callable[[], str],
    decode_ci: CiDecoder | None = None,
    limits: budget.Limits | None = None,
) -> Decoded:
    """``new_id()`` makes invocation ids; injected so tests can pin them. ``KeyError``,
    ``TypeError`` or ``ValueError`` for a payload without the fields its event promises."""
    if event in CI_HOOKS:
        return _ci(event, payload, decode_ci)
    if event != NOTE_HOOK:
        return Ignored(f"{event} events carry no commands")
    note = _object(payload, "object_attributes")
    noteable = note.get("noteable_type")
    if noteable not in ("MergeRequest", "Issue"):
        return Ignored(f"notes on a {noteable} carry no commands")
    if note.get("system"):
        return Ignored("a system note")
    action = note.get("action")
    if action not in (None, "create"):
        return Ignored(f"a note {action}, not a new note")
    user = _object(payload, "user")
    username = user["username"]
    user_id = positive_id(user.get("id"))
    if not isinstance(username, str) or not _USERNAME.fullmatch(username) or user_id is None:
        return Invalid("user.username or user.id is not a GitLab user")
    if username.lower() in identity.usernames or _TOKEN_BOT.match(username):
        return Ignored(f"a note by the bot user {username}")
    text = note.get("note")
    if text is not None and not isinstance(text, str):
        return Invalid("object_attributes.note is not text")
    lines = find_commands(text or "", identity.mentions)
    if not lines:
        return Ignored("no command in the note")
    repo = _object(payload, "project")["path_with_namespace"]
    if not valid_project_path(repo):
        return Invalid("project.path_with_namespace is not group/project")
    note_id = positive_id(note["id"])
    thread = _thread(noteable, payload)
    if note_id is None or thread is None:
        return Invalid("a note id or iid is not a positive integer")
    kind, iid, place = thread
    actor = Actor(platform=Platform.GITLAB, id=str(user_id), name=username)
    target = Target(repo=repo, kind=kind, number=iid, forge=Forge.GITLAB)
    reply_to = ReplyTarget(
        platform=Platform.GITLAB,
        channel=repo,
        thread=place,
        message=str(note_id),
        place=Place.THREAD,
    )
    key = f"gitlab:note:{note_id}"
    hints = ((HINT_DELIVERY, delivery.name()),) if delivery.name() else ()
    limits = limits or budget.Limits()
    plan = budget.plan(lines, limits)
    mention = identity.mentions[0]

    def quoting(line: str) -> ReplyTarget:
        quote = f"{mention} {line}".rstrip()
        return ReplyTarget(
            platform=Platform.GITLAB,
            channel=repo,
            thread=place,
            message=str(note_id),
            extra=(("quote", quote), *hints),
            place=Place.THREAD,
        )

    invocations = tuple(
        storable_invocation(
            Invocation(
                id=new_id(),
                platform=Platform.GITLAB,
                actor=actor,
                text=line,
                reply_to=quoting(line),
                delivery_key=f"{key}:{index}",
                received_at=received_at,
                target=target,
            )
        )
        for index, line in plan.run
    )
    notices = budget.forge_notices(plan, limits, key=key, reply_to=reply_to, quoting=quoting)
    return Commands(invocations, notices)


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} is not an object")
    return value


def _thread(noteable: str, payload: Mapping[str, Any]) -> tuple[TargetKind, int, str] | None:
    if noteable == "MergeRequest":
        iid = positive_id(_object(payload, "merge_request")["iid"])
        return None if iid is None else (TargetKind.MERGE_REQUEST, iid, f"merge_requests/{iid}")
    iid = positive_id(_object(payload, "issue")["iid"])
    return None if iid is None else (TargetKind.ISSUE, iid, f"issues/{iid}")


def _ci(event: str, payload: Mapping[str, Any], decode_ci: CiDecoder | None) -> Decoded:
    if decode_ci is None:
        return Ignored(f"{event}: no CI tracking")
    update = decode_ci(event, payload)
    if update is None:
        return Ignored(f"{event}: nothing the run tracker follows")
    return CiUpdate(update)


# Who sent a delivery


class Signature(enum.Enum):
    """What the signing headers of a delivery say."""

    ABSENT = "absent"  # no webhook-signature header
    VALID = "valid"
    INVALID = "invalid"  # wrong, malformed, or outside the time window


def token_matches(header: str | None, tokens: Iterable[str]) -> bool:
    """Whether ``X-Gitlab-Token`` equals one of ``tokens`` (constant time per token)."""
    if header is None:
        return False
    given = header.encode("utf-8", errors="replace")
    matched = False
    for token in tokens:
        expected = token.encode("utf-8")
        matched |= bool(expected) & hmac.compare_digest(given, expected)
    return matched


def signing_key(token: str) -> bytes:
    """The HMAC key of a ``whsec_...`` signing token (a token without the prefix is
    base64 as well); ``ValueError`` if it is not base64."""
    encoded = token.removeprefix(SIGNING_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing token must be whsec_ followed by base64") from exc


def sign(body: bytes, token: str, webhook_id: str, timestamp: str) -> str:
    """The ``webhook-signature`` value GitLab would send (one ``v1,`` signature)."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(token), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def check_signature(
    body: bytes, headers: Mapping[str, str], tokens: Iterable[str], now: datetime
) -> Signature:
    """Check the signing headers of a delivery against the configured signing tokens."""
    header = headers.get("webhook-signature")
    if header is None:
        return Signature.ABSENT
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    if not webhook_id or not timestamp or not _recent(timestamp, now):
        return Signature.INVALID
    given = [
        value.encode()
        for version, _, value in (part.partition(",") for part in header.split())
        if version == SIGNATURE_VERSION and value
    ]
    matched = False
    for token in tokens:
        expected = sign(body, token, webhook_id, timestamp).partition(",")[2].encode()
        for candidate in given:
            matched |= hmac.compare_digest(candidate, expected)
    return Signature.VALID if matched else Signature.INVALID


def _recent(timestamp: str, now: datetime) -> bool:
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= TOLERANCE_SECONDS
