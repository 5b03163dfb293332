"""GitHub users' levels from their permission on the repository.

The level comes from ``GET /repos/{owner}/{repo}/collaborators/{username}/permission``
(its ``role_name``): admin → admin; maintain and write → write; triage, read and none →
read. ``author_association`` is never used: it describes a relationship, not a
permission. Answers are cached per (repository, user) for ``ttl``.

Invariants: a failed lookup raises (the combined authorizer then grants nothing beyond
the configuration: it fails closed) and is not cached; only GitHub actors on GitHub
targets are looked up; anything else gets ``read``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.messages import Actor, Forge, Level, Platform, Target
from connectors.github.client import GitHubClient

CACHE_PRUNE_AT = 10_000
ROLE_LEVELS = {
    "admin": Level.ADMIN,
    "maintain": Level.WRITE,
    "write": Level.WRITE,
    "triage": Level.READ,
    "read": Level.READ,
    "none": Level.READ,
}


class GitHubAuthorizer:
    def __init__(self, client: GitHubClient, clock: Clock, ttl: timedelta) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
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
        role = await self._client.permission(target.repo, actor.id)
        level = ROLE_LEVELS.get(role, Level.READ)
        if len(self._cache) >= CACHE_PRUNE_AT:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self._ttl, level)
        return level
