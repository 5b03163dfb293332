"""GitLab users' levels from their access level on the project.

The level comes from ``GET /projects/:id/members/all/:user_id`` (direct and inherited
membership): maintainer (40) and owner (50) → admin; developer (30) → write; reporter (20),
guest (10), minimal access (5) and no access (0) → read. A user who is not a member (404)
has read; so has a membership that is not ``active`` (awaiting approval, say). Answers are
cached per (project, user) for ``ttl``; the cache is pruned of expired entries when it
grows large.

A lookup answered with a rate limit (429, a rate-limited 403, or the shared rate gate
closed for reads) is asked again after the wait GitLab names, while the waits add up to
no more than ``budget`` seconds, at most ``MAX_LOOKUPS`` times; when it still fails, or
GitLab answers 5xx or cannot be reached, it raises ``bot.permissions.PermissionUnavailable``
with the reason, so the user is told that the permission could not be checked.

Invariants: any other failed lookup raises (the combined authorizer then grants nothing
beyond the configuration: it fails closed) and is not cached; only GitLab actors on GitLab
targets are looked up, by their numeric user id; anything else gets ``read``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from gidgetlab.exceptions import HTTPException

from bot.clock import Clock
from bot.messages import Actor, Forge, Level, Platform, Target
from bot.permissions import PermissionUnavailable
from connectors.gitlab.api import GitLabApi, failed_response_headers, project_ref
from connectors.gitlab.errors import rate_limit_wait
from connectors.rate_limits import ask_through_limits

CACHE_PRUNE_AT = 10_000
MAX_LOOKUPS = 4
DEFAULT_BUDGET = 15.0
DEVELOPER = 30
MAINTAINER = 40


def level_of(access_level: int) -> Level:
    """The bot's level for a GitLab access level."""
    if access_level >= MAINTAINER:
        return Level.ADMIN
    if access_level >= DEVELOPER:
        return Level.WRITE
    return Level.READ


class GitLabAuthorizer:
    def __init__(
        self,
        api: GitLabApi,
        clock: Clock,
        ttl: timedelta,
        *,
        prune_at: int = CACHE_PRUNE_AT,
        budget: float = DEFAULT_BUDGET,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api = api
        self._clock = clock
        self._ttl = ttl
        self._prune_at = prune_at
        self._budget = budget
        self._sleep = sleep
        self._cache: dict[tuple[str, str], tuple[datetime, Level]] = {}

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        if actor.platform is not Platform.GITLAB or target is None or target.relative:
            return Level.READ
        if target.forge not in (None, Forge.GITLAB) or not actor.id.isdigit():
            return Level.READ
        key = (target.repo.lower(), actor.id)
        now = self._clock.now()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        level = await self._lookup(target.repo, actor.id)
        if len(self._cache) >= self._prune_at:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self._ttl, level)
        return level

    async def _lookup(self, repo: str, user_id: str) -> Level:
        url = f"/projects/{project_ref(repo)}/members/all/{user_id}"
        try:
            member = await self._member(repo, url)
        except HTTPException as exc:
            if int(exc.status_code) == 404:
                return Level.READ
            raise
        if member.get("state", "active") != "active":
            return Level.READ
        return level_of(int(member.get("access_level") or 0))

    async def _member(self, repo: str, url: str) -> Any:
        def wait_of(exc: Exception) -> float | None:
            now = self._clock.now().timestamp()
            return rate_limit_wait(exc, now, failed_response_headers(exc))

        try:
            return await ask_through_limits(
                lambda: self._api.getitem(url),
                wait_of=wait_of,
                budget=self._budget,
                max_asks=MAX_LOOKUPS,
                sleep=self._sleep,
                give_up=lambda _, wait: PermissionUnavailable(repo, "GitLab rate limit", wait),
            )
        except HTTPException as exc:
            if int(exc.status_code) >= 500:
                reason = f"GitLab answered {int(exc.status_code)}"
                raise PermissionUnavailable(repo, reason) from exc
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"GitLab could not be reached ({type(exc).__name__})"
            raise PermissionUnavailable(repo, reason) from exc
