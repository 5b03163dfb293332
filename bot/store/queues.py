"""The inbox and outbox as durable queues with leases.

A claim is one statement: ``UPDATE ... WHERE id IN (<candidates>) RETURNING ...`` sets a
fresh ``claim_token`` and a ``lease_until`` on up to ``limit`` pending rows and returns
them. On PostgreSQL the candidates are picked ``FOR UPDATE SKIP LOCKED``, so replicas
claiming at once take different rows instead of waiting on each other; on SQLite the
database has one writer at a time, so the statement is atomic by itself. A claimed row
whose lease ended (its worker died) is put back to pending by ``release_expired``, which
the claimers run every few seconds, and is then claimed like any other.

Every claim, lookup and completion is served by an index, so its cost does not grow with
the tables: pending and claimed rows have partial indexes of their own (done, sent and
dead rows are not in them), completions go by primary key.

Outbox order: messages (replies, notices) before acknowledgements (a 👀 on the command),
each oldest first by ``available_at``: a reply never waits behind the acknowledgements of
newer commands, and an acknowledgement whose command was already answered is dropped when
the answer is sent.

Invariants:
- ``submit`` inserts at most one inbox row per ``(platform, delivery_key)``.
- ``InboxQueue.complete`` marks the row done and enqueues its replies and audit entries in
  one transaction, and only while the caller's claim is current; otherwise it raises
  ``LeaseLost`` and writes nothing.
- ``OutboxQueue.enqueue`` is idempotent by ``Outgoing.key``.
- A claim never returns a row another claimer holds under a live lease.
- ``retry_later(..., counted=False)`` gives the attempt back: a rate limit delays a
  message, it never brings it closer to the dead letters.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.models import Model

from bot.messages import Invocation, Outgoing, OutgoingKind, Platform, Reply, ReplyTarget
from bot.store.database import Database
from bot.store.models import (
    AuditEntry,
    InboxItem,
    InboxStatus,
    OutboxItem,
    OutboxStatus,
)
from bot.store.sql import Statement, as_datetime, as_json
from bot.store.transactions import transaction

# how often a claimer puts rows with an ended lease back to pending
RELEASE_INTERVAL = timedelta(seconds=2)
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


class _Releaser:
    """Puts rows whose lease ended back to pending, at most once per ``RELEASE_INTERVAL``."""

    def __init__(self, database: Database, table: str) -> None:
        self._statement = Statement(
            database,
            f"UPDATE {table} SET status = 'pending', claim_token = NULL, lease_until = NULL "
            "WHERE status = 'claimed' AND lease_until < ?",
        )
        self._next: datetime | None = None

    async def __call__(self, now: datetime, *, force: bool = False) -> int:
        if not force and self._next is not None and now < self._next:
            return 0
        released = await self._statement.count([now])
        self._next = now + RELEASE_INTERVAL
        return released


class InboxQueue:
    """Accepted invocations waiting for a worker."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._release = _Releaser(database, "chatops_inbox")
        self._claim_sql = Statement(database, _inbox_claim_sql(database, keyed=False))
        self._claim_keys_sql: dict[int, Statement] = {}

    async def submit(
        self,
        invocation: Invocation,
        now: datetime,
        acknowledgement: Outgoing | None = None,
        acknowledge_at: datetime | None = None,
    ) -> bool:
        """Persist an invocation; False if its delivery key was seen before.

        ``acknowledgement``, if given, is enqueued in the same transaction, so it exists
        exactly when the invocation was accepted; it becomes due at ``acknowledge_at``
        (default ``now``), unless the answer is sent first and drops it.
        """
        try:
            async with transaction():
                await InboxItem.create(
                    platform=invocation.platform.value,
                    delivery_key=invocation.delivery_key,
                    invocation=invocation.to_dict(),
                    status=InboxStatus.PENDING,
                    available_at=now,
                    received_at=invocation.received_at,
                )
                if acknowledgement is not None:
                    await _create_outbox_row(
                        acknowledgement, now, invocation.received_at, acknowledge_at
                    )
        except IntegrityError:
            return False
        return True

    async def release_expired(self, now: datetime) -> int:
        """Put rows whose lease ended (their worker died) back to pending; how many."""
        return await self._release(now, force=True)

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, scope: ClaimScope | None = None
    ) -> list[InboxClaim]:
        await self._release(now)
        token = uuid.uuid4().hex
        keys: list[str] = []
        if scope is not None and scope.keys is not None:
            keys = sorted(scope.keys)
            if not keys:
                return []
            statement = self._keyed_statement(len(keys))
        else:
            statement = self._claim_sql
        claimed = [token, now + lease]
        candidates = [now, *keys, limit]
        postgres = self._database.dialect == "postgres"
        values = [*candidates, *claimed] if postgres else [*claimed, *candidates]
        rows = await statement.rows(values)
        claims = [
            InboxClaim(
                row_id=int(row["id"]),
                token=token,
                attempts=int(row["attempts"]),
                invocation=Invocation.from_dict(as_json(row["invocation"])),
            )
            for row in rows
        ]
        claims.sort(key=lambda claim: claim.row_id)
        return claims

    def _keyed_statement(self, count: int) -> Statement:
        statement = self._claim_keys_sql.get(count)
        if statement is None:
            statement = Statement(self._database, _inbox_claim_sql(self._database, keyed=count))
            self._claim_keys_sql[count] = statement
        return statement

    async def complete(
        self,
        claim: InboxClaim,
        now: datetime,
        replies: list[Outgoing],
        audit: list[Audit],
    ) -> None:
        """Mark done, enqueue replies and audit entries: all or nothing, while the claim holds."""
        received_at = claim.invocation.received_at
        try:
            async with transaction():
                updated = await InboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
                    status=InboxStatus.DONE, finished_at=now, claim_token=None, lease_until=None
                )
                if updated != 1:
                    raise LeaseLost(f"inbox row {claim.row_id} was reclaimed")
                for outgoing in replies:
                    await _create_outbox_row(outgoing, now, received_at)
                for entry in audit:
                    await _create_audit_row(entry, now)
        except IntegrityError as exc:
            raise LeaseLost(f"inbox row {claim.row_id} was completed elsewhere") from exc

    async def depth(self) -> dict[str, int]:
        """Rows still to do, by status, zeros included (done rows are history: the metrics
        count them as they happen)."""
        return await _live_counts(InboxItem, (InboxStatus.PENDING, InboxStatus.CLAIMED))

    async def due(self, now: datetime) -> int:
        """Pending rows a worker could take now."""
        due: int = await InboxItem.filter(status=InboxStatus.PENDING, available_at__lte=now).count()
        return due

    async def purge_done(self, before: datetime, batch: int = 5000) -> int:
        return await _purge(
            self._database, "chatops_inbox", "status = 'done' AND finished_at < ?", before, batch
        )


