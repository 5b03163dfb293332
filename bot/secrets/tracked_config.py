"""``[[secrets.tracked]]`` into the expiry registry, once at start-up (source ``config``).

``sync_tracked_config(registry, settings, now)`` records each configured entry, as
``secrets track`` would, unless the registry already knows better. The rule:

- an entry the registry does not have is added;
- an entry the configuration set before (source ``config``) is updated to what the
  configuration says now (date, owner, rotation link);
- an entry set since by a command or by CI (source ``command`` or ``usage``) is kept, unless
  the configuration's expiry date is *later* than the recorded one: then the configuration
  was updated after a rotation, and it wins. A date set by a command after rotating is thus
  never moved back to the configuration's older date by a restart.

Idempotent: an entry whose recorded values already match is not written at all (its
``updated_at`` stays), so restarts and replicas starting together change nothing twice.
Entries removed from the configuration are left tracked (``secrets untrack`` forgets one).

Invariant: nothing here reads the configuration file; it is given the parsed settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.messages import Forge
from bot.secrets.settings import SecretsSettings, TrackedSecretEntry
from bot.secrets.store import SecretRegistry, Tracked

SOURCE = "config"
SET_BY = "configuration"


@dataclass(frozen=True, slots=True)
class SyncReport:
    """How many configured entries were added, updated, already current, or kept as set."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # set later by a command or CI, and not older than the configuration's


def config_wins(entry: TrackedSecretEntry, current: Tracked | None) -> bool:
    """Whether ``entry`` should replace what the registry holds (module docstring)."""
    if current is None or current.source == SOURCE:
        return True
    return current.expires_on is None or entry.expires_on > current.expires_on


def _matches(entry: TrackedSecretEntry, current: Tracked) -> bool:
    return (
        current.source == SOURCE
        and current.expires_on == entry.expires_on
        and current.owner == (entry.owner or None)
        and current.rotate_url == (entry.rotate_url or None)
    )


async def sync_tracked_config(
    registry: SecretRegistry, settings: SecretsSettings, now: datetime, log: logging.Logger
) -> SyncReport:
    """Record the configured expiry dates in the registry (module docstring)."""
    added = updated = unchanged = kept = 0
    for entry in settings.tracked:
        forge = Forge(entry.forge)
        current = await registry.get(forge, entry.repo, entry.name)
        if current is not None and _matches(entry, current):
            unchanged += 1
            continue
        if not config_wins(entry, current):
            kept += 1
            log.info(
                "%s in %s: keeping the expiry date set by %s (%s) over the configuration's (%s)",
                entry.name,
                entry.repo,
                current.set_by if current is not None else "-",
                current.expires_on if current is not None else "-",
                entry.expires,
            )
            continue
        await registry.track(
            forge,
            entry.repo,
            entry.name,
            expires_on=entry.expires_on,
            owner=entry.owner or None,
            rotate_url=entry.rotate_url or None,
            source=SOURCE,
            set_by=SET_BY,
            now=now,
        )
        if current is None:
            added += 1
        else:
            updated += 1
    return SyncReport(added=added, updated=updated, unchanged=unchanged, kept=kept)
