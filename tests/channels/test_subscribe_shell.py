"""The channel commands through the shell front door: the whole pipeline, rendered text out.

Each shell user has one channel, the same in every session; ``echo`` is a test command
that prints the target it received, to show a short target resolving against the
channel's default repository.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.app import builtin_commands
from bot.config import Config, PermissionGrant, PermissionsSettings
from bot.context import Context, Services
from bot.messages import Field, Level, Platform, Reply, Target
from bot.pipeline.assembly import build_pipeline
from bot.router import Command
from bot.store.database import Database
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.fakes.clock import FakeClock, utc_minute


@dataclass(frozen=True, slots=True)
class EchoArgs:
    target: Target | None = field(default=None, metadata={"help": "a target"})


async def echo(ctx: Context, _args: EchoArgs) -> Reply:
    return Reply(title="echo", fields=(Field("target", str(ctx.target)),))


ECHO = Command(name="echo", summary="Show the target.", handler=echo, args=EchoArgs)


def shell(database: Database, output: io.StringIO, clock: FakeClock, *, user: str) -> ShellSession:
    writer = PermissionGrant(level=Level.WRITE, platform="shell", users=("operator",))
    connector = ShellConnector(output)
    pipeline = build_pipeline(
        Config(permissions=PermissionsSettings(grants=(writer,))),
        database,
        commands=[*builtin_commands(), ECHO],
        connectors={Platform.SHELL: connector},
        services=Services(clock=clock, started_at=clock.now(), version="2.0.0"),
        log=logging.getLogger("tests.subscribe_shell"),
    )
    return ShellSession(pipeline, connector, user=user, reply_timeout=10.0)


async def test_subscribe_then_list_then_unsubscribe(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock()
    session = shell(database, output, clock, user="operator")
    said_at: dict[str, datetime] = {}
    for line in (
        "subscriptions",
        "subscribe acme/web",
        "subscribe acme/api runs",
        "subscriptions",
        "unsubscribe acme/web",
        "subscriptions",
        "subscribe",
    ):
        said_at.setdefault(line, clock.now())
        await session.run_line(line)
        clock.advance(60)
    web = utc_minute(said_at["subscribe acme/web"])
    api = utc_minute(said_at["subscribe acme/api runs"])

    assert output.getvalue() == (
        "This channel has no subscriptions\n"
        "Say `subscribe OWNER/REPO` to get a repository's run results and alerts here.\n"
        "\n"
        "Subscribed to acme/web\n"
        "This channel gets run results and alerts for acme/web.\n"
        "Say `unsubscribe acme/web` to stop.\n"
        "\n"
        "Subscribed to acme/api\n"
        "This channel gets run results for acme/api.\n"
        "Say `unsubscribe acme/api` to stop.\n"
        "\n"
        "This channel's subscriptions\n"
        "repo      topics  since                 by\n"
        f"acme/api  runs    {api}  operator\n"
        f"acme/web  all     {web}  operator\n"
        "\n"
        "Unsubscribed from acme/web\n"
        "This channel no longer gets run results or alerts for acme/web.\n"
        "\n"
        "This channel's subscriptions\n"
        "repo      topics  since                 by\n"
        f"acme/api  runs    {api}  operator\n"
        "\n"
        "Wrong arguments for `subscribe`\n"
        "Missing OWNER/REPO.\n"
        "Usage: subscribe OWNER/REPO [runs|alerts|all]\n"
        "Examples:\n"
        "  subscribe acme/web\n"
        "  subscribe acme/web runs\n"
    )


async def test_use_makes_short_targets_mean_the_default_repository(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock()
    session = shell(database, output, clock, user="operator")
    for line in ("echo #12", "use acme/web", "echo #12", "echo", "use --clear", "echo #12"):
        await session.run_line(line)

    needs = (
        "Wrong arguments for `echo`\n"
        "`#12` needs a repository: say `owner/repo#12`, "
        "or set this channel's default with `use OWNER/REPO`.\n"
        "Usage: echo [TARGET]\n"
    )
    assert output.getvalue() == (
        f"{needs}"
        "\n"
        "Default repository: acme/web\n"
        "`status #12` in this channel now means acme/web#12.\n"
        "\n"
        "echo\n"
        "target: github:acme/web#12\n"
        "\n"
        "echo\n"
        "target: None\n"
        "\n"
        "Default repository cleared\n"
        "This channel no longer has a default repository (it was acme/web): name the "
        "repository, as in `status acme/web#12`, instead of `status #12`.\n"
        "\n"
        f"{needs}"
    )


async def test_a_reader_is_refused_setting_the_default(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock()
    session = shell(database, output, clock, user="visitor")
    for line in ("use acme/web", "use", "subscribe acme/web"):
        await session.run_line(line)

    assert output.getvalue() == (
        "Permission denied\n"
        "Setting this channel's default repository needs write access; you have read.\n"
        "\n"
        "This channel has no default repository\n"
        "Say `use OWNER/REPO` to set one; then `status #12` here means OWNER/REPO#12.\n"
        "\n"
        "Permission denied\n"
        "`subscribe` needs write access; you have read.\n"
    )