class OutboxQueue:
    """Replies waiting to be sent, with their retry and dead-letter state."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._release = _Releaser(database, "chatops_outbox")
        self._claim_sql: dict[tuple[tuple[str, ...] | None, int], Statement] = {}
        self._drop_acknowledgement = Statement(
            database,
            "UPDATE chatops_outbox SET status = 'dropped', last_error = ? "
            "WHERE key = ? AND status = 'pending'",
        )

    async def enqueue(self, outgoing: Outgoing, now: datetime) -> bool:
        """Persist a message to send; False if one with the same key exists."""
        try:
            async with transaction():
                await _create_outbox_row(outgoing, now, None)
        except IntegrityError:
            return False
        return True

    async def release_expired(self, now: datetime) -> int:
        """Put rows whose lease ended (their sender died) back to pending; how many."""
        return await self._release(now, force=True)

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, scope: ClaimScope | None = None
    ) -> list[OutboxClaim]:
        await self._release(now)
        platforms = None if scope is None or scope.platforms is None else sorted(scope.platforms)
        keys = None if scope is None or scope.keys is None else sorted(scope.keys)
        if platforms == [] or keys == []:
            return []
        token = uuid.uuid4().hex
        claimed: list[Any] = [token, now + lease]
        candidates: list[Any] = []
        if keys is not None:
            statement = self._statement(None, len(keys))
            candidates.extend([*keys, now, limit])
        else:
            served = platforms if platforms is not None else sorted(p.value for p in Platform)
            statement = self._statement(served, 0)
            if self._database.dialect == "postgres":
                candidates.extend([served, now, limit, limit])
            else:
                for _branch in range(len(served) * len(PRIORITIES)):
                    candidates.extend([now, limit])
                candidates.append(limit)
        postgres = self._database.dialect == "postgres"
        values = [*candidates, *claimed] if postgres else [*claimed, *candidates]
        rows = await statement.rows(values)
        claims = [_outbox_claim(row, token) for row in rows]
        claims.sort(key=lambda claim: (priority_of(claim.message.kind), claim.row_id))
        return claims

    def _statement(self, platforms: Sequence[str] | None, keys: int) -> Statement:
        shape = (tuple(platforms) if platforms is not None else None, keys)
        statement = self._claim_sql.get(shape)
        if statement is None:
            text = _outbox_claim_sql(self._database, platforms, keys)
            statement = Statement(self._database, text)
            self._claim_sql[shape] = statement
        return statement

    async def mark_sent(
        self, claim: OutboxClaim, now: datetime, audit: Audit, supersedes: str | None = None
    ) -> None:
        """Record the send; ``supersedes`` names a pending message it makes pointless (the
        acknowledgement of a command that is now answered), which is dropped unsent."""
        async with transaction():
            await self._finish(claim, now, audit, status=OutboxStatus.SENT, sent_at=now)
            if supersedes is not None:
                await self._drop_acknowledgement.count(
                    [f"superseded by {claim.message.key}", supersedes]
                )

    async def drop(self, claim: OutboxClaim, reason: str) -> None:
        """Give up a claimed message that has become pointless, without sending it."""
        updated = await OutboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
            status=OutboxStatus.DROPPED, claim_token=None, lease_until=None, last_error=reason
        )
        if updated != 1:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")

    async def mark_dead(self, claim: OutboxClaim, now: datetime, reason: str, audit: Audit) -> None:
        async with transaction():
            await self._finish(claim, now, audit, status=OutboxStatus.DEAD, last_error=reason)

    async def retry_later(
        self, claim: OutboxClaim, available_at: datetime, reason: str, *, counted: bool = True
    ) -> None:
        """Put the row back until ``available_at``; ``counted=False`` gives the attempt back."""
        attempts = claim.attempts if counted else max(0, claim.attempts - 1)
        updated = await OutboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
            status=OutboxStatus.PENDING,
            available_at=available_at,
            claim_token=None,
            lease_until=None,
            last_error=reason,
            attempts=attempts,
        )
        if updated != 1:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")

    async def _finish(
        self, claim: OutboxClaim, now: datetime, audit: Audit, **changes: Any
    ) -> None:
        updated = await OutboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
            claim_token=None, lease_until=None, **changes
        )
        if updated != 1:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")
        await _create_audit_row(audit, now)

    async def depth(self, served: Collection[str] | None = None) -> dict[str, int]:
        """Rows still to send, by status; dead letters too.

        With ``served`` (the platforms this process can send to), pending rows of any other
        platform are counted as ``waiting_for_connector``: no sender here will take them.
        """
        statuses = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.DEAD)
        counts = {str(status): 0 for status in statuses}
        if served is not None:
            counts["waiting_for_connector"] = 0
        for status in statuses:
            rows = (
                await OutboxItem.filter(status=status)
                .annotate(count=Count("id"))
                .group_by("platform")
                .values("platform", "count")
            )
            for row in rows:
                label = str(status)
                unserved = served is not None and row["platform"] not in served
                if status is OutboxStatus.PENDING and unserved:
                    label = "waiting_for_connector"
                counts[label] = counts.get(label, 0) + int(row["count"])
        return counts

    async def due(self, now: datetime, platforms: Collection[str]) -> int:
        """Pending rows for these platforms that a sender could take now."""
        due: int = await OutboxItem.filter(
            status=OutboxStatus.PENDING, available_at__lte=now, platform__in=sorted(platforms)
        ).count()
        return due

    async def waiting_for_connector(self, served: Collection[str]) -> dict[str, int]:
        """Pending rows, by platform, for the platforms not in ``served``."""
        rows = (
            await OutboxItem.filter(status=OutboxStatus.PENDING)
            .exclude(platform__in=sorted(served))
            .annotate(count=Count("id"))
            .group_by("platform")
            .values("platform", "count")
        )
        return {str(row["platform"]): int(row["count"]) for row in rows}

    async def dead_letters(self, limit: int) -> list[DeadLetter]:
        rows = await OutboxItem.filter(status=OutboxStatus.DEAD).order_by("id").limit(limit)
        return [
            DeadLetter(
                key=row.key,
                platform=row.platform,
                attempts=row.attempts,
                reason=row.last_error or "",
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def requeue_dead(self, keys: Collection[str] | None, now: datetime) -> int:
        """Give dead letters (these keys, or all when None) a fresh set of attempts."""
        dead = OutboxItem.filter(status=OutboxStatus.DEAD)
        if keys is not None:
            dead = dead.filter(key__in=sorted(keys))
        requeued: int = await dead.update(status=OutboxStatus.PENDING, attempts=0, available_at=now)
        return requeued

    async def purge_sent(self, before: datetime, batch: int = 5000) -> int:
        """Delete sent and dropped rows older than ``before``, in batches."""
        sent = await _purge(
            self._database, "chatops_outbox", "status = 'sent' AND sent_at < ?", before, batch
        )
        dropped = await _purge(
            self._database,
            "chatops_outbox",
            "status = 'dropped' AND created_at < ?",
            before,
            batch,
        )
        return sent + dropped


async def purge_audit(database: Database, before: datetime, batch: int = 5000) -> int:
    """Delete audit-log entries older than ``before``, in batches."""
    return await _purge(database, "chatops_audit", "at < ?", before, batch)


async def enqueue_in_transaction(outgoing: Outgoing, now: datetime) -> None:
    """Create ``outgoing``'s outbox row inside the caller's transaction.

    For a caller that must enqueue together with its own writes (the run tracker settling
    a run). A duplicate key raises ``IntegrityError``, which rolls the caller back: use it
    only for keys that the caller's own conditional update makes unique.
    """
    await _create_outbox_row(outgoing, now, None)


# --- statements -------------------------------------------------------------------------


def _claim_statement(database: Database, table: str, candidates: str, returning: str) -> str:
    """``UPDATE table`` the ``candidates`` (a query of ids) to claimed, returning ``returning``.

    Values: on PostgreSQL the candidates' values, then token and lease_until; on SQLite
    token and lease_until first. PostgreSQL picks the candidates once, in a materialized
    CTE: as a sub-select of ``WHERE id IN`` the planner may run a ``LIMIT ... FOR UPDATE
    SKIP LOCKED`` query again for every pending row (with stale statistics it did, and
    claimed the whole backlog in one statement, slowly).
    """
    claim = "status = 'claimed', claim_token = ?, lease_until = ?"
    if database.dialect == "postgres":
        return (
            f"WITH c AS MATERIALIZED ({candidates}) "
            f"UPDATE {table} AS t SET {claim}, attempts = t.attempts + 1 "
            "FROM c WHERE t.id = c.id AND t.status = 'pending' "
            f"RETURNING {', '.join(f't.{column}' for column in returning.split(', '))}"
        )
    return (
        f"UPDATE {table} SET {claim}, attempts = attempts + 1 "
        f"WHERE id IN ({candidates}) AND status = 'pending' RETURNING {returning}"
    )


def _inbox_claim_sql(database: Database, *, keyed: int | bool) -> str:
    """Candidates' values: now, [keys...], limit."""
    keys = f" AND delivery_key IN ({', '.join('?' * int(keyed))})" if keyed else ""
    lock = " FOR UPDATE SKIP LOCKED" if database.dialect == "postgres" else ""
    candidates = (
        f"SELECT id FROM chatops_inbox WHERE status = 'pending' AND available_at <= ?{keys} "
        f"ORDER BY available_at, id LIMIT ?{lock}"
    )
    return _claim_statement(database, "chatops_inbox", candidates, "id, attempts, invocation")


