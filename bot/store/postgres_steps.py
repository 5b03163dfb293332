"""The pipeline's busiest steps on PostgreSQL, each as one statement: one round trip.

On PostgreSQL every statement is a network round trip, and a transaction adds two more
(``BEGIN``, ``COMMIT``). A data-modifying ``WITH`` runs several changes as one statement,
atomically, so each step below costs one trip instead of four or five:

- ``submit``: the inbox row and, when the command is acknowledged, its acknowledgement;
  the acknowledgement is written only when the inbox row was (a repeated delivery
  changes nothing).
- ``complete``: the claimed inbox row marked done, its replies and audit lines queued,
  all only while the claim holds.
- ``finish``: a claimed outbox row marked sent or dead with its audit line, and the
  acknowledgement its answer made pointless dropped.

Each returns how many rows its guarding change touched (0: a repeated delivery, a lost
claim), and a unique-key violation fails the whole statement as it would a transaction.
Rows of several values (replies, audit lines) travel as arrays, one per column, so the
statement text does not depend on how many there are. SQLite runs the same steps as a
``bot.store.writes`` transaction instead; both write the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.messages import Invocation, Outgoing
from bot.store.database import Database
from bot.store.queue_rows import Audit, priority_of
from bot.store.sql import Statement
from bot.store.writes import db_json

_OUTBOX_COLUMNS = (
    "key, platform, target, reply, invocation_id, kind, priority, status, attempts, "
    "available_at, created_at, received_at"
)
_AUDIT_COLUMNS = "at, invocation_id, platform, actor, command, decision, level, detail"

_SUBMIT = (
    "WITH i AS (INSERT INTO chatops_inbox (platform, delivery_key, invocation, status, "
    "attempts, available_at, received_at) VALUES (?, ?, ?::jsonb, 'pending', 0, ?, ?) "
    "ON CONFLICT (platform, delivery_key) DO NOTHING RETURNING id), "
    f"a AS (INSERT INTO chatops_outbox ({_OUTBOX_COLUMNS}) "
    "SELECT u.key, u.platform, u.target, u.reply, u.invocation_id, u.kind, u.priority, "
    "'pending', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz "
    "FROM unnest(?::text[], ?::text[], ?::jsonb[], ?::jsonb[], ?::text[], ?::text[], "
    "?::smallint[]) AS u(key, platform, target, reply, invocation_id, kind, priority) "
    "WHERE EXISTS (SELECT 1 FROM i)) "
    "SELECT count(*) AS changed FROM i"
)

_COMPLETE = (
    "WITH d AS (UPDATE chatops_inbox SET status = 'done', finished_at = ?, "
    "claim_token = NULL, lease_until = NULL WHERE id = ? AND claim_token = ? RETURNING id), "
    f"o AS (INSERT INTO chatops_outbox ({_OUTBOX_COLUMNS}) "
    "SELECT u.key, u.platform, u.target, u.reply, u.invocation_id, u.kind, u.priority, "
    "'pending', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz "
    "FROM unnest(?::text[], ?::text[], ?::jsonb[], ?::jsonb[], ?::text[], ?::text[], "
    "?::smallint[]) AS u(key, platform, target, reply, invocation_id, kind, priority) "
    "WHERE EXISTS (SELECT 1 FROM d)), "
    f"a AS (INSERT INTO chatops_audit ({_AUDIT_COLUMNS}) "
    "SELECT ?::timestamptz, u.invocation_id, u.platform, u.actor, u.command, u.decision, "
    "u.level, u.detail FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], "
    "?::text[], ?::text[]) AS u(invocation_id, platform, actor, command, decision, level, "
    "detail) WHERE EXISTS (SELECT 1 FROM d)) "
    "SELECT count(*) AS changed FROM d"
)

_FINISH = (
    "WITH f AS (UPDATE chatops_outbox SET status = ?, sent_at = ?, "
    "last_error = COALESCE(?, last_error), "
    "claim_token = NULL, lease_until = NULL WHERE id = ? AND claim_token = ? RETURNING id), "
    f"a AS (INSERT INTO chatops_audit ({_AUDIT_COLUMNS}) "
    "SELECT ?::timestamptz, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM f)), "
    "x AS (UPDATE chatops_outbox SET status = 'dropped', last_error = ? "
    "WHERE key = ? AND status = 'pending' AND EXISTS (SELECT 1 FROM f)) "
    "SELECT count(*) AS changed FROM f"
)


class PostgresSteps:
    """The three statements, prepared once per database."""

    def __init__(self, database: Database) -> None:
        self._submit = Statement(database, _SUBMIT)
        self._complete = Statement(database, _COMPLETE)
        self._finish = Statement(database, _FINISH)

    async def submit(
        self,
        invocation: Invocation,
        now: datetime,
        acknowledgement: Outgoing | None,
        acknowledge_at: datetime | None,
    ) -> int:
        """Store ``invocation`` (and its acknowledgement); 0 when the delivery was seen."""
        received = invocation.received_at
        values = [
            invocation.platform.value,
            invocation.delivery_key,
            db_json(invocation.to_dict()),
            now,
            received,
            acknowledge_at or now,
            now,
            received,
            *_outbox_columns([acknowledgement] if acknowledgement is not None else []),
        ]
        return await _changed(self._submit, values)

    async def complete(
        self,
        row_id: int,
        token: str,
        now: datetime,
        received_at: datetime | None,
        replies: Sequence[Outgoing],
        audit: Sequence[Audit],
    ) -> int:
        """Mark the claimed inbox row done with its replies and audit; 0: claim lost."""
        values = [
            now,
            row_id,
            token,
            now,
            now,
            received_at,
            *_outbox_columns(replies),
            now,
            *_audit_columns(audit),
        ]
        return await _changed(self._complete, values)

    async def finish(
        self,
        row_id: int,
        token: str,
        *,
        status: str,
        now: datetime,
        audit: Audit,
        sent_at: datetime | None = None,
        last_error: str | None = None,
        drop: tuple[str, str] | None = None,
    ) -> int:
        """End a claimed outbox row (``status``) with its audit line, and drop the pending
        row ``drop`` names (``(reason, key)``); 0 when the claim was lost."""
        reason, key = drop if drop is not None else (None, None)
        values = [
            status,
            sent_at,
            last_error,
            row_id,
            token,
            now,
            audit.invocation_id,
            audit.platform,
            audit.actor,
            audit.command,
            audit.decision,
            audit.level,
            audit.detail,
            reason,
            key,
        ]
        return await _changed(self._finish, values)


async def _changed(statement: Statement, values: list[Any]) -> int:
    [row] = await statement.rows(values)
    return int(row["changed"])


def _outbox_columns(messages: Sequence[Outgoing]) -> list[list[Any]]:
    return [
        [message.key for message in messages],
        [message.target.platform.value for message in messages],
        [db_json(message.target.to_dict()) for message in messages],
        [db_json(message.reply.to_dict()) for message in messages],
        [message.invocation_id for message in messages],
        [message.kind.value for message in messages],
        [priority_of(message.kind) for message in messages],
    ]


def _audit_columns(entries: Sequence[Audit]) -> list[list[Any]]:
    return [
        [entry.invocation_id for entry in entries],
        [entry.platform for entry in entries],
        [entry.actor for entry in entries],
        [entry.command for entry in entries],
        [entry.decision for entry in entries],
        [entry.level for entry in entries],
        [entry.detail for entry in entries],
    ]
