"""Slack user groups for permission grants: ``groups = ["S0123ABCD"]`` in the config.

Slash commands and events do not say which user groups the sender is in, so the router's
level check asks ``SlackGroupAuthorizer`` (registered as the Slack platform authorizer):
it looks the user's groups up with ``usergroups.list`` (``include_users``, one call for the
whole workspace, remembered for ``cache_seconds``) and applies the configured grants with
those groups. This happens in the worker, after the event was acked.

Invariants: without any grant that names Slack groups, no API call is made (and the
``usergroups:read`` scope is not needed); a failed lookup raises, which the combined
authorizer treats as granting nothing beyond the config (fail closed); concurrent checks
share one lookup.
"""

from __future__ import annotations

import asyncio
import dataclasses

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.config import PermissionsSettings
from bot.messages import Actor, Level, Platform, Target
from bot.permissions import ConfigAuthorizer


class SlackGroupAuthorizer:
    def __init__(
        self,
        web: AsyncWebClient,
        permissions: PermissionsSettings,
        *,
        clock: Clock,
        cache_seconds: float,
    ) -> None:
        self._web = web
        self._config = ConfigAuthorizer(permissions)
        self._needed = any(
            grant.groups and grant.platform in ("*", Platform.SLACK.value)
            for grant in permissions.grants
        )
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._members: dict[str, tuple[str, ...]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        if not self._needed:
            return await self._config.level_for(actor, target)
        groups = await self.groups_of(actor.id)
        merged = tuple(sorted({*actor.groups, *groups}))
        return await self._config.level_for(dataclasses.replace(actor, groups=merged), target)

    async def groups_of(self, user: str) -> tuple[str, ...]:
        async with self._lock:
            now = self._clock.monotonic()
            if self._fetched_at is None or now - self._fetched_at >= self._cache_seconds:
                self._members = await self._fetch()
                self._fetched_at = now
            return self._members.get(user, ())

    async def _fetch(self) -> dict[str, tuple[str, ...]]:
        response = await self._web.api_call(
            "usergroups.list", http_verb="GET", params={"include_users": "true"}
        )
        members: dict[str, list[str]] = {}
        for group in response.get("usergroups") or ():
            for user in group.get("users") or ():
                members.setdefault(str(user), []).append(str(group["id"]))
        return {user: tuple(sorted(ids)) for user, ids in members.items()}
