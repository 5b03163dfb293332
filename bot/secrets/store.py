"""What the bot records about CI secrets: tracked expiry dates and the last use of each.

``SecretRegistry`` holds one ``TrackedSecret`` per forge, repository and secret name: the
expiry date and owner the forge does not know, set by ``secrets track``, by the
configuration or by CI through the usage API. ``SecretUses`` holds the last known use of
each secret, reported by CI or read from the forge's runs.

Invariants:
- No secret value is ever passed in or stored: names, dates, owners and links only.
- Repository names are stored and matched in lower case; secret names as given (GitHub
  upper-cases them itself; GitLab variable names are case-sensitive).
- Writes are an insert that falls back to an update when a concurrent writer inserted
  first, so replicas handling the same request at once leave one row and neither fails.
- Tracking a new expiry date clears the acknowledgement and snooze of the old one; alert
  history is keyed by expiry date elsewhere (``SecretAlert``), so it needs no reset.
- ``SecretUses.record`` never moves a use back in time: an older report is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.messages import Forge
from bot.secrets.models import SecretUse, TrackedSecret


@dataclass(frozen=True, slots=True)
class Tracked:
    """A tracked secret, as the commands and the alert job read it."""

    id: int
    forge: Forge
    repo: str
    name: str
    expires_on: date | None
    owner: str | None
    rotate_url: str | None
    source: str
    set_by: str
    updated_at: datetime
    acked_expiry: date | None = None
    snoozed_until: datetime | None = None
    issue_number: int | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether the current expiry date's alerts were acknowledged."""
        return self.expires_on is not None and self.acked_expiry == self.expires_on


@dataclass(frozen=True, slots=True)
class Use:
    """The last known use of a secret."""

    forge: Forge
    repo: str
    name: str
    used_by: str
    url: str | None
    used_at: datetime
    source: str


class SecretRegistry:
    """Tracked expiry dates, owners and rotation links, per forge, repository and name."""

    async def track(
        self,
        forge: Forge,
        repo: str,
        name: str,
        *,
        expires_on: date | None,
        owner: str | None,
        rotate_url: str | None,
        source: str,
        set_by: str,
        now: datetime,
    ) -> tuple[Tracked, Tracked | None]:
        """Record what is known of the secret; returns it and what was recorded before."""
        key: dict[str, Any] = {"forge": forge.value, "repo": repo.lower(), "name": name}
        values: dict[str, Any] = {
            "expires_on": expires_on,
            "owner": owner,
            "rotate_url": rotate_url,
            "source": source,
            "set_by": set_by,
            "updated_at": now,
        }
        previous = await TrackedSecret.get_or_none(**key)
        if previous is None:
            try:
                row = await TrackedSecret.create(**key, **values, created_at=now)
                return _tracked(row), None
            except IntegrityError:  # a concurrent writer inserted it first
                previous = await TrackedSecret.get(**key)
        if previous.expires_on != expires_on:
            values |= {"acked_expiry": None, "snoozed_until": None}
        await TrackedSecret.filter(id=previous.id).update(**values)
        row = await TrackedSecret.get(id=previous.id)
        return _tracked(row), _tracked(previous)

    async def untrack(self, forge: Forge, repo: str, name: str) -> bool:
        """Forget the secret's tracking; whether there was any."""
        deleted = await TrackedSecret.filter(
            forge=forge.value, repo=repo.lower(), name=name
        ).delete()
        return deleted > 0

    async def get(self, forge: Forge, repo: str, name: str) -> Tracked | None:
        row = await TrackedSecret.get_or_none(forge=forge.value, repo=repo.lower(), name=name)
        return None if row is None else _tracked(row)

    async def for_repo(self, forge: Forge, repo: str) -> list[Tracked]:
        """The repository's tracked secrets, by name."""
        rows = await TrackedSecret.filter(forge=forge.value, repo=repo.lower()).order_by("name")
        return [_tracked(row) for row in rows]

    async def expiring(
        self, before: date, *, after_id: int = 0, limit: int = 1000
    ) -> list[Tracked]:
        """Tracked secrets with an expiry date before ``before``, by id, one page at a time.

        Pass the last id seen as ``after_id`` for the next page; an empty page is the end.
        """
        rows = (
            await TrackedSecret.filter(expires_on__lt=before, id__gt=after_id)
            .order_by("id")
            .limit(limit)
        )
        return [_tracked(row) for row in rows]


class SecretUses:
    """The last known use of each secret."""

    async def record(
        self,
        forge: Forge,
        repo: str,
        name: str,
        *,
        used_by: str,
        url: str | None,
        used_at: datetime,
        source: str,
    ) -> bool:
        """Record a use unless a later one is known; whether it was recorded."""
        key: dict[str, Any] = {"forge": forge.value, "repo": repo.lower(), "name": name}
        values: dict[str, Any] = {
            "used_by": used_by,
            "url": url,
            "used_at": used_at,
            "source": source,
        }
        if not await SecretUse.exists(**key):
            try:
                await SecretUse.create(**key, **values)
                return True
            except IntegrityError:  # a concurrent report inserted it first
                pass
        updated = await SecretUse.filter(**key, used_at__lt=used_at).update(**values)
        return updated > 0

    async def for_repo(self, forge: Forge, repo: str) -> dict[str, Use]:
        """The repository's last uses, by secret name."""
        rows = await SecretUse.filter(forge=forge.value, repo=repo.lower())
        return {row.name: _use(row) for row in rows}

    async def for_repos(self, forge: Forge, repos: Iterable[str]) -> list[Use]:
        """The last uses in several repositories, by repository and name."""
        wanted = sorted({repo.lower() for repo in repos})
        if not wanted:
            return []
        rows = await SecretUse.filter(forge=forge.value, repo__in=wanted).order_by("repo", "name")
        return [_use(row) for row in rows]


def _tracked(row: TrackedSecret) -> Tracked:
    return Tracked(
        id=row.id,
        forge=Forge(row.forge),
        repo=row.repo,
        name=row.name,
        expires_on=row.expires_on,
        owner=row.owner,
        rotate_url=row.rotate_url,
        source=row.source,
        set_by=row.set_by,
        updated_at=row.updated_at,
        acked_expiry=row.acked_expiry,
        snoozed_until=row.snoozed_until,
        issue_number=row.issue_number,
    )


def _use(row: SecretUse) -> Use:
    return Use(
        forge=Forge(row.forge),
        repo=row.repo,
        name=row.name,
        used_by=row.used_by,
        url=row.url,
        used_at=row.used_at,
        source=row.source,
    )
