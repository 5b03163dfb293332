"""The platform-neutral data that flows through the pipeline.

An ``Invocation`` is one command, addressed to the bot, that a connector decoded
from a platform event. A ``Reply`` is what a handler answers: data, not text;
each connector renders it natively (Markdown, Block Kit, an embed, plain text).
A ``ReplyTarget`` says where the answer goes: the thread, channel or message the
question came from, and what kind of place that is (``Place``), so handlers can decide
by the place and never by the platform.

Invariants:
- Every type here is frozen and round-trips through ``to_dict``/``from_dict``
  as plain JSON, because invocations and replies are persisted in the inbox and
  the outbox and read back by another process.
- Nothing here performs I/O or knows a platform's wire format.
- ``Target`` is built by ``bot.parsing.parse_target``; it holds a repository
  reference on a forge, optionally narrowed to one pull/merge request or issue.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Platform(enum.StrEnum):
    """Where an invocation came from, and which connector sends its reply."""

    GITHUB = "github"
    GITLAB = "gitlab"
    SLACK = "slack"
    DISCORD = "discord"
    SHELL = "shell"


class Place(enum.StrEnum):
    """What kind of place a reply goes to: what handlers decide by, never the platform."""

    THREAD = "thread"  # a forge pull/merge request or issue thread: belongs to a repository
    CHANNEL = "channel"  # a chat channel, or a thread in one
    SESSION = "session"  # a local shell session: it ends with the process, nothing reaches it later

    @classmethod
    def usual(cls, platform: Platform) -> Place:
        """The kind of place a platform's replies go to, for a target that does not say."""
        if platform in (Platform.GITHUB, Platform.GITLAB):
            return cls.THREAD
        if platform is Platform.SHELL:
            return cls.SESSION
        return cls.CHANNEL


# the ReplyTarget hint naming the platform delivery that carried a command (GitHub's
# X-GitHub-Delivery, say): the inbox key is the platform object, the audit keeps this
DELIVERY_HINT = "delivery"


