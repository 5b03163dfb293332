"""Expiry alerts in the database: claiming one exactly once, and a secret's alert state.

``SecretAlerts.claim`` is how the expiry-alert job (``bot.secrets.alerts``) sends an alert.
In one transaction it inserts the ``SecretAlert`` row of the threshold being alerted, the
rows of the earlier thresholds that passed unalerted (recorded as done, so they never fire
late), and one outbox row per message. ``SecretAlert`` is unique per forge, repository,
name, threshold and expiry date, so of several replicas claiming the same alert at once
exactly one commits; the others roll back having enqueued nothing.

It also keeps the alert state of a ``TrackedSecret``: the acknowledged expiry date
(``ack``), the end of a snooze (``snooze``) and the number of the repository issue opened
for it (``set_issue``).

Invariants:
- An outbox row is enqueued only in the transaction that inserted its alert row, under a
  key derived from that row's id (``messages(alert_id)``), so no alert is told twice.
- ``ack`` acknowledges the expiry date the secret has at that moment: a later
  ``secrets track`` with a new date clears it (``bot.secrets.store``).
- Repository names are matched in lower case, secret names as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.messages import Forge, Outgoing
from bot.secrets.models import SecretAlert, TrackedSecret
from bot.secrets.store import SecretRegistry, Tracked
from bot.store.queues import enqueue_in_transaction
from bot.store.transactions import transaction

CLAIM_ATTEMPTS = 2  # a lost race on an earlier threshold's row is looked at once more


@dataclass(frozen=True, slots=True)
class AlertKey:
    """One expiry date of one secret: the thresholds alerted are counted per key."""

    forge: Forge
    repo: str
    name: str
    expires_on: date

    @classmethod
    def of(cls, tracked: Tracked) -> AlertKey:
        if tracked.expires_on is None:
            raise ValueError(f"{tracked.name} in {tracked.repo} has no expiry date")
        return cls(tracked.forge, tracked.repo.lower(), tracked.name, tracked.expires_on)


class SecretAlerts:
    """Recorded expiry alerts, and the acknowledgement and snooze of each tracked secret."""

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        self._registry = registry or SecretRegistry()

    async def recorded(self, keys: Iterable[AlertKey]) -> dict[AlertKey, frozenset[int]]:
        """The thresholds already recorded for each key (missing keys have none).

        One query for a whole page of keys: it selects a superset by names, repositories
        and dates, and the exact keys are matched here.
        """
        wanted = set(keys)
        if not wanted:
            return {}
        rows = await SecretAlert.filter(
            name__in=sorted({key.name for key in wanted}),
            repo__in=sorted({key.repo for key in wanted}),
            expires_on__in=sorted({key.expires_on for key in wanted}),
        ).values_list("forge", "repo", "name", "expires_on", "threshold_days")
        found: dict[AlertKey, set[int]] = {}
        for forge, repo, name, expires_on, threshold in rows:
            key = AlertKey(Forge(forge), repo, name, expires_on)
            if key in wanted:
                found.setdefault(key, set()).add(threshold)
        return {key: frozenset(thresholds) for key, thresholds in found.items()}

    async def claim(
        self,
        key: AlertKey,
        threshold: int,
        passed: Sequence[int],
        now: datetime,
        messages: Callable[[int], Sequence[Outgoing]],
    ) -> int | None:
        """Record the alert at ``threshold`` and enqueue ``messages(its id)``, in one transaction.

        ``passed`` are the earlier (larger) thresholds that passed unalerted: their rows are
        inserted too, as done, unless they exist. Returns the alert's id, or None when the
        alert was already recorded (by an earlier run or a concurrent replica).
        """
        for _ in range(CLAIM_ATTEMPTS):
            existing = (await self.recorded([key])).get(key, frozenset())
            if threshold in existing:
                return None
            try:
                async with transaction():
                    for earlier in sorted(set(passed) - existing - {threshold}, reverse=True):
                        await _insert(key, earlier, now)
                    alert = await _insert(key, threshold, now)
                    for outgoing in messages(alert.id):
                        await enqueue_in_transaction(outgoing, now)
            except IntegrityError:
                continue  # a concurrent claimer inserted one of the rows: look again
            return int(alert.id)
        return None

    async def ack(self, forge: Forge, repo: str, name: str) -> Tracked | None:
        """Acknowledge the alerts of the secret's current expiry date; None if not tracked.

        A secret without an expiry date is returned unchanged (nothing to acknowledge).
        """
        tracked = await self._registry.get(forge, repo, name)
        if tracked is None or tracked.expires_on is None:
            return tracked
        await TrackedSecret.filter(id=tracked.id, expires_on=tracked.expires_on).update(
            acked_expiry=tracked.expires_on
        )
        return await self._registry.get(forge, repo, name)

    async def snooze(self, forge: Forge, repo: str, name: str, until: datetime) -> Tracked | None:
        """Hold the secret's alerts back until ``until``; None if it is not tracked."""
        return await self._set(forge, repo, name, snoozed_until=until)

    async def set_issue(
        self, forge: Forge, repo: str, name: str, number: int | None
    ) -> Tracked | None:
        """Remember (or, with None, forget) the repository issue opened about the secret."""
        return await self._set(forge, repo, name, issue_number=number)

    async def thresholds(self, key: AlertKey) -> list[int]:
        """The thresholds recorded for one expiry date of one secret, largest first."""
        return sorted((await self.recorded([key])).get(key, frozenset()), reverse=True)

    async def _set(self, forge: Forge, repo: str, name: str, **values: Any) -> Tracked | None:
        updated = await TrackedSecret.filter(
            forge=forge.value, repo=repo.lower(), name=name
        ).update(**values)
        if not updated:
            return None
        return await self._registry.get(forge, repo, name)


async def _insert(key: AlertKey, threshold: int, now: datetime) -> SecretAlert:
    return await SecretAlert.create(
        forge=key.forge.value,
        repo=key.repo,
        name=key.name,
        threshold_days=threshold,
        expires_on=key.expires_on,
        created_at=now,
    )
