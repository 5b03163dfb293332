"""The inbox and outbox as durable queues with leases.

A row is claimed by setting a fresh ``claim_token`` and a ``lease_until``; a
claim is an atomic compare-and-set (``UPDATE ... WHERE`` still pending or lease
expired), so two workers can never both hold a row, on any database. On
PostgreSQL the candidates are first picked with ``FOR UPDATE SKIP LOCKED`` so
that replicas claiming at once take different rows instead of racing for the
same ones.

Invariants:
- ``submit`` inserts at most one inbox row per ``(platform, delivery_key)``.
- ``InboxQueue.complete`` marks the row done and enqueues its reply and audit
  entry in one transaction, and only while the caller's claim is current;
  otherwise it raises ``LeaseLost`` and writes nothing.
- ``OutboxQueue.enqueue`` is idempotent by ``Outgoing.key``.
- Rows whose lease expired (their worker died) are claimable again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.messages import Invocation, Outgoing, OutgoingKind, Reply, ReplyTarget
from bot.store.database import Database
from bot.store.models import (
    AuditEntry,
    InboxItem,
    InboxStatus,
    OutboxItem,
    OutboxStatus,
)


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


async def _claim_ids(
    database: Database,
    model: type[Model],
    claimable: Q,
    limit: int,
) -> list[int]:
    query = model.filter(claimable).order_by("id").limit(limit).only("id")
    if database.supports_skip_locked:
        # tortoise drops FOR UPDATE from values()/values_list(), so select model rows
        query = query.select_for_update(skip_locked=True)
    return [row.pk for row in await query]


@asynccontextmanager
async def _claim_scope(database: Database) -> AsyncIterator[None]:
    """A transaction on PostgreSQL (so SKIP LOCKED holds until the update); none on SQLite.

    On SQLite a deferred transaction that reads and then writes can fail with
    SQLITE_BUSY instead of waiting; the compare-and-set update is atomic alone.
    """
    if database.supports_skip_locked:
        async with in_transaction():
            yield
    else:
        yield


@dataclass(frozen=True, slots=True)
class ClaimScope:
    """Which rows a claimer may take: only some platforms, or only some keys.

    A sender claims only the platforms it has connectors for, so a replica (or
    a ``chatops shell``) never takes a reply it cannot send; the shell also
    narrows its claims to the keys of the lines it submitted.
    """

    platforms: frozenset[str] | None = None
    keys: frozenset[str] | None = None


def _scoped(scope: ClaimScope | None, key_column: str) -> Q:
    condition = Q()
    if scope is not None and scope.platforms is not None:
        condition &= Q(platform__in=sorted(scope.platforms))
    if scope is not None and scope.keys is not None:
        keys: dict[str, Any] = {f"{key_column}__in": sorted(scope.keys)}
        condition &= Q(**keys)
    return condition


def _claimable(pending: str, claimed: str, now: datetime) -> Q:
    return Q(status=pending, available_at__lte=now) | Q(status=claimed, lease_until__lt=now)


class InboxQueue:
    """Accepted invocations waiting for a worker."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def submit(
        self, invocation: Invocation, now: datetime, acknowledgement: Outgoing | None = None
    ) -> bool:
        """Persist an invocation; False if its delivery key was seen before.

        ``acknowledgement``, if given, is enqueued in the same transaction, so it exists
        exactly when the invocation was accepted.
        """
        try:
            async with in_transaction():
                await InboxItem.create(
                    platform=invocation.platform.value,
                    delivery_key=invocation.delivery_key,
                    invocation=invocation.to_dict(),
                    status=InboxStatus.PENDING,
                    available_at=now,
                    received_at=invocation.received_at,
                )
                if acknowledgement is not None:
                    await _create_outbox_row(acknowledgement, now, invocation.received_at)
        except IntegrityError:
            return False
        return True

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, scope: ClaimScope | None = None
    ) -> list[InboxClaim]:
        token = uuid.uuid4().hex
        claimable = _claimable(InboxStatus.PENDING, InboxStatus.CLAIMED, now)
        async with _claim_scope(self._database):
            narrowed = claimable & _scoped(scope, "delivery_key")
            ids = await _claim_ids(self._database, InboxItem, narrowed, limit)
            if not ids:
                return []
            await InboxItem.filter(claimable, id__in=ids).update(
                status=InboxStatus.CLAIMED,
                claim_token=token,
                lease_until=now + lease,
                attempts=F("attempts") + 1,
            )
        rows = await InboxItem.filter(claim_token=token).order_by("id")
        return [
            InboxClaim(
                row_id=row.id,
                token=token,
                attempts=row.attempts,
                invocation=Invocation.from_dict(row.invocation),
            )
            for row in rows
        ]

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
            async with in_transaction():
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
        return await _count_by_status(InboxItem)

    async def purge_done(self, before: datetime) -> int:
        deleted: int = await InboxItem.filter(
            status=InboxStatus.DONE, finished_at__lt=before
        ).delete()
        return deleted