_OUTBOX_RETURNING = "id, attempts, key, target, reply, invocation_id, kind, received_at"


def _outbox_claim_sql(database: Database, platforms: Sequence[str] | None, keys: int) -> str:
    """The outbox claim for one scope shape.

    Every candidate query walks one partial index range, ``(platform, priority,
    available_at)`` over pending rows, so rows of platforms this sender does not serve
    and messages not yet due cost nothing.
    """
    postgres = database.dialect == "postgres"
    if keys:
        # the shell: a handful of its own keys, found by the unique key index
        # (values: keys..., now, limit)
        candidates = (
            f"SELECT id FROM chatops_outbox WHERE key IN ({', '.join('?' * keys)}) "
            "AND status = 'pending' AND available_at <= ? "
            "ORDER BY priority, available_at, id LIMIT ?"
            + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        )
    elif postgres:
        # values: platforms, now, limit, limit
        candidates = (
            "SELECT c.id FROM unnest(?::text[]) AS p(platform) "
            f"CROSS JOIN (VALUES {', '.join(f'({p})' for p in PRIORITIES)}) AS r(priority) "
            "CROSS JOIN LATERAL (SELECT id, priority, available_at FROM chatops_outbox o "
            "WHERE o.status = 'pending' AND o.platform = p.platform "
            "AND o.priority = r.priority AND o.available_at <= ? "
            "ORDER BY o.available_at, o.id LIMIT ? FOR UPDATE SKIP LOCKED) AS c "
            "ORDER BY c.priority, c.available_at, c.id LIMIT ?"
        )
    else:
        # SQLite: one index range per platform and priority, merged, the first ``limit``
        # taken (values: now and limit per branch, then limit)
        branches = []
        for platform in platforms or ():
            condition = f" AND platform = '{_literal(platform)}'"
            for priority in PRIORITIES:
                branches.append(
                    "SELECT * FROM (SELECT id, priority, available_at FROM chatops_outbox "
                    f"WHERE status = 'pending'{condition} AND priority = {priority} "
                    "AND available_at <= ? ORDER BY available_at, id LIMIT ?)"
                )
        candidates = (
            "SELECT id FROM ("
            + " UNION ALL ".join(branches)
            + ") ORDER BY priority, available_at, id LIMIT ?"
        )
    return _claim_statement(database, "chatops_outbox", candidates, _OUTBOX_RETURNING)


