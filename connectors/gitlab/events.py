"""Decode a verified GitLab webhook delivery into what the bot should do. Pure; no I/O.

``decode(event, payload, ...)`` returns one of:

- ``Commands``: the invocations carried by a new note on a merge request or an issue
  (``Note Hook``), one per command line;
- ``CiUpdate``: a pipeline changed (``Pipeline Hook``, ``Merge Request Hook``), as the
  injected ``decode_ci`` (``connectors.gitlab.ci_events``) reads it;
- ``Ignored``: anything else, with the reason (system notes, edited notes, notes on
  commits or snippets, the bot's own notes and those of project or group bot users,
  notes without a command, events the bot does not use).

Delivery keys (the inbox's idempotency key, one per command): ``gitlab:<Idempotency-Key>:<n>``
(GitLab 17.4+, the same across retries and "Resend"); else
``gitlab:<X-Gitlab-Event-UUID>:<X-Gitlab-Webhook-UUID>:<n>`` (the event UUID alone is shared
by recursive hooks); else, from an older GitLab that sends neither,
``gitlab:note:<project id>:<note id>:<n>``: a note id names one note on the instance, so a
resent delivery of the same note still inserts nothing.

Invariants: the author is the payload's ``user`` (its numeric id is the actor id, its
username the name); the reply goes to the same merge request or issue; a note by the bot
itself or by a bot user is never a command, so two bots cannot talk each other into a loop;
only notes whose ``action`` is ``create`` (or that carry no action, as GitLab before 15.x)
are read, so editing an old note never re-runs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.forge import CiRunEvent
from bot.messages import Actor, Forge, Invocation, Platform, ReplyTarget, Target, TargetKind
from bot.parsing import find_commands

NOTE_HOOK = "Note Hook"
CI_HOOKS = ("Pipeline Hook", "Merge Request Hook")
# users behind project and group access tokens: project_<id>_bot_<hex>, group_<id>_bot_<hex>
_TOKEN_BOT = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$", re.IGNORECASE)

CiDecoder = Callable[[str, Mapping[str, Any]], CiRunEvent | None]


@dataclass(frozen=True, slots=True)
class Commands:
    invocations: tuple[Invocation, ...]


@dataclass(frozen=True, slots=True)
class CiUpdate:
    event: CiRunEvent


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


Decoded = Commands | CiUpdate | Ignored


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

    def prefix(self, project_id: object, note_id: object) -> str:
        """The delivery key without the command index (see the module docstring)."""
        if self.idempotency_key:
            return f"gitlab:{self.idempotency_key}"
        if self.event_uuid and self.webhook_uuid:
            return f"gitlab:{self.event_uuid}:{self.webhook_uuid}"
        return f"gitlab:note:{project_id}:{note_id}"


def decode(
    event: str,
    payload: Mapping[str, Any],
    *,
    delivery: DeliveryIds,
    identity: Identity,
    received_at: datetime,
    new_id: Callable[[], str],
    decode_ci: CiDecoder | None = None,
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
    username = str(user["username"])
    if username.lower() in identity.usernames or _TOKEN_BOT.match(username):
        return Ignored(f"a note by the bot user {username}")
    lines = find_commands(str(note.get("note") or ""), identity.mentions)
    if not lines:
        return Ignored("no command in the note")
    project = _object(payload, "project")
    repo = str(project["path_with_namespace"])
    kind, iid, thread = _thread(noteable, payload)
    actor = Actor(platform=Platform.GITLAB, id=str(int(user["id"])), name=username)
    target = Target(repo=repo, kind=kind, number=iid, forge=Forge.GITLAB)
    prefix = delivery.prefix(project.get("id", payload.get("project_id")), note["id"])
    invocations = tuple(
        Invocation(
            id=new_id(),
            platform=Platform.GITLAB,
            actor=actor,
            text=line,
            reply_to=ReplyTarget(
                platform=Platform.GITLAB,
                channel=repo,
                thread=thread,
                message=str(int(note["id"])),
                extra=(("quote", f"{identity.mentions[0]} {line}".rstrip()),),
            ),
            delivery_key=f"{prefix}:{index}",
            received_at=received_at,
            target=target,
        )
        for index, line in enumerate(lines)
    )
    return Commands(invocations)


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} is not an object")
    return value


def _thread(noteable: str, payload: Mapping[str, Any]) -> tuple[TargetKind, int, str]:
    if noteable == "MergeRequest":
        iid = int(_object(payload, "merge_request")["iid"])
        return TargetKind.MERGE_REQUEST, iid, f"merge_requests/{iid}"
    iid = int(_object(payload, "issue")["iid"])
    return TargetKind.ISSUE, iid, f"issues/{iid}"


def _ci(event: str, payload: Mapping[str, Any], decode_ci: CiDecoder | None) -> Decoded:
    if decode_ci is None:
        return Ignored(f"{event}: no CI tracking")
    update = decode_ci(event, payload)
    if update is None:
        return Ignored(f"{event}: nothing the run tracker follows")
    return CiUpdate(update)
