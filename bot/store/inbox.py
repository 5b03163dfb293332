"""The inbox: accepted invocations waiting for a worker, claimed under a lease.

Invariants:
- ``submit`` inserts at most one row per ``(platform, delivery_key)``, together with the
  command's acknowledgement when there is one: both or neither.
- ``complete`` marks the row done and enqueues its replies and audit entries in one
  transaction, and only while the caller's claim is current; otherwise it raises
  ``LeaseLost`` and writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from bot.messages import Invocation, Outgoing
from bot.store.claims import Releaser, StatementCache, claim_rows, inbox_claim_sql
from bot.store.database import Database
from bot.store.models import InboxItem, InboxStatus
from bot.store.postgres_steps import PostgresSteps
from bot.store.purge import live_counts, purge
from bot.store.queue_rows import (
    Audit,
    ClaimScope,
    InboxClaim,
    LeaseLost,
    audit_write,
    inbox_write,
    outbox_write,
)
from bot.store.sql import as_json
from bot.store.writes import Unchanged, Write, db_time, write_atomically

_COMPLETE = (
    "UPDATE chatops_inbox SET status = 'done', finished_at = ?, claim_token = NULL, "
    "lease_until = NULL WHERE id = ? AND claim_token = ?"
)


class InboxQueue:
    """Accepted invocations waiting for a worker."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._release = Releaser(database, "chatops_inbox")
        # by the number of keys a claim is narrowed to (0: any row)
        self._claims: StatementCache[int] = StatementCache(
            database, lambda keyed: inbox_claim_sql(database, keyed=keyed)
        )
        self._postgres = PostgresSteps(database) if database.dialect == "postgres" else None

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
        if self._postgres is not None:
            try:
                changed = await self._postgres.submit(
                    invocation, now, acknowledgement, acknowledge_at
                )
            except IntegrityError:
                return False
            return changed == 1
        writes = [inbox_write(self._database, invocation, now)]
        if acknowledgement is not None:
            writes.append(
                outbox_write(
                    self._database, acknowledgement, now, invocation.received_at, acknowledge_at
                )
            )
        try:
            await write_atomically(self._database, writes)
        except (Unchanged, IntegrityError):
            return False
        return True

    async def release_expired(self, now: datetime) -> int:
        """Put rows whose lease ended (their worker died) back to pending; how many."""
        return await self._release(now, force=True)

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, scope: ClaimScope | None = None
    ) -> list[InboxClaim]:
        await self._release(now)
        keys: list[str] = []
        if scope is not None and scope.keys is not None:
            keys = sorted(scope.keys)
            if not keys:
                return []
        statement = self._claims(len(keys))
        token, rows = await claim_rows(self._database, statement, now, lease, [now, *keys, limit])
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

    async def complete(
        self,
        claim: InboxClaim,
        now: datetime,
        replies: list[Outgoing],
        audit: list[Audit],
    ) -> None:
        """Mark done, enqueue replies and audit entries: all or nothing, while the claim holds."""
        database = self._database
        received_at = claim.invocation.received_at
        if self._postgres is not None:
            try:
                changed = await self._postgres.complete(
                    claim.row_id, claim.token, now, received_at, replies, audit
                )
            except IntegrityError as exc:
                raise LeaseLost(f"inbox row {claim.row_id} was completed elsewhere") from exc
            if changed != 1:
                raise LeaseLost(f"inbox row {claim.row_id} was reclaimed")
            return
        writes = [
            Write(_COMPLETE, (db_time(database, now), claim.row_id, claim.token), must_change=1),
            *(outbox_write(database, outgoing, now, received_at) for outgoing in replies),
            *(audit_write(database, entry, now) for entry in audit),
        ]
        try:
            await write_atomically(database, writes)
        except Unchanged as exc:
            raise LeaseLost(f"inbox row {claim.row_id} was reclaimed") from exc
        except IntegrityError as exc:
            raise LeaseLost(f"inbox row {claim.row_id} was completed elsewhere") from exc

    async def depth(self) -> dict[str, int]:
        """Rows still to do, by status, zeros included (done rows are history: the metrics
        count them as they happen)."""
        return await live_counts(InboxItem, (InboxStatus.PENDING, InboxStatus.CLAIMED))

    async def due(self, now: datetime) -> int:
        """Pending rows a worker could take now."""
        due: int = await InboxItem.filter(status=InboxStatus.PENDING, available_at__lte=now).count()
        return due

    async def purge_done(self, before: datetime, batch: int = 5000) -> int:
        return await purge(
            self._database, "chatops_inbox", "status = 'done' AND finished_at < ?", before, batch
        )
