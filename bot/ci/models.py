"""Tortoise models of the CI feature: the runs it follows, their forge runs and who waits.

The tables belong to the one ``chatops`` app and are built by the core's migrations
(``bot.store.migrations``), which ``bot.schema`` lists this module for; change a model,
then run ``make migrations`` (see README) and commit the new migration.

Invariants:
- ``Run.active_key`` (forge, repository and head commit) is unique while the run is not
  completed and NULL after: at most one live tracked run per commit, across replicas.
- ``RunOrigin`` is unique per run and place, ``ForgeRun`` per run and forge run id.
- Timestamps are timezone-aware UTC and always come from an injected clock.
"""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields
from tortoise.models import Model


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
