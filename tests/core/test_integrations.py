"""The integration seam: registry rules and the combined authorizer."""

from __future__ import annotations

import pytest

from bot.config import PermissionGrant, PermissionsSettings
from bot.messages import Actor, Level, Platform, Target, TargetKind
from bot.parts import ScheduledJob
from bot.permissions import ConfigAuthorizer
from bot.platforms import CombinedAuthorizer, Registry
from tests.fakes.connector import RecordingConnector

WEB = Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=12)


class FixedAuthorizer:
    def __init__(self, level: Level | None) -> None:
        self.level = level
        self.asked: list[tuple[str, Target | None]] = []

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        self.asked.append((actor.id, target))
        if self.level is None:
            raise ConnectionError("permission lookup failed")
        return self.level


def config_authorizer(*grants: PermissionGrant) -> ConfigAuthorizer:
    return ConfigAuthorizer(PermissionsSettings(grants=grants))


def test_registry_refuses_a_second_connector_authorizer_or_job_of_the_same_name() -> None:
    registry = Registry()
    registry.add_connector(RecordingConnector(Platform.GITHUB))
    registry.add_authorizer(Platform.GITHUB, FixedAuthorizer(Level.READ))

    async def job() -> None:
        return None

    registry.add_job(ScheduledJob(name="redeliver", cron="* * * * *", run=job))

    with pytest.raises(ValueError, match="a connector for github is already registered"):
        registry.add_connector(RecordingConnector(Platform.GITHUB))
    with pytest.raises(ValueError, match="an authorizer for github is already registered"):
        registry.add_authorizer(Platform.GITHUB, FixedAuthorizer(Level.READ))
    with pytest.raises(ValueError, match="a scheduled job named 'redeliver'"):
        registry.add_job(ScheduledJob(name="redeliver", cron="0 * * * *", run=job))


async def test_platform_authorizer_raises_the_configured_level_for_its_own_users() -> None:
    forge = FixedAuthorizer(Level.WRITE)
    authorizer = CombinedAuthorizer(config_authorizer(), {Platform.GITHUB: forge})
    octocat = Actor(platform=Platform.GITHUB, id="octocat", name="octocat")
    slack_user = Actor(platform=Platform.SLACK, id="U1", name="someone")

    assert await authorizer.level_for(octocat, WEB) is Level.WRITE
    assert await authorizer.level_for(slack_user, WEB) is Level.READ
    assert forge.asked == [("octocat", WEB)]


async def test_config_grant_above_the_platform_level_wins() -> None:
    admins = PermissionGrant(level=Level.ADMIN, platform="github", users=("octocat",))
    authorizer = CombinedAuthorizer(
        config_authorizer(admins), {Platform.GITHUB: FixedAuthorizer(Level.READ)}
    )
    octocat = Actor(platform=Platform.GITHUB, id="octocat", name="octocat")

    assert await authorizer.level_for(octocat, WEB) is Level.ADMIN


async def test_failing_platform_authorizer_grants_nothing_beyond_the_config() -> None:
    authorizer = CombinedAuthorizer(config_authorizer(), {Platform.GITHUB: FixedAuthorizer(None)})
    octocat = Actor(platform=Platform.GITHUB, id="octocat", name="octocat")

    assert await authorizer.level_for(octocat, WEB) is Level.READ
