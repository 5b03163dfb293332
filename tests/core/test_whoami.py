"""``whoami``, through the real router: the account, the level found where it was asked,
and what that level allows."""

from __future__ import annotations

import logging

from bot.app import builtin_commands
from bot.channels.store import ChannelDefaults
from bot.config import PermissionGrant, PermissionsSettings
from bot.context import Services
from bot.messages import Field, Level, Platform, Reply, Status, Target, TargetKind
from bot.permissions import ConfigAuthorizer
from bot.router import Outcome, Router
from bot.store.database import Database
from bot.targets import TargetResolver
from tests.fakes.clock import FakeClock
from tests.transcripts import RouterDoor, Transcript

# W1 writes on acme/web only; everyone else reads
WEB_WRITER = PermissionGrant(
    level=Level.WRITE, platform="slack", users=("W1",), repos=("acme/web",)
)
READ_COMMANDS = (
    "help, ping, secrets audit, secrets expiring, secrets usage, status, subscriptions, use, whoami"
)
WRITE_COMMANDS = (
    "help, ping, rescan, restart, secrets ack, secrets audit, secrets expiring, "
    "secrets snooze, secrets track, secrets untrack, secrets usage, status, subscribe, "
    "subscriptions, unsubscribe, update, use, whoami"
)


def chat() -> Transcript[Outcome]:
    clock = FakeClock()
    router = Router(
        builtin_commands(),
        authorizer=ConfigAuthorizer(PermissionsSettings(grants=(WEB_WRITER,))),
        services=Services(clock=clock, started_at=clock.now(), version="1"),
        handler_timeout=10.0,
        log=logging.getLogger("tests.whoami"),
        resolver=TargetResolver(ChannelDefaults()),
    )
    return Transcript(RouterDoor(router, clock), clock, user="W1")


def answer(name: str, account: str, level: str, allowed: str) -> Reply:
    return Reply(
        title=f"You are {name}",
        status=Status.INFO,
        fields=(Field("account", account), Field("level", level), Field("may run", allowed)),
    )


async def test_whoami_names_the_account_and_the_level_where_it_was_asked(
    database: Database,
) -> None:
    transcript = chat()

    assert await transcript.reply("whoami acme/web") == answer(
        "w1-name", "slack:W1", "write on acme/web", WRITE_COMMANDS
    )
    assert await transcript.reply("whoami acme/api") == answer(
        "w1-name", "slack:W1", "read on acme/api", READ_COMMANDS
    )
    assert await transcript.reply("whoami") == answer(
        "w1-name", "slack:W1", "read here", READ_COMMANDS
    )
    # in a pull request's thread, the repository in view is the thread's
    thread = Target("acme/web", TargetKind.PULL_REQUEST, 12)
    assert await transcript.reply("whoami", thread=thread) == answer(
        "w1-name", "slack:W1", "write on acme/web", WRITE_COMMANDS
    )
    assert await transcript.reply("whoami acme/web", user="U9", platform=Platform.DISCORD) == (
        answer("u9-name", "discord:U9", "read on acme/web", READ_COMMANDS)
    )
