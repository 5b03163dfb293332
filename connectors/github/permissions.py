"""GitHub users' levels from their permission on the repository.

The level comes from ``GET /repos/{owner}/{repo}/collaborators/{username}/permission``
(its ``role_name``): admin → admin; maintain and write → write; triage, read and none →
read. ``author_association`` is never used: it describes a relationship, not a
permission. Answers are cached per (repository, user) for ``ttl``.

A lookup answered with a rate limit (a 429, a secondary-limit 403, or the shared rate
gate closed for reads) is asked again after the wait GitHub names, as long as the waits
add up to no more than ``budget`` seconds (a part of the command's time budget), at most
``MAX_LOOKUPS`` times. When it still fails, or GitHub is down or out of reach, the lookup
raises ``bot.permissions.PermissionUnavailable`` with the reason, so the user is told that
the permission could not be checked rather than that they lack it.

Invariants: a failed lookup raises (the combined authorizer then grants nothing beyond
the configuration: it fails closed) and is not cached; only GitHub actors on GitHub
targets are looked up; anything else gets ``read``; waiting uses the injected sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp
import gidgethub

from bot.clock import Clock
from bot.messages import Actor, Forge, Level, Platform, Target
from bot.permissions import PermissionUnavailable
from connectors.github.api import GitHubClient
from connectors.github.errors import rate_limit_wait
from connectors.rate_limits import ask_through_limits

CACHE_PRUNE_AT = 10_000
MAX_LOOKUPS = 4
DEFAULT_BUDGET = 15.0
ROLE_LEVELS = {
    "admin": Level.ADMIN,
    "maintain": Level.WRITE,
    "write": Level.WRITE,
    "triage": Level.READ,
    "read": Level.READ,
    "none": Level.READ,
}


class GitHubAuthorizer:
    def __init__(
        self,
        client: GitHubClient,
        clock: Clock,
        ttl: timedelta,
        *,
        budget: float = DEFAULT_BUDGET,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._budget = budget
        self._sleep = sleep
        self._cache: dict[tuple[str, str], tuple[datetime, Level]] = {}

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        if actor.platform is not Platform.GITHUB or target is None:
            return Level.READ
        if target.forge not in (None, Forge.GITHUB):
            return Level.READ
        key = (target.repo.lower(), actor.id.lower())
        now = self._clock.now()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        role = await self._lookup(target.repo, actor.id)
        level = ROLE_LEVELS.get(role, Level.READ)
        if len(self._cache) >= CACHE_PRUNE_AT:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self._ttl, level)
        return level

    async def _lookup(self, repo: str, login: str) -> str:
        try:
            return await ask_through_limits(
                lambda: self._client.permission(repo, login),
                wait_of=lambda exc: rate_limit_wait(exc, self._clock.now().timestamp()),
                budget=self._budget,
                max_asks=MAX_LOOKUPS,
                sleep=self._sleep,
                give_up=lambda _, wait: PermissionUnavailable(repo, "GitHub rate limit", wait),
            )
        except gidgethub.HTTPException as exc:
            if int(exc.status_code) >= 500:
                reason = f"GitHub answered {int(exc.status_code)}"
                raise PermissionUnavailable(repo, reason) from exc
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"GitHub could not be reached ({type(exc).__name__})"
            raise PermissionUnavailable(repo, reason) from exc
