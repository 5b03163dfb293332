"""Tortoise models of the secrets feature: tracked secrets, their last uses, sent alerts.

The tables belong to the one ``chatops`` app and are built by the core's migrations
(``bot.store.migrations``), which ``bot.schema`` lists this module for; change a model,
then run ``make migrations`` (see README) and commit the new migration.

Invariants:
- ``TrackedSecret`` and ``SecretUse`` are unique per forge, repository and secret name.
- ``SecretAlert`` is unique per secret, threshold and expiry date: each alert is sent once,
  by whichever replica inserts it first.
- No row ever holds a secret's value: names and metadata only.
- Timestamps are timezone-aware UTC and always come from an injected clock.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


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
