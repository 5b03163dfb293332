"""Resolving short targets (#12, !12) from the thread and the channel's default repository.

The channel defaults are the real store, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from bot.channels.store import ChannelDefaults
from bot.errors import UsageError
from bot.messages import (
    Actor,
    Forge,
    Invocation,
    Platform,
    ReplyTarget,
    Target,
    TargetKind,
)
from bot.parsing import parse_target
from bot.store.database import Database
from bot.targets import TargetResolver
from tests.fakes.clock import FakeClock

PR = TargetKind.PULL_REQUEST
MR = TargetKind.MERGE_REQUEST
ISSUE = TargetKind.ISSUE
GITHUB_THREAD = Target("acme/web", PR, 12, Forge.GITHUB)
GITLAB_THREAD = Target("group/project", MR, 5, Forge.GITLAB)
NEEDS_REPOSITORY = (
    "`#12` needs a repository: say `owner/repo#12`, "
    "or set this channel's default with `use OWNER/REPO`."
)


def asked(
    target: Target | None = None,
    *,
    platform: Platform = Platform.SLACK,
    channel: str = "C1",
) -> Invocation:
    return Invocation(
        id="inv-1",
        platform=platform,
        actor=Actor(platform=platform, id="U1", name="ana"),
        text="status",
        reply_to=ReplyTarget(platform=platform, channel=channel, thread="1700000000.000100"),
        delivery_key="key-1",
        received_at=FakeClock().now(),
        target=target,
    )


async def resolve(text: str | None, invocation: Invocation) -> Target | None:
    resolver = TargetResolver(ChannelDefaults())
    return await resolver.resolve(None if text is None else parse_target(text), invocation)


async def use(repo: str, forge: Forge, *, channel: str = "C1") -> None:
    await ChannelDefaults().set(
        Platform.SLACK, channel, forge, repo, by="ana", now=FakeClock().now()
    )


async def test_full_targets_and_nothing_pass_through(database: Database) -> None:
    await use("acme/web", Forge.GITHUB)
    thread = asked(GITHUB_THREAD)

    assert await resolve("other/api#3", thread) == Target("other/api", PR, 3, None)
    assert await resolve("gitlab:g/p", asked()) == Target("g/p", forge=Forge.GITLAB)
    assert await resolve(None, thread) == GITHUB_THREAD
    assert await resolve(None, asked()) is None  # a channel default is not a target by itself


THREAD_CASES = [
    ("#13", GITHUB_THREAD, Target("acme/web", PR, 13, Forge.GITHUB)),
    ("#13", GITLAB_THREAD, Target("group/project", ISSUE, 13, Forge.GITLAB)),
    ("!13", GITLAB_THREAD, Target("group/project", MR, 13, Forge.GITLAB)),
    ("#13", Target("acme/web", PR, 4, None), Target("acme/web", PR, 13, None)),
    ("!13", Target("g/sub/p", ISSUE, 4, Forge.GITLAB), Target("g/sub/p", MR, 13, Forge.GITLAB)),
]


@pytest.mark.parametrize(("text", "thread", "expected"), THREAD_CASES)
async def test_short_target_in_a_thread_takes_its_repository(
    database: Database, text: str, thread: Target, expected: Target
) -> None:
    await use("other/repo", Forge.GITHUB)  # the thread wins over the channel's default
    assert await resolve(text, asked(thread, platform=Platform.GITHUB)) == expected


async def test_merge_request_in_a_github_thread_is_refused(database: Database) -> None:
    with pytest.raises(UsageError) as caught:
        await resolve("!13", asked(GITHUB_THREAD, platform=Platform.GITHUB))
    assert caught.value.message == (
        '`!13` cannot be read in acme/web: GitHub has no merge requests ("!"); '
        'use "#" for a pull request.'
    )


async def test_short_target_in_a_channel_takes_its_default(database: Database) -> None:
    await use("Acme/Web", Forge.GITHUB)
    await use("group/project", Forge.GITLAB, channel="C2")

    assert await resolve("#12", asked()) == Target("acme/web", PR, 12, Forge.GITHUB)
    assert await resolve("#12", asked(channel="C2")) == Target(
        "group/project", ISSUE, 12, Forge.GITLAB
    )
    assert await resolve("!7", asked(channel="C2")) == Target("group/project", MR, 7, Forge.GITLAB)


async def test_another_channels_default_does_not_apply(database: Database) -> None:
    await use("acme/web", Forge.GITHUB, channel="C2")
    with pytest.raises(UsageError) as in_c1:
        await resolve("#12", asked(channel="C1"))
    with pytest.raises(UsageError) as on_discord:
        await resolve("#12", asked(platform=Platform.DISCORD, channel="C2"))
    assert [in_c1.value.message, on_discord.value.message] == [NEEDS_REPOSITORY] * 2


async def test_merge_request_with_a_github_default_is_refused(database: Database) -> None:
    await use("acme/web", Forge.GITHUB)
    with pytest.raises(UsageError) as caught:
        await resolve("!12", asked())
    assert caught.value.message == (
        '`!12` cannot be read in acme/web: GitHub has no merge requests ("!"); '
        'use "#" for a pull request.'
    )


async def test_merge_request_without_a_repository_suggests_the_gitlab_form(
    database: Database,
) -> None:
    with pytest.raises(UsageError) as caught:
        await resolve("!12", asked())
    assert caught.value.message == (
        "`!12` needs a repository: say `group/project!12`, "
        "or set this channel's default with `use OWNER/REPO`."
    )


async def test_a_chat_thread_about_a_short_target_uses_the_channel_default(
    database: Database,
) -> None:
    about_12 = asked(parse_target("#12"))  # a Slack thread whose subject was typed as "#12"

    assert await resolve(None, about_12) is None  # no default: as if it had no subject
    assert await resolve("acme/web#3", about_12) == Target("acme/web", PR, 3, None)
    with pytest.raises(UsageError):
        await resolve("#13", about_12)

    await use("acme/web", Forge.GITHUB)
    assert await resolve(None, about_12) == Target("acme/web", PR, 12, Forge.GITHUB)
    assert await resolve("#13", about_12) == Target("acme/web", PR, 13, Forge.GITHUB)


async def test_without_channel_defaults_only_threads_place_short_targets() -> None:
    resolver = TargetResolver()  # no store: no database needed

    assert await resolver.resolve(parse_target("#13"), asked(GITHUB_THREAD)) == Target(
        "acme/web", PR, 13, Forge.GITHUB
    )
    assert await resolver.resolve(None, asked(parse_target("#12"))) is None
    with pytest.raises(UsageError) as caught:
        await resolver.resolve(parse_target("#12"), asked())
    assert caught.value.message == "`#12` needs a repository: say `owner/repo#12`."