def _literal(platform: str) -> str:
    if not platform.replace("_", "").isalnum():
        raise ValueError(f"not a platform name: {platform!r}")
    return platform


def _outbox_claim(row: Mapping[str, Any], token: str) -> OutboxClaim:
    attempts = int(row["attempts"])
    return OutboxClaim(
        row_id=int(row["id"]),
        token=token,
        attempts=attempts,
        message=Outgoing(
            target=ReplyTarget.from_dict(as_json(row["target"])),
            reply=Reply.from_dict(as_json(row["reply"])),
            key=str(row["key"]),
            invocation_id=row["invocation_id"],
            kind=OutgoingKind(row["kind"]),
            attempt=attempts,
        ),
        received_at=as_datetime(row["received_at"]),
    )


async def _purge(
    database: Database, table: str, condition: str, before: datetime, batch: int
) -> int:
    """Delete the rows matching ``condition`` (one ``?`` for ``before``), ``batch`` at a time,
    so no single statement holds the table for long."""
    statement = Statement(
        database,
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} LIMIT ?)",
    )
    total = 0
    while True:
        deleted = await statement.count([before, batch])
        total += deleted
        if deleted < batch:
            return total


async def _create_outbox_row(
    outgoing: Outgoing,
    now: datetime,
    received_at: datetime | None,
    available_at: datetime | None = None,
) -> None:
    await OutboxItem.create(
        key=outgoing.key,
        platform=outgoing.target.platform.value,
        target=outgoing.target.to_dict(),
        reply=outgoing.reply.to_dict(),
        invocation_id=outgoing.invocation_id,
        kind=outgoing.kind.value,
        priority=priority_of(outgoing.kind),
        status=OutboxStatus.PENDING,
        available_at=available_at or now,
        created_at=now,
        received_at=received_at,
    )


async def _create_audit_row(entry: Audit, now: datetime) -> None:
    await AuditEntry.create(
        at=now,
        invocation_id=entry.invocation_id,
        platform=entry.platform,
        actor=entry.actor,
        command=entry.command,
        decision=entry.decision,
        level=entry.level,
        detail=entry.detail,
    )


async def _live_counts(model: type[Model], statuses: Sequence[str]) -> dict[str, int]:
    return {str(status): await model.filter(status=status).count() for status in statuses}
