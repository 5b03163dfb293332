"""Transcripts of subscribe, unsubscribe, subscriptions and use, through the router.

The router is the real one with the real resolver and stores (SQLite and PostgreSQL);
``echo`` and ``poke`` are small test commands that show which target a command received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from bot.app import builtin_commands
from bot.channels.store import ChannelDefaults, Subscriptions
from bot.config import PermissionGrant, PermissionsSettings
from bot.context import Context, Services
from bot.messages import (
    Field,
    Level,
    Platform,
    Reply,
    ReplyTarget,
    Status,
    Table,
    Target,
    TargetKind,
)
from bot.permissions import ConfigAuthorizer
from bot.router import Command, Outcome, Router
from bot.store.database import Database
from bot.targets import TargetResolver
from tests.fakes.clock import FakeClock, utc_minute
from tests.transcripts import RouterDoor, Transcript


@dataclass(frozen=True, slots=True)
class EchoArgs:
    target: Target | None = field(default=None, metadata={"help": "a target"})


async def echo(ctx: Context, args: EchoArgs) -> Reply:
    return Reply(
        title="echo",
        fields=(Field("target", str(ctx.target)), Field("argument", str(args.target))),
    )


ECHO = Command(name="echo", summary="Show the target.", handler=echo, args=EchoArgs)
POKE = Command(
    name="poke", summary="A write command.", handler=echo, args=EchoArgs, level=Level.WRITE
)

WRITERS = PermissionGrant(level=Level.WRITE, platform="*", users=("W1", "W2"))
SUBSCRIBE_USAGE = (
    Field("Usage", "subscribe OWNER/REPO [runs|alerts|all]"),
    Field("Examples", "subscribe acme/web\nsubscribe acme/web runs"),
)
USE_USAGE = (
    Field("Usage", "use [OWNER/REPO] [--clear]"),
    Field("Examples", "use\nuse acme/web\nuse --clear"),
)


def router_chat(grants: tuple[PermissionGrant, ...] = (WRITERS,)) -> Transcript[Outcome]:
    """The real router with a clock; W1 speaks in Slack channel C1 unless told otherwise."""
    clock = FakeClock()
    router = Router(
        [*builtin_commands(), ECHO, POKE],
        authorizer=ConfigAuthorizer(PermissionsSettings(grants=grants)),
        services=Services(clock=clock, started_at=clock.now(), version="1"),
        handler_timeout=10.0,
        log=logging.getLogger("tests.subscribe"),
        resolver=TargetResolver(ChannelDefaults()),
    )
    return Transcript(RouterDoor(router, clock), clock, user="W1")


async def test_subscribe_list_change_and_unsubscribe(database: Database) -> None:
    chat = router_chat()
    first = chat.clock.now()

    assert await chat.reply("subscribe Acme/Web") == Reply(
        title="Subscribed to acme/web",
        status=Status.OK,
        paragraphs=(
            "This channel gets run results and alerts for acme/web.",
            "Say `unsubscribe acme/web` to stop.",
        ),
    )
    chat.clock.advance(3600)
    later = chat.clock.now()
    assert await chat.reply("subscribe acme/api runs", user="W2") == Reply(
        title="Subscribed to acme/api",
        status=Status.OK,
        paragraphs=(
            "This channel gets run results for acme/api.",
            "Say `unsubscribe acme/api` to stop.",
        ),
    )
    assert await chat.reply("subscribe acme/web alerts", user="W2") == Reply(
        title="Subscription to acme/web changed",
        status=Status.OK,
        paragraphs=(
            "This channel now gets alerts for acme/web, instead of run results and alerts.",
            "Say `unsubscribe acme/web` to stop.",
        ),
    )
    assert await chat.reply("subscribe acme/web ALERTS") == Reply(
        title="Already subscribed to acme/web",
        paragraphs=(
            "This channel already gets alerts for acme/web.",
            "Say `unsubscribe acme/web` to stop.",
        ),
    )
    assert await chat.reply("subscriptions", user="R1") == Reply(
        title="This channel's subscriptions",
        table=Table(
            headers=("repo", "topics", "since", "by"),
            rows=(
                ("acme/api", "runs", utc_minute(later), "w2-name"),
                ("acme/web", "alerts", utc_minute(first), "w1-name"),
            ),
        ),
    )
    assert await chat.reply("unsubscribe ACME/web") == Reply(
        title="Unsubscribed from acme/web",
        status=Status.OK,
        paragraphs=("This channel no longer gets run results or alerts for acme/web.",),
    )
    assert await chat.reply("unsubscribe acme/web") == Reply(
        title="Not subscribed to acme/web",
        paragraphs=(
            "This channel is not subscribed to acme/web.",
            "Say `subscriptions` to see what it is subscribed to.",
        ),
    )
    assert [
        s.repo for s in await Subscriptions().of_channel(ReplyTarget(Platform.SLACK, "C1"))
    ] == ["acme/api"]


async def test_a_channel_without_subscriptions_gets_a_hint(database: Database) -> None:
    chat = router_chat()
    await chat.say("subscribe acme/web", channel="C2")

    assert await chat.reply("subscriptions") == Reply(
        title="This channel has no subscriptions",
        paragraphs=(
            "Say `subscribe OWNER/REPO` to get a repository's run results and alerts here.",
        ),
    )


async def test_a_reader_may_list_but_not_subscribe(database: Database) -> None:
    chat = router_chat()
    outcome = await chat.say("subscribe acme/web", user="R1")

    assert (outcome.result, outcome.reply) == (
        "denied",
        Reply(
            title="Permission denied",
            status=Status.ERROR,
            paragraphs=("`subscribe` needs write access; you have read.",),
        ),
    )
    assert await Subscriptions().of_channel(ReplyTarget(Platform.SLACK, "C1")) == []


BAD_SUBSCRIBE = [
    ("subscribe", "Missing OWNER/REPO."),
    (
        "subscribe acme/web everything",
        "What to subscribe to is runs, alerts or all, not 'everything'.",
    ),
    (
        "subscribe acme/web#12",
        "OWNER/REPO must be a repository, not the pull request acme/web#12: "
        "say `subscribe acme/web`.",
    ),
    (
        "subscribe group/project!3",
        "OWNER/REPO must be a repository, not the merge request group/project!3: "
        "say `subscribe group/project`.",
    ),
    (
        "subscribe #12",
        "`#12` needs a repository: say `owner/repo#12`, "
        "or set this channel's default with `use OWNER/REPO`.",
    ),
    ("subscribe acme/web runs more", "Unexpected argument(s): more."),
]


@pytest.mark.parametrize(("text", "problem"), BAD_SUBSCRIBE)
async def test_bad_subscribe_arguments_get_the_usage(
    database: Database, text: str, problem: str
) -> None:
    outcome = await router_chat().say(text)

    assert (outcome.result, outcome.reply) == (
        "usage",
        Reply(
            title="Wrong arguments for `subscribe`",
            status=Status.ERROR,
            paragraphs=(problem,),
            fields=SUBSCRIBE_USAGE,
        ),
    )
    assert await Subscriptions().of_channel(ReplyTarget(Platform.SLACK, "C1")) == []


THREAD_REFUSALS = [
    (
        "subscribe acme/web",
        "`subscribe` works in chat channels, and a pull or merge request thread is not one: "
        "run it in the chat channel that should get the messages.",
    ),
    (
        "unsubscribe acme/web",
        "`unsubscribe` works in chat channels, and a pull or merge request thread is not one: "
        "run it in the chat channel that gets the messages.",
    ),
    (
        "subscriptions",
        "`subscriptions` works in chat channels, and a pull or merge request thread is not one: "
        "run it in a chat channel to see what that channel gets.",
    ),
    (
        "use acme/api",
        "`use` works in chat channels, and a pull or merge request thread is not one: "
        "here a short target such as `#12` already means one in this thread's repository.",
    ),
]


@pytest.mark.parametrize(("text", "why"), THREAD_REFUSALS)
async def test_a_forge_thread_is_not_a_channel(database: Database, text: str, why: str) -> None:
    thread = Target("acme/web", TargetKind.PULL_REQUEST, 12)
    outcome = await router_chat().say(
        text, platform=Platform.GITHUB, channel="acme/web", thread=thread
    )

    command = text.split()[0]
    assert (outcome.result, outcome.reply) == (
        "error",
        Reply(title=f"`{command}` failed", status=Status.ERROR, paragraphs=(why,)),
    )
    assert await Subscriptions().of_channel(ReplyTarget(Platform.GITHUB, "acme/web")) == []


async def test_use_sets_the_default_that_short_targets_resolve_against(
    database: Database,
) -> None:
    chat = router_chat()

    assert await chat.reply("use", user="R1") == Reply(
        title="This channel has no default repository",
        paragraphs=(
            "Say `use OWNER/REPO` to set one; then `status #12` here means OWNER/REPO#12.",
        ),
    )
    set_at = chat.clock.now()
    assert await chat.reply("use Acme/Web") == Reply(
        title="Default repository: acme/web",
        status=Status.OK,
        paragraphs=("`status #12` in this channel now means acme/web#12.",),
    )
    assert await chat.reply("echo #12", user="R1") == Reply(
        title="echo",
        fields=(Field("target", "github:acme/web#12"), Field("argument", "github:acme/web#12")),
    )
    assert await chat.reply("echo other/api#3", user="R1") == Reply(
        title="echo", fields=(Field("target", "other/api#3"), Field("argument", "other/api#3"))
    )
    assert (await chat.say("echo #12", channel="C2")).result == "usage"  # only in C1

    chat.clock.advance(90)
    assert await chat.reply("use", user="R1") == Reply(
        title="Default repository: acme/web",
        paragraphs=(
            "`status #12` here means acme/web#12.",
            f"Set by w1-name on {utc_minute(set_at)}.",
            "Say `use OWNER/REPO` to change it, or `use --clear` to remove it.",
        ),
    )


async def test_a_gitlab_default_reads_bang_as_merge_request_and_hash_as_issue(
    database: Database,
) -> None:
    chat = router_chat()
    await chat.say("use acme/web")

    assert await chat.reply("use gitlab:Group/Project", user="W2") == Reply(
        title="Default repository: group/project",
        status=Status.OK,
        paragraphs=(
            "`status !12` in this channel now means group/project!12.",
            "It replaces acme/web.",
        ),
    )
    assert [(await chat.reply(f"echo {short}")).fields[0] for short in ("!3", "#4")] == [
        Field("target", "gitlab:group/project!3"),
        Field("target", "gitlab:group/project#4"),
    ]


async def test_use_clear_removes_the_default(database: Database) -> None:
    chat = router_chat()
    await chat.say("use acme/web")

    assert await chat.reply("use --clear") == Reply(
        title="Default repository cleared",
        status=Status.OK,
        paragraphs=(
            "This channel no longer has a default repository (it was acme/web): name the "
            "repository, as in `status acme/web#12`, instead of `status #12`.",
        ),
    )
    assert await chat.reply("use --clear") == Reply(
        title="This channel has no default repository",
        paragraphs=("There was nothing to clear.",),
    )
    assert (await chat.say("echo #12")).result == "usage"


async def test_a_reader_may_see_but_not_set_or_clear_the_default(database: Database) -> None:
    chat = router_chat()
    await chat.say("use acme/web")

    set_it = await chat.say("use other/api", user="R1")
    clear_it = await chat.say("use --clear", user="R1")

    assert [(o.result, o.reply) for o in (set_it, clear_it)] == [
        (
            "denied",
            Reply(
                title="Permission denied",
                status=Status.ERROR,
                paragraphs=(
                    f"{doing} this channel's default repository needs write access; you have read.",
                ),
            ),
        )
        for doing in ("Setting", "Clearing")
    ]
    default = await ChannelDefaults().get(Platform.SLACK, "C1")
    assert default is not None
    assert default.repo == "acme/web"


BAD_USE = [
    ("use acme/web --clear", "Give OWNER/REPO or --clear, not both."),
    (
        "use acme/web#3",
        "OWNER/REPO must be a repository, not the pull request acme/web#3: say `use acme/web`.",
    ),
    ("use --clear=yes", "--clear takes no value."),
]


@pytest.mark.parametrize(("text", "problem"), BAD_USE)
async def test_bad_use_arguments_get_the_usage(database: Database, text: str, problem: str) -> None:
    chat = router_chat()

    assert await chat.reply(text) == Reply(
        title="Wrong arguments for `use`",
        status=Status.ERROR,
        paragraphs=(problem,),
        fields=USE_USAGE,
    )
    assert await ChannelDefaults().get(Platform.SLACK, "C1") is None


async def test_the_permission_check_sees_the_repository_of_a_short_target(
    database: Database,
) -> None:
    scoped = PermissionGrant(level=Level.WRITE, platform="*", users=("S1",), repos=("acme/*",))
    chat = router_chat(grants=(WRITERS, scoped))
    await chat.say("use acme/web", channel="C1")
    await chat.say("use other/web", channel="C2")

    inside = await chat.say("poke #3", user="S1", channel="C1")
    outside = await chat.say("poke #3", user="S1", channel="C2")

    assert (inside.result, inside.reply.fields[0]) == ("ok", Field("target", "github:acme/web#3"))
    assert (outside.result, outside.audit.level) == ("denied", "read")


async def test_a_short_target_in_a_forge_thread_ignores_the_channel_default(
    database: Database,
) -> None:
    chat = router_chat()
    await chat.say("use other/api", channel="C1")
    thread = Target("acme/web", TargetKind.PULL_REQUEST, 12)

    assert await chat.reply("echo #13", channel="C1", thread=thread) == Reply(
        title="echo", fields=(Field("target", "acme/web#13"), Field("argument", "acme/web#13"))
    )
