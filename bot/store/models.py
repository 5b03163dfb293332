"""Tortoise models for the durable pipeline: inbox, outbox, audit log, leases and state.

The schema is owned by the migrations in ``bot.store.migrations``; outside tests
nothing calls ``generate_schemas``. Change a model, then run
``tortoise makemigrations`` (see README) and commit the new migration.

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
- ``Run.active_key`` (forge, repository and head commit) is unique while the run is not
  completed and NULL after: at most one live tracked run per commit, across replicas.
- ``RunOrigin`` is unique per run and place, ``ForgeRun`` per run and forge run id,
  ``Subscription`` per channel and repository, ``ChannelDefault`` per channel.
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


class WebhookSecret(Model):
    """The secret of one webhook the bot created on a forge (``chatops github setup-repo``).

    Deliveries name their hook (GitHub's ``X-GitHub-Hook-ID``), so each is checked against
    its own hook's secret only: one repository's secret cannot sign another's events. The
    value is stored as given; protect the database like the config's secrets.
    """

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    hook_id = fields.CharField(max_length=64)
    repo = fields.CharField(max_length=255)
    secret = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()

    class Meta:
        table = "chatops_webhook_secrets"
        unique_together = (("platform", "hook_id"),)


class AppInstallation(Model):
    """Where a forge App is installed and which repositories it reaches, from its webhooks."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    installation_id = fields.BigIntField()
    account = fields.CharField(max_length=255)
    repositories: fields.JSONField[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chatops_app_installations"
        unique_together = (("platform", "installation_id"),)


class RunState(enum.StrEnum):
    REQUESTED = "requested"  # asked for; the forge has not reported it yet
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Run(Model):
    """CI on one commit of a pull/merge request that the bot started or was asked about.

    The forge's own runs (workflow runs, pipelines) that make it up are ``ForgeRun`` rows;
    everyone waiting for its result is a ``RunOrigin``.
    """

    id = fields.BigIntField(primary_key=True)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    number = fields.IntField(null=True)
    head_sha = fields.CharField(max_length=64)
    state = fields.CharEnumField(RunState, max_length=16, default=RunState.REQUESTED)
    conclusion = fields.CharField(max_length=32, null=True)
    requested_by = fields.CharField(max_length=255)
    requested_at = fields.DatetimeField()
    # the invocation that created it, so a retried command finds its own run
    request_id = fields.CharField(max_length=64, null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()
    active_key = fields.CharField(max_length=400, null=True, unique=True)

    class Meta:
        table = "chatops_runs"
        indexes = (("forge", "repo", "number"), ("state", "updated_at"))


class ForgeRun(Model):
    """One of the forge's runs (a workflow run, a pipeline) that a ``Run`` is waiting on."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "chatops.Run", related_name="forge_runs", on_delete=fields.CASCADE
    )
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    external_id = fields.CharField(max_length=64)
    name = fields.CharField(max_length=255)
    state = fields.CharEnumField(RunState, max_length=16, default=RunState.QUEUED)
    conclusion = fields.CharField(max_length=32, null=True)
    url = fields.TextField(default="")
    # the forge's attempt number this Run waits for; an older attempt's events are stale
    attempt = fields.IntField(default=1)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chatops_forge_runs"
        unique_together = (("run", "external_id"),)
        indexes = (("forge", "repo", "external_id"),)


class RunOrigin(Model):
    """A place that asked about a ``Run`` and gets its result once (a PR thread, a channel)."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[Run] = fields.ForeignKeyField(
        "chatops.Run", related_name="origins", on_delete=fields.CASCADE
    )
    place = fields.CharField(max_length=255)  # platform, channel and thread, as one key
    target: fields.JSONField[dict[str, Any]] = fields.JSONField()  # a ReplyTarget
    invocation_id = fields.CharField(max_length=64, null=True)
    asked_by = fields.CharField(max_length=255)
    added_at = fields.DatetimeField()

    class Meta:
        table = "chatops_run_origins"
        unique_together = (("run", "place"),)


class Subscription(Model):
    """A chat channel that receives a repository's run results and/or alerts."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=255)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    topics = fields.CharField(max_length=16)  # runs | alerts | all
    target: fields.JSONField[dict[str, Any]] = fields.JSONField()  # where to post: a ReplyTarget
    created_by = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()

    class Meta:
        table = "chatops_subscriptions"
        unique_together = (("platform", "channel", "forge", "repo"),)
        indexes = (("forge", "repo"),)


class ChannelDefault(Model):
    """The repository a chat channel means when a command names only ``#12``."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=255)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    set_by = fields.CharField(max_length=255)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "chatops_channel_defaults"
        unique_together = (("platform", "channel"),)


class TrackedSecret(Model):
    """What the bot knows of a CI secret beyond the forge: its expiry, owner and alert state.

    Set by ``secrets track``, by ``[[secrets.tracked]]`` in the configuration, or by CI through
    the usage API (``source``). ``acked_expiry`` is the expiry date whose alerts were
    acknowledged; ``snoozed_until`` holds alerts back until then; ``issue_number`` is the
    repository's open alert issue for it, if one was opened. Never holds a secret value.
    """

    id = fields.BigIntField(primary_key=True)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)  # lower case
    name = fields.CharField(max_length=255)
    expires_on = fields.DateField(null=True)
    owner = fields.CharField(max_length=255, null=True)
    rotate_url = fields.CharField(max_length=1024, null=True)
    source = fields.CharField(max_length=16)  # command | config | usage
    set_by = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    acked_expiry = fields.DateField(null=True)
    snoozed_until = fields.DatetimeField(null=True)
    issue_number = fields.IntField(null=True)

    class Meta:
        table = "chatops_tracked_secrets"
        unique_together = (("forge", "repo", "name"),)
        indexes = (("expires_on",),)


class SecretUse(Model):
    """The last known use of a CI secret: reported by CI (``api``) or read from runs (``runs``)."""

    id = fields.BigIntField(primary_key=True)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)  # lower case
    name = fields.CharField(max_length=255)
    used_by = fields.CharField(max_length=255)  # the pipeline or workflow, as reported
    url = fields.CharField(max_length=1024, null=True)
    used_at = fields.DatetimeField()
    source = fields.CharField(max_length=16)  # api | runs

    class Meta:
        table = "chatops_secret_uses"
        unique_together = (("forge", "repo", "name"),)


class SecretAlert(Model):
    """One expiry alert that was sent: the unique key makes each one happen exactly once.

    Keyed by secret, threshold and expiry date, so a new expiry date (after rotation) is
    alerted afresh, and replicas firing the same job at once insert it only once.
    """

    id = fields.BigIntField(primary_key=True)
    forge = fields.CharField(max_length=16)
    repo = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255)
    threshold_days = fields.IntField()
    expires_on = fields.DateField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "chatops_secret_alerts"
        unique_together = (("forge", "repo", "name", "threshold_days", "expires_on"),)


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