class OutboxQueue:
    """Replies waiting to be sent, with their retry and dead-letter state."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def enqueue(self, outgoing: Outgoing, now: datetime) -> bool:
        """Persist a message to send; False if one with the same key exists."""
        try:
            async with in_transaction():
                await _create_outbox_row(outgoing, now, None)
        except IntegrityError:
            return False
        return True

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, scope: ClaimScope | None = None
    ) -> list[OutboxClaim]:
        token = uuid.uuid4().hex
        claimable = _claimable(OutboxStatus.PENDING, OutboxStatus.CLAIMED, now)
        async with _claim_scope(self._database):
            narrowed = claimable & _scoped(scope, "key")
            ids = await _claim_ids(self._database, OutboxItem, narrowed, limit)
            if not ids:
                return []
            await OutboxItem.filter(claimable, id__in=ids).update(
                status=OutboxStatus.CLAIMED,
                claim_token=token,
                lease_until=now + lease,
                attempts=F("attempts") + 1,
            )
        rows = await OutboxItem.filter(claim_token=token).order_by("id")
        return [
            OutboxClaim(
                row_id=row.id,
                token=token,
                attempts=row.attempts,
                message=Outgoing(
                    target=ReplyTarget.from_dict(row.target),
                    reply=Reply.from_dict(row.reply),
                    key=row.key,
                    invocation_id=row.invocation_id,
                    kind=OutgoingKind(row.kind),
                    attempt=row.attempts,
                ),
                received_at=row.received_at,
            )
            for row in rows
        ]

    async def mark_sent(self, claim: OutboxClaim, now: datetime, audit: Audit) -> None:
        await self._finish(claim, now, audit, status=OutboxStatus.SENT, sent_at=now)

    async def mark_dead(self, claim: OutboxClaim, now: datetime, reason: str, audit: Audit) -> None:
        await self._finish(claim, now, audit, status=OutboxStatus.DEAD, last_error=reason)

    async def retry_later(self, claim: OutboxClaim, available_at: datetime, reason: str) -> None:
        updated = await OutboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
            status=OutboxStatus.PENDING,
            available_at=available_at,
            claim_token=None,
            lease_until=None,
            last_error=reason,
        )
        if updated != 1:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")

    async def _finish(
        self, claim: OutboxClaim, now: datetime, audit: Audit, **changes: Any
    ) -> None:
        async with in_transaction():
            updated = await OutboxItem.filter(id=claim.row_id, claim_token=claim.token).update(
                claim_token=None, lease_until=None, **changes
            )
            if updated != 1:
                raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")
            await _create_audit_row(audit, now)

    async def depth(self) -> dict[str, int]:
        return await _count_by_status(OutboxItem)

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

    async def purge_sent(self, before: datetime) -> int:
        sent = OutboxItem.filter(status=OutboxStatus.SENT, sent_at__lt=before)
        deleted: int = await sent.delete()
        return deleted


async def enqueue_in_transaction(outgoing: Outgoing, now: datetime) -> None:
    """Create ``outgoing``'s outbox row inside the caller's transaction.

    For a caller that must enqueue together with its own writes (the run tracker settling
    a run). A duplicate key raises ``IntegrityError``, which rolls the caller back: use it
    only for keys that the caller's own conditional update makes unique.
    """
    await _create_outbox_row(outgoing, now, None)


async def _create_outbox_row(
    outgoing: Outgoing, now: datetime, received_at: datetime | None
) -> None:
    await OutboxItem.create(
        key=outgoing.key,
        platform=outgoing.target.platform.value,
        target=outgoing.target.to_dict(),
        reply=outgoing.reply.to_dict(),
        invocation_id=outgoing.invocation_id,
        kind=outgoing.kind.value,
        status=OutboxStatus.PENDING,
        available_at=now,
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


async def _count_by_status(model: type[Model]) -> dict[str, int]:
    rows = await model.annotate(count=Count("id")).group_by("status").values("status", "count")
    return {str(row["status"]): int(row["count"]) for row in rows}
