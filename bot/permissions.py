"""Who may run what: the authorizer the router asks for a user's level.

``Authorizer`` is the one seam for every command path (a lesson from Prow's
test-infra#13740, where two paths used two different trust checks). The
config-based authorizer grants levels to platform user ids and groups (Slack
user groups, Discord roles), optionally per repository pattern; anyone not
granted anything has the configured default, ``read`` unless changed. Forge
connectors will supply authorizers backed by the forge's own permissions.

Invariants: the highest matching grant wins; a grant scoped to repositories
applies only when the command has a target in one of them; errors fail closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Protocol

from bot.config import PermissionGrant, PermissionsSettings
from bot.messages import Actor, Level, Target


class Authorizer(Protocol):
    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        """The level ``actor`` has for ``target`` (or in general, when None)."""
        ...


class ConfigAuthorizer:
    def __init__(self, settings: PermissionsSettings) -> None:
        self._default = settings.default_level
        self._grants: Sequence[PermissionGrant] = settings.grants

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        levels = [grant.level for grant in self._grants if _matches(grant, actor, target)]
        return max([self._default, *levels])


def _matches(grant: PermissionGrant, actor: Actor, target: Target | None) -> bool:
    if grant.platform not in ("*", actor.platform.value):
        return False
    is_member = "*" in grant.users or actor.id in grant.users
    in_group = bool(set(grant.groups) & set(actor.groups))
    if not (is_member or in_group):
        return False
    if "*" in grant.repos:
        return True
    return target is not None and any(
        fnmatchcase(target.repo.lower(), pattern.lower()) for pattern in grant.repos
    )
