"""The outbox: messages waiting to be sent, with their retry and dead-letter state.

Order: messages (replies, notices) before acknowledgements (a 👀 on the command), each
oldest first by ``available_at``: a reply never waits behind the acknowledgements of newer
commands, and an acknowledgement whose command was already answered is dropped when the
answer is sent.

Invariants:
- ``enqueue`` is idempotent by ``Outgoing.key``; ``enqueue_in_transaction`` raises on a
  key that exists, rolling its caller back.
- A step on a claimed row (sent, dead, retry, drop) happens only while the caller's claim
  is current; otherwise it raises ``LeaseLost`` and writes nothing. A step and its audit
  line are one transaction.
- ``retry_later(..., counted=False)`` gives the attempt back: a rate limit delays a
  message, it never brings it closer to the dead letters.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from bot.messages import Outgoing, Platform
from bot.store.claims import (
    Releaser,
    StatementCache,
    claim_rows,
    outbox_claim,
    outbox_claim_sql,
)
from bot.store.database import Database
from bot.store.models import OutboxItem, OutboxStatus
from bot.store.postgres_steps import PostgresSteps
from bot.store.purge import purge
from bot.store.queue_rows import (
    PRIORITIES,
    Audit,
    ClaimScope,
    DeadLetter,
    LeaseLost,
    OutboxClaim,
    audit_write,
    outbox_write,
    priority_of,
)
from bot.store.sql import postgres_placeholders
from bot.store.writes import Unchanged, Write, db_time, write_atomically

_SENT = (
    "UPDATE chatops_outbox SET status = 'sent', sent_at = ?, claim_token = NULL, "
    "lease_until = NULL WHERE id = ? AND claim_token = ?"
)
_DEAD = (
    "UPDATE chatops_outbox SET status = 'dead', last_error = ?, claim_token = NULL, "
    "lease_until = NULL WHERE id = ? AND claim_token = ?"
)
_DROP_PENDING = (
    "UPDATE chatops_outbox SET status = 'dropped', last_error = ? "
    "WHERE key = ? AND status = 'pending'"
)
_DROP_CLAIMED = (
    "UPDATE chatops_outbox SET status = 'dropped', last_error = ?, claim_token = NULL, "
    "lease_until = NULL WHERE id = ? AND claim_token = ?"
)
_RETRY = (
    "UPDATE chatops_outbox SET status = 'pending', available_at = ?, claim_token = NULL, "
    "lease_until = NULL, last_error = ?, attempts = ? WHERE id = ? AND claim_token = ?"
)


class OutboxQueue:
    """Replies waiting to be sent, with their retry and dead-letter state."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._release = Releaser(database, "chatops_outbox")
        # by the platforms served (None: narrowed to keys) and the number of keys
        self._claims: StatementCache[tuple[tuple[str, ...] | None, int]] = StatementCache(
            database, lambda shape: outbox_claim_sql(database, *shape)
        )
        self._postgres = PostgresSteps(database) if database.dialect == "postgres" else None

    async def enqueue(self, outgoing: Outgoing, now: datetime) -> bool:
        """Persist a message to send; False if one with the same key exists."""
        try:
            await write_atomically(
                self._database, [outbox_write(self._database, outgoing, now, None)]
            )
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
        candidates: list[Any] = []
        if keys is not None:
            statement = self._claims((None, len(keys)))
            candidates.extend([*keys, now, limit])
        else:
            served = platforms if platforms is not None else sorted(p.value for p in Platform)
            statement = self._claims((tuple(served), 0))
            if self._database.dialect == "postgres":
                candidates.extend([served, now, limit, limit])
            else:
                for _branch in range(len(served) * len(PRIORITIES)):
                    candidates.extend([now, limit])
                candidates.append(limit)
        token, rows = await claim_rows(self._database, statement, now, lease, candidates)
        claims = [outbox_claim(row, token) for row in rows]
        claims.sort(key=lambda claim: (priority_of(claim.message.kind), claim.row_id))
        return claims

    async def mark_sent(
        self, claim: OutboxClaim, now: datetime, audit: Audit, supersedes: str | None = None
    ) -> None:
        """Record the send; ``supersedes`` names a pending message it makes pointless (the
        acknowledgement of a command that is now answered), which is dropped unsent."""
        database = self._database
        if self._postgres is not None:
            drop = (f"superseded by {claim.message.key}", supersedes) if supersedes else None
            changed = await self._postgres.finish(
                claim.row_id,
                claim.token,
                status="sent",
                now=now,
                audit=audit,
                sent_at=now,
                drop=drop,
            )
            self._held(claim, changed)
            return
        writes = [
            Write(_SENT, (db_time(database, now), claim.row_id, claim.token), must_change=1),
            audit_write(database, audit, now),
        ]
        if supersedes is not None:
            writes.append(Write(_DROP_PENDING, (f"superseded by {claim.message.key}", supersedes)))
        await self._on_claim(claim, writes)

    async def drop(self, claim: OutboxClaim, reason: str) -> None:
        """Give up a claimed message that has become pointless, without sending it."""
        await self._on_claim(
            claim, [Write(_DROP_CLAIMED, (reason, claim.row_id, claim.token), must_change=1)]
        )

    async def mark_dead(self, claim: OutboxClaim, now: datetime, reason: str, audit: Audit) -> None:
        if self._postgres is not None:
            changed = await self._postgres.finish(
                claim.row_id, claim.token, status="dead", now=now, audit=audit, last_error=reason
            )
            self._held(claim, changed)
            return
        writes = [
            Write(_DEAD, (reason, claim.row_id, claim.token), must_change=1),
            audit_write(self._database, audit, now),
        ]
        await self._on_claim(claim, writes)

    async def retry_later(
        self, claim: OutboxClaim, available_at: datetime, reason: str, *, counted: bool = True
    ) -> None:
        """Put the row back until ``available_at``; ``counted=False`` gives the attempt back."""
        attempts = claim.attempts if counted else max(0, claim.attempts - 1)
        values = (
            db_time(self._database, available_at),
            reason,
            attempts,
            claim.row_id,
            claim.token,
        )
        await self._on_claim(claim, [Write(_RETRY, values, must_change=1)])

    @staticmethod
    def _held(claim: OutboxClaim, changed: int) -> None:
        if changed != 1:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed")

    async def _on_claim(self, claim: OutboxClaim, writes: Sequence[Write]) -> None:
        try:
            await write_atomically(self._database, writes)
        except Unchanged as exc:
            raise LeaseLost(f"outbox row {claim.row_id} was reclaimed") from exc

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
        sent = await purge(
            self._database, "chatops_outbox", "status = 'sent' AND sent_at < ?", before, batch
        )
        dropped = await purge(
            self._database,
            "chatops_outbox",
            "status = 'dropped' AND created_at < ?",
            before,
            batch,
        )
        return sent + dropped


async def enqueue_in_transaction(outgoing: Outgoing, now: datetime) -> None:
    """Create ``outgoing``'s outbox row inside the caller's (ORM) transaction.

    For a caller that must enqueue together with its own writes (the run tracker settling
    a run, an expiry alert recorded with its messages). The row is ``outbox_write``'s, run
    on the connection of the transaction the calling task is in (Tortoise's context), so
    it commits or rolls back with the caller's writes. A duplicate key raises
    ``IntegrityError``, which rolls the caller back: use it only for keys that the caller's
    own conditional update makes unique.
    """
    client = OutboxItem._meta.db  # inside a transaction: the transaction's connection
    dialect = client.capabilities
    write = outbox_write(dialect, outgoing, now, None)
    text = postgres_placeholders(write.text) if dialect.dialect == "postgres" else write.text
    await client.execute_query(text, list(write.values))
