"""Who may run what: the authorizer the router asks for a user's level.

``Authorizer`` is the one seam for every command path (a lesson from Prow's
test-infra#13740, where two paths used two different trust checks). The
config-based authorizer grants levels to platform user ids and groups (Slack
user groups, Discord roles), optionally per repository pattern; anyone not
granted anything has the configured default, ``read`` unless changed. Forge
connectors will supply authorizers backed by the forge's own permissions.

A platform authorizer that cannot find out (its API is rate limited, down or out of
reach, even after waiting inside the command's time budget) raises
``PermissionUnavailable`` with the reason, instead of answering with a level it does not
know: the user is then told that the permission could not be checked, not that they
lack it.

Invariants: the highest matching grant wins; a grant scoped to repositories
applies only when the command has a target in one of them; errors fail closed (a
``PermissionUnavailable`` grants nothing beyond the configuration either).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Protocol

from bot.config import PermissionGrant, PermissionsSettings
from bot.messages import Actor, Level, Target


class PermissionUnavailable(Exception):
    """The platform could not say what ``repo`` allows the user: ``reason`` says why.

    ``retry_after`` is when asking again may help (None if unknown); ``granted`` is what
    the configuration grants anyway (set by whoever combines authorizers), so a command
    that needs no more still runs.
    """

    def __init__(
        self,
        repo: str,
        reason: str,
        retry_after: float | None = None,
        granted: Level = Level.READ,
    ) -> None:
        super().__init__(f"could not check the permission on {repo}: {reason}")
        self.repo = repo
        self.reason = reason
        self.retry_after = retry_after
        self.granted = granted

    def with_granted(self, granted: Level) -> PermissionUnavailable:
        return PermissionUnavailable(self.repo, self.reason, self.retry_after, granted)

    @property
    def message(self) -> str:
        """What the user reads: what failed, why, and when to try again."""
        when = (
            "try again later"
            if self.retry_after is None
            else f"try again in {max(1, math.ceil(self.retry_after))} s"
        )
        return f"Could not check your permission on {self.repo}: {self.reason}; {when}."


class Authorizer(Protocol):
    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        """The level ``actor`` has for ``target`` (or in general, when None); raises
        ``PermissionUnavailable`` when the platform cannot say."""
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
