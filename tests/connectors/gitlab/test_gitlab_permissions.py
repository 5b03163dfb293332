"""GitLab users' levels from project access levels: mapping, caching, failing closed, and the
router's denial as a GitLab user sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
import pytest
from gidgetlab.exceptions import GitLabBroken

from bot.messages import Actor, Forge, Level, Platform, Target, TargetKind
from bot.permissions import PermissionUnavailable
from connectors.gitlab.api import GitLabApi
from connectors.gitlab.permissions import GitLabAuthorizer
from connectors.markdown import marker_comment
from tests.connectors.gitlab.test_gitlab_webhook import _sent, bot_notes, invocation_ids
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.waiting import wait_until
from tests.gitlab_stack import MR_IID, PROJECT, gitlab_stack

TOKEN = "glpat-permission-tests"
REPO = "group/project"
MR = Target(repo=REPO, kind=TargetKind.MERGE_REQUEST, number=3, forge=Forge.GITLAB)
MEMBERS = f"/api/v4/projects/{REPO}/members/all/*"


@asynccontextmanager
async def authorizer(
    prune_at: int = 10_000,
) -> AsyncIterator[tuple[FakeGitLab, GitLabAuthorizer, FakeClock]]:
    clock = FakeClock()
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab, aiohttp.ClientSession() as s:
        gitlab.add_project(REPO)
        api = GitLabApi(s, base_url=gitlab.url, token=TOKEN, requester="tests")
        yield gitlab, GitLabAuthorizer(api, clock, timedelta(seconds=60), prune_at=prune_at), clock


def actor(user_id: int, name: str = "someone") -> Actor:
    return Actor(platform=Platform.GITLAB, id=str(user_id), name=name)


@pytest.mark.parametrize(
    ("access_level", "expected"),
    [
        (50, Level.ADMIN),
        (40, Level.ADMIN),
        (30, Level.WRITE),
        (20, Level.READ),
        (10, Level.READ),
        (5, Level.READ),
        (None, Level.READ),  # not a member: GitLab answers 404
    ],
)
async def test_access_levels_map_onto_levels(access_level: int | None, expected: Level) -> None:
    async with authorizer() as (gitlab, authorize, _clock):
        user = gitlab.add_user("bob")
        if access_level is not None:
            gitlab.set_access_level(REPO, user, access_level)

        assert await authorize.level_for(actor(user.id), MR) == expected
        [call] = gitlab.calls_matching("GET", MEMBERS)
        assert (call.path, call.status) == (
            f"/api/v4/projects/group%2Fproject/members/all/{user.id}",
            200 if access_level is not None else 404,
        )


async def test_levels_are_cached_for_the_ttl_then_looked_up_again() -> None:
    async with authorizer() as (gitlab, authorize, clock):
        user = gitlab.add_user("bob")
        gitlab.set_access_level(REPO, user, 30)

        first = await authorize.level_for(actor(user.id), MR)
        gitlab.set_access_level(REPO, user, 40)
        clock.advance(59)
        cached = await authorize.level_for(actor(user.id), MR)
        clock.advance(2)
        fresh = await authorize.level_for(actor(user.id), MR)

        assert (first, cached, fresh) == (Level.WRITE, Level.WRITE, Level.ADMIN)
        assert len(gitlab.calls_matching("GET", MEMBERS)) == 2


async def test_a_failed_lookup_raises_and_is_not_cached() -> None:
    async with authorizer() as (gitlab, authorize, _clock):
        user = gitlab.add_user("bob")
        gitlab.set_access_level(REPO, user, 40)
        gitlab.fail_next(f"* {MEMBERS}", 502)

        with pytest.raises(PermissionUnavailable) as unavailable:
            await authorize.level_for(actor(user.id), MR)
        assert str(unavailable.value) == (
            "could not check the permission on group/project: GitLab answered 502"
        )
        assert isinstance(unavailable.value.__cause__, GitLabBroken)
        assert await authorize.level_for(actor(user.id), MR) == Level.ADMIN


async def test_the_cache_is_pruned_of_expired_entries_when_it_grows() -> None:
    async with authorizer(prune_at=2) as (gitlab, authorize, clock):
        users = [gitlab.add_user(f"user{index}") for index in range(3)]
        for user in users:
            gitlab.set_access_level(REPO, user, 30)

        await authorize.level_for(actor(users[0].id), MR)
        await authorize.level_for(actor(users[1].id), MR)
        clock.advance(61)
        await authorize.level_for(actor(users[2].id), MR)  # prunes the two expired entries
        gitlab.set_access_level(REPO, users[2], 10)
        assert await authorize.level_for(actor(users[2].id), MR) == Level.WRITE  # still cached
        assert len(gitlab.calls_matching("GET", MEMBERS)) == 3


@pytest.mark.parametrize(
    ("who", "target"),
    [
        (Actor(platform=Platform.SLACK, id="U1", name="u"), MR),
        (actor(1), None),
        (
            actor(1),
            Target(repo="acme/web", kind=TargetKind.PULL_REQUEST, number=1, forge=Forge.GITHUB),
        ),
        (actor(1), Target(repo="", kind=TargetKind.MERGE_REQUEST, number=3)),
        (Actor(platform=Platform.GITLAB, id="alice", name="alice"), MR),
    ],
)
async def test_only_gitlab_users_on_gitlab_projects_are_looked_up(
    who: Actor, target: Target | None
) -> None:
    async with authorizer() as (gitlab, authorize, _clock):
        assert await authorize.level_for(who, target) == Level.READ
        assert gitlab.calls == []


def denial(invocation_id: str, command: str, needed: str, have: str) -> str:
    return (
        f"> @&#8203;chatops {command}\n\n❌ **Permission denied**\n\n"
        f"`{command}` needs {needed} access; you have {have}.\n\n"
        f"{marker_comment('reply:' + invocation_id)}"
    )


async def test_a_guest_asking_for_rescan_is_denied_with_the_level_needed(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        guest = stack.gitlab.add_user("guest")
        stack.gitlab.set_access_level(PROJECT, guest, 10)

        response = await stack.deliver(stack.note("@chatops rescan", author=guest))
        assert await response.json() == {"accepted": 1, "duplicates": 0}
        await wait_until(lambda: _sent(2))

        [invocation_id] = await invocation_ids()
        assert bot_notes(stack, f"merge_requests/{MR_IID}") == [
            denial(invocation_id, "rescan", "write", "read")
        ]
        assert stack.gitlab.calls_matching("POST", "*/pipelines") == []


async def test_a_developer_may_run_a_write_command_and_a_failed_lookup_is_reported(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        await stack.deliver(stack.note("@chatops deploy"))  # alice is a developer
        await wait_until(lambda: _sent(2))
        maintainer = stack.gitlab.add_user("maria")
        stack.gitlab.set_access_level(PROJECT, maintainer, 40)
        stack.gitlab.fail_next("* /api/v4/projects/*/members/all/*", 502)
        await stack.deliver(stack.note("@chatops deploy", author=maintainer))
        await wait_until(lambda: _sent(4))

        first, second = await invocation_ids()
        assert bot_notes(stack, f"merge_requests/{MR_IID}") == [
            f"> @&#8203;chatops deploy\n\n✅ **deployed**\n\n{marker_comment('reply:' + first)}",
            "> @&#8203;chatops deploy\n\n❌ **Permission could not be checked**\n\n"
            f"Could not check your permission on {PROJECT}: GitLab answered 502; "
            f"try again later.\n\n{marker_comment('reply:' + second)}",
        ]
