"""Tortoise models of the core: inbox, outbox, audit log, leases, state and rate gates.

The features' tables live in their own packages (``bot.ci.models``, ``bot.channels.models``,
``bot.secrets.models``) and the GitHub connector's in ``connectors.github.models``; the
core imports none of them. All are one Tortoise app, ``chatops``, whose schema is owned by
the migrations in ``bot.store.migrations``; ``bot.schema`` lists the model modules. Outside
tests nothing calls ``generate_schemas``. Change a model, then run ``make migrations``
(``tortoise makemigrations``, see README) and commit the new migration.

Invariants:
- ``InboxItem`` is unique per ``(platform, delivery_key)``: a redelivered
  platform event inserts nothing, so it can never run twice.
- ``OutboxItem.key`` is unique: whoever enqueues a reply names it, and a second
  enqueue under the same name is a no-op.
- A claimed row carries a ``claim_token``; only the holder of the current token
  may complete it, so a worker whose lease expired cannot overwrite the result
  of the worker that took over.
- ``Lease.name`` is unique: at most one holder per name at a time, until ``expires_at``.
- ``StateEntry.name`` is unique: one small JSON value per name (a cursor, a marker).
- ``RateGate.key`` is unique: one gate per installation (or token) and route class.
- Timestamps are timezone-aware UTC and always come from an injected clock.
"""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DEAD = "dead"
    # an acknowledgement that became pointless: its command was answered first
    DROPPED = "dropped"


class InboxItem(Model):
    """One accepted command, waiting for or done by a worker."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    delivery_key = fields.CharField(max_length=255)
    invocation: fields.JSONField[dict[str, Any]] = fields.JSONField()
    status = fields.CharEnumField(InboxStatus, max_length=16, default=InboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    claim_token = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chatops_inbox"
        unique_together = (("platform", "delivery_key"),)
        # partial indexes: a claim or a purge reads only the rows in its own state
        indexes = (
            PartialIndex(fields=("available_at", "id"), condition={"status": "pending"}),
            PartialIndex(fields=("lease_until",), condition={"status": "claimed"}),
            PartialIndex(fields=("finished_at",), condition={"status": "done"}),
        )


class OutboxItem(Model):
    """One reply to deliver through a connector, with its retry state."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    platform = fields.CharField(max_length=16)
    target: fields.JSONField[dict[str, Any]] = fields.JSONField()
    reply: fields.JSONField[dict[str, Any]] = fields.JSONField()
    invocation_id = fields.CharField(max_length=64, null=True)
    # an ``OutgoingKind`` value: post the reply, or acknowledge the message it answers
    kind = fields.CharField(max_length=16, default="message")
    # claim order: messages (0) before acknowledgements (1)
    priority = fields.SmallIntField(default=0, db_default=0)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    claim_token = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    # when the question arrived, for end-to-end latency
    received_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chatops_outbox"
        # partial indexes: a claim or a purge reads only the rows in its own state
        indexes = (
            PartialIndex(
                fields=("platform", "priority", "available_at", "id"),
                condition={"status": "pending"},
            ),
            PartialIndex(fields=("lease_until",), condition={"status": "claimed"}),
            PartialIndex(fields=("sent_at",), condition={"status": "sent"}),
            PartialIndex(fields=("created_at",), condition={"status": "dropped"}),
            PartialIndex(fields=("id",), condition={"status": "dead"}),
        )


class AuditEntry(Model):
    """One decision the bot made about an invocation or a delivery."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    invocation_id = fields.CharField(max_length=64, null=True)
    platform = fields.CharField(max_length=16)
    actor = fields.CharField(max_length=255)
    command = fields.CharField(max_length=64, null=True)
    decision = fields.CharField(max_length=32)
    level = fields.CharField(max_length=16, null=True)
    detail = fields.TextField(default="")

    class Meta:
        table = "chatops_audit"
        indexes = (("invocation_id",), ("at",))


class Lease(Model):
    """A named, expiring lock held by one process (say, the one Discord gateway session)."""

    name = fields.CharField(max_length=128, primary_key=True)
    holder = fields.CharField(max_length=128)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "chatops_leases"


class StateEntry(Model):
    """One small named JSON value that must survive restarts (a recovery cursor, say)."""

    name = fields.CharField(max_length=128, primary_key=True)
    value: fields.JSONField[Any] = fields.JSONField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chatops_state"


class RateGate(Model):
    """A rate-limit gate shared by every replica: one per installation (or token) and route class.

    ``blocked_until_ms`` closes the gate after a 429 or a secondary-limit 403 (it only
    ever moves later); ``next_slot_ms`` is the earliest moment the next request may go
    (requests reserve slots one spacing apart). Times are milliseconds since the Unix
    epoch, so that the store can compare and add them in one portable statement.
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    blocked_until_ms = fields.BigIntField(default=0)
    next_slot_ms = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=255, default="")
    updated_ms = fields.BigIntField(default=0)

    class Meta:
        table = "chatops_rate_gates"