class Level(enum.IntEnum):
    """Permission levels, ordered: a user with ``WRITE`` may run ``READ`` commands."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(level.name.lower() for level in cls)
            raise ValueError(f"unknown level {text!r}; expected one of {names}") from None


class Forge(enum.StrEnum):
    """A code host whose repositories, pull requests and CI runs we act on."""

    GITHUB = "github"
    GITLAB = "gitlab"


class TargetKind(enum.StrEnum):
    """What a ``Target`` number points at."""

    PULL_REQUEST = "pull_request"  # GitHub ``owner/repo#12`` (or an issue; GitHub shares numbers)
    MERGE_REQUEST = "merge_request"  # GitLab ``group/project!12``
    ISSUE = "issue"  # GitLab ``group/project#12``
    REPOSITORY = "repository"  # no number


@dataclass(frozen=True, slots=True)
class Target:
    """A repository on a forge, optionally one of its PRs, MRs or issues.

    ``forge`` is ``None`` when the text did not say and the syntax is shared by
    both forges (``owner/repo#12``); the resolver decides from configuration.

    A *relative* target (``#12``, ``!12``) has ``repo == ""``: the repository comes
    from where it was typed (``bot.targets`` resolves it); it prints as typed.
    """

    repo: str
    kind: TargetKind = TargetKind.REPOSITORY
    number: int | None = None
    forge: Forge | None = None

    @property
    def relative(self) -> bool:
        """Whether the repository is left to the context (``#12``, ``!12``)."""
        return not self.repo

    def __str__(self) -> str:
        prefix = f"{self.forge}:" if self.forge and not self.relative else ""
        return f"{prefix}{self.display}"

    @property
    def display(self) -> str:
        """How replies name it: ``acme/web#12``, ``group/project!5``; no forge prefix (the
        reply's place or its wording says which forge), as every reply prints targets."""
        if self.number is None:
            return self.repo
        sigil = "!" if self.kind is TargetKind.MERGE_REQUEST else "#"
        return f"{self.repo}{sigil}{self.number}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "kind": self.kind.value,
            "number": self.number,
            "forge": self.forge.value if self.forge else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        forge = data.get("forge")
        return cls(
            repo=str(data["repo"]),
            kind=TargetKind(data.get("kind", TargetKind.REPOSITORY.value)),
            number=None if data.get("number") is None else int(data["number"]),
            forge=Forge(forge) if forge else None,
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked: the platform's stable user id and a display name."""

    platform: Platform
    id: str
    name: str
    groups: tuple[str, ...] = ()  # Slack user groups, Discord roles: what config grants by

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform.value,
            "id": self.id,
            "name": self.name,
            "groups": list(self.groups),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(
            platform=Platform(data["platform"]),
            id=str(data["id"]),
            name=str(data["name"]),
            groups=tuple(str(g) for g in data.get("groups", ())),
        )


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply goes, in the platform's own identifiers.

    ``channel`` is a Slack/Discord channel id, a forge ``owner/repo#12`` thread,
    or a shell session. ``thread`` narrows it to a thread, ``message`` names the
    message being answered (to quote or react to), and ``ephemeral_user`` makes
    the reply visible to that user only where the platform allows it.
    ``extra`` holds connector-private hints (a Slack ``response_url``, a Discord
    interaction token) as strings; the core reads only ``DELIVERY_HINT`` (the platform's
    id of the delivery that carried the command), which the audit log records.

    ``place`` is what kind of place it is; the connector that builds the target says so.
    Left out (a target stored before places existed, a test), it is the platform's usual
    kind (``Place.usual``): never None once built.
    """

    platform: Platform
    channel: str
    thread: str | None = None
    message: str | None = None
    ephemeral_user: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    place: Place | None = None

    def __post_init__(self) -> None:
        if self.place is None:
            object.__setattr__(self, "place", Place.usual(self.platform))

    def hint(self, name: str) -> str | None:
        for key, value in self.extra:
            if key == name:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform.value,
            "channel": self.channel,
            "thread": self.thread,
            "message": self.message,
            "ephemeral_user": self.ephemeral_user,
            "extra": dict(self.extra),
            "place": (self.place or Place.usual(self.platform)).value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplyTarget:
        place = data.get("place")
        return cls(
            platform=Platform(data["platform"]),
            channel=str(data["channel"]),
            thread=data.get("thread"),
            message=data.get("message"),
            ephemeral_user=data.get("ephemeral_user"),
            extra=tuple(sorted((str(k), str(v)) for k, v in data.get("extra", {}).items())),
            place=Place(place) if place else None,
        )


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command addressed to the bot, as decoded by a connector.

    ``text`` is the command line without the bot mention (``status acme/web#12``).
    ``delivery_key`` is the platform's idempotency key for this command (a
    webhook delivery id plus the command's index within the message); the inbox
    holds at most one row per ``(platform, delivery_key)``.
    """

    id: str
    platform: Platform
    actor: Actor
    text: str
    reply_to: ReplyTarget
    delivery_key: str
    received_at: datetime
    target: Target | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform": self.platform.value,
            "actor": self.actor.to_dict(),
            "text": self.text,
            "reply_to": self.reply_to.to_dict(),
            "delivery_key": self.delivery_key,
            "received_at": self.received_at.isoformat(),
            "target": self.target.to_dict() if self.target else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Invocation:
        target = data.get("target")
        return cls(
            id=str(data["id"]),
            platform=Platform(data["platform"]),
            actor=Actor.from_dict(data["actor"]),
            text=str(data["text"]),
            reply_to=ReplyTarget.from_dict(data["reply_to"]),
            delivery_key=str(data["delivery_key"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            target=Target.from_dict(target) if target else None,
        )


class Status(enum.StrEnum):
    """The tone of a reply; renderers map it to an icon or a colour."""

    OK = "ok"
    INFO = "info"
    RUNNING = "running"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer as a small tree of parts, rendered by each connector.

    Text in ``paragraphs``, ``fields``, ``table`` and ``code`` is plain text:
    renderers escape it for their markup and neutralise mentions, so a handler
    can put user-supplied text anywhere without it pinging anyone.
    """

    title: str
    status: Status = Status.INFO
    paragraphs: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    table: Table | None = None
    links: tuple[Link, ...] = ()
    code: str | None = None
    ephemeral: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": self.status.value,
            "paragraphs": list(self.paragraphs),
            "fields": [[f.name, f.value] for f in self.fields],
            "table": (
                {"headers": list(self.table.headers), "rows": [list(r) for r in self.table.rows]}
                if self.table
                else None
            ),
            "links": [[link.text, link.url] for link in self.links],
            "code": self.code,
            "ephemeral": self.ephemeral,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        table = data.get("table")
        return cls(
            title=str(data["title"]),
            status=Status(data.get("status", Status.INFO.value)),
            paragraphs=tuple(str(p) for p in data.get("paragraphs", ())),
            fields=tuple(Field(str(n), str(v)) for n, v in data.get("fields", ())),
            table=(
                Table(
                    headers=tuple(str(h) for h in table["headers"]),
                    rows=tuple(tuple(str(c) for c in row) for row in table["rows"]),
                )
                if table
                else None
            ),
            links=tuple(Link(str(t), str(u)) for t, u in data.get("links", ())),
            code=data.get("code"),
            ephemeral=bool(data.get("ephemeral", False)),
        )


class OutgoingKind(enum.StrEnum):
    """What a connector does with an outbox row.

    ``MESSAGE`` posts (or edits) the ``Reply``. ``REPLY`` does too, and is the answer to
    the invocation ``invocation_id`` itself, so a connector may use the platform's way of
    answering a command (a Slack ``response_url``, a Discord interaction follow-up).
    ``ACKNOWLEDGEMENT`` marks the message in ``target.message`` as received, in the
    platform's own way (a 👀 reaction on GitHub, an award emoji on GitLab); its ``Reply``
    is empty and unused.
    """

    MESSAGE = "message"
    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply bound to its destination: one outbox row."""

    target: ReplyTarget
    reply: Reply
    key: str  # unique per intended message; a second enqueue with the same key is a no-op
    invocation_id: str | None = None
    kind: OutgoingKind = OutgoingKind.MESSAGE
    # which delivery attempt this is (1 = first); set by the outbox when a sender claims
    # the row, so a connector can look for a copy an earlier, interrupted attempt posted
    attempt: int = 1
