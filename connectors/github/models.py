"""Tortoise models of the GitHub connector: the webhooks it created and its App's installations.

The tables belong to the one ``chatops`` app and are built by the core's migrations
(``bot.store.migrations``), which ``bot.schema`` lists this module for; change a model,
then run ``make migrations`` (see README) and commit the new migration. Only this package
reads or writes them (``hooks``, ``installations``).

Invariants:
- ``WebhookSecret`` is unique per platform and hook id: a delivery is checked against its
  own hook's secret only.
- ``AppInstallation`` is unique per platform and installation id.
- Timestamps are timezone-aware UTC and always come from an injected clock.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


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
