"""What the queues hand out and take in: claims, audit lines, and the rows they write.

The inbox and outbox (``bot.store.inbox``, ``bot.store.outbox``) share these shapes. The
``*_write`` functions build the ``INSERT`` of one row as a ``bot.store.writes.Write``, in
the formats the ORM uses, so a step can write its rows in one transaction with the change
they belong to (a completion's reply and audit line, a send's audit line). ``outbox_write``
is the one encoding of an outbox row outside PostgreSQL's batched steps
(``bot.store.postgres_steps``): the queues' own writes and ``enqueue_in_transaction``
(a feature's ORM transaction) both run its statement.

Outbox order: messages (replies, notices) before acknowledgements (a 👀 on the command),
each oldest first by ``available_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.messages import Invocation, Outgoing, OutgoingKind
from bot.store.writes import Dialect, Write, db_json, db_time

# outbox priorities: lower goes first
MESSAGE_PRIORITY = 0
ACKNOWLEDGEMENT_PRIORITY = 1
PRIORITIES = (MESSAGE_PRIORITY, ACKNOWLEDGEMENT_PRIORITY)


class LeaseLost(Exception):
    """The row was reclaimed by another worker after this one's lease expired."""


@dataclass(frozen=True, slots=True)
class Audit:
    """One audit-log line, written in the transaction of the step it records."""

    platform: str
    actor: str
    decision: str
    invocation_id: str | None = None
    command: str | None = None
    level: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the sender gave up on, as an operator sees it."""

    key: str
    platform: str
    attempts: int
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxClaim:
    row_id: int
    token: str
    attempts: int
    invocation: Invocation


@dataclass(frozen=True, slots=True)
class OutboxClaim:
    row_id: int
    token: str
    attempts: int
    message: Outgoing
    received_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimScope:
    """Which rows a claimer may take: only some platforms, or only some keys.

    A sender claims only the platforms it has connectors for, so a replica (or
    a ``chatops shell``) never takes a reply it cannot send; the shell also
    narrows its claims to the keys of the lines it submitted.
    """

    platforms: frozenset[str] | None = None
    keys: frozenset[str] | None = None


def priority_of(kind: OutgoingKind) -> int:
    return ACKNOWLEDGEMENT_PRIORITY if kind is OutgoingKind.ACKNOWLEDGEMENT else MESSAGE_PRIORITY


_INBOX_INSERT = (
    "INSERT INTO chatops_inbox (platform, delivery_key, invocation, status, attempts, "
    "available_at, received_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) "
    "ON CONFLICT (platform, delivery_key) DO NOTHING"
)
_OUTBOX_INSERT = (
    "INSERT INTO chatops_outbox (key, platform, target, reply, invocation_id, kind, priority, "
    "status, attempts, available_at, created_at, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)"
)
_AUDIT_INSERT = (
    "INSERT INTO chatops_audit (at, invocation_id, platform, actor, command, decision, level, "
    "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def inbox_write(database: Dialect, invocation: Invocation, now: datetime) -> Write:
    """The inbox row of ``invocation``; it changes no row when the delivery was seen before."""
    return Write(
        _INBOX_INSERT,
        (
            invocation.platform.value,
            invocation.delivery_key,
            db_json(invocation.to_dict()),
            db_time(database, now),
            db_time(database, invocation.received_at),
        ),
        must_change=1,
    )


def outbox_write(
    database: Dialect,
    outgoing: Outgoing,
    now: datetime,
    received_at: datetime | None,
    available_at: datetime | None = None,
) -> Write:
    """The outbox row of ``outgoing``, due at ``available_at`` (default ``now``); a row with
    the same key makes it fail (``IntegrityError``)."""
    return Write(
        _OUTBOX_INSERT,
        (
            outgoing.key,
            outgoing.target.platform.value,
            db_json(outgoing.target.to_dict()),
            db_json(outgoing.reply.to_dict()),
            outgoing.invocation_id,
            outgoing.kind.value,
            priority_of(outgoing.kind),
            db_time(database, available_at or now),
            db_time(database, now),
            db_time(database, received_at),
        ),
    )


def audit_write(database: Dialect, entry: Audit, now: datetime) -> Write:
    return Write(
        _AUDIT_INSERT,
        (
            db_time(database, now),
            entry.invocation_id,
            entry.platform,
            entry.actor,
            entry.command,
            entry.decision,
            entry.level,
            entry.detail,
        ),
    )
