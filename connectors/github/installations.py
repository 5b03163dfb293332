"""Which GitHub App installation covers a repository.

App mode needs an installation id for every call. Comment deliveries carry it (and the
connector passes it along as a reply hint); for everything else (a Slack user asking
about ``acme/web#12``, a permission check) ``AppInstallations`` answers from the
``installation`` and ``installation_repositories`` events recorded in the store, and,
when a repository is unknown, asks GitHub once (``GET /app/installations`` and each
installation's ``GET /installation/repositories``), at most every ``DISCOVERY_INTERVAL``.

Token mode has no installations: ``NoInstallations`` always answers None.

Invariants: names compare case-insensitively (GitHub's are); a deleted or suspended
installation covers nothing; the store is the record, the in-memory map only a cache.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.messages import Platform
from connectors.github.auth import AppTokens, MissingInstallation
from connectors.github.models import AppInstallation
from connectors.github.protocol import InstallationChange

DISCOVERY_INTERVAL = timedelta(minutes=5)
PLATFORM = Platform.GITHUB.value


class Installations(Protocol):
    async def installation_for(self, repo: str) -> int | None: ...


class NoInstallations:
    async def installation_for(self, repo: str) -> int | None:
        return None


class AppInstallations:
    def __init__(self, tokens: AppTokens, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock
        self._discovered_at = clock.now() - 2 * DISCOVERY_INTERVAL
        self._discovery = asyncio.Lock()

    async def installation_for(self, repo: str) -> int | None:
        found = await self._lookup(repo)
        if found is not None:
            return found
        async with self._discovery:
            found = await self._lookup(repo)
            if found is None and self._clock.now() - self._discovered_at >= DISCOVERY_INTERVAL:
                await self._discover()
                found = await self._lookup(repo)
        if found is None:
            raise MissingInstallation(f"the GitHub App is not installed on {repo}")
        return found

    async def record(self, change: InstallationChange) -> None:
        """Apply an ``installation`` or ``installation_repositories`` event."""
        row = await AppInstallation.get_or_none(
            platform=PLATFORM, installation_id=change.installation_id
        )
        known = set() if row is None else set(row.repositories)
        repos = (known | _lowered(change.added)) - _lowered(change.removed)
        if change.action in ("deleted", "suspend"):
            active = False
        elif change.action in ("created", "unsuspend") or row is None:
            active = True
        else:
            active = row.active
        await self._store(change.installation_id, change.account, repos, active)

    async def _store(
        self, installation_id: int, account: str, repos: set[str], active: bool
    ) -> None:
        await AppInstallation.update_or_create(
            defaults={
                "account": account,
                "repositories": sorted(repos),
                "active": active,
                "updated_at": self._clock.now(),
            },
            platform=PLATFORM,
            installation_id=installation_id,
        )

    async def _lookup(self, repo: str) -> int | None:
        wanted = repo.lower()
        rows = await AppInstallation.filter(platform=PLATFORM, active=True).order_by("id")
        for row in rows:
            if wanted in row.repositories:
                return int(row.installation_id)
        return None

    async def _discover(self) -> None:
        """Ask GitHub for every installation and the repositories each one reaches."""
        self._discovered_at = self._clock.now()
        async for installation in self._tokens.app_api().getiter("/app/installations?per_page=100"):
            installation_id = int(installation["id"])
            api = await self._tokens.installation_api(installation_id)
            repos = {
                str(repo["full_name"]).lower()
                async for repo in api.getiter(
                    "/installation/repositories?per_page=100", iterable_key="repositories"
                )
            }
            account = str((installation.get("account") or {}).get("login", ""))
            await self._store(installation_id, account, repos, active=True)


def _lowered(names: tuple[str, ...]) -> set[str]:
    return {name.lower() for name in names}
