"""Transcripts through the shell front door, in process, with a fake clock."""

from __future__ import annotations

import io
import logging

from bot.app import builtin_commands
from bot.config import Config, PermissionGrant, PermissionsSettings
from bot.context import Services
from bot.messages import Level, Platform
from bot.pipeline.assembly import build_pipeline
from bot.store.database import Database
from bot.store.models import AuditEntry
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession, read_lines
from tests.fakes.clock import FakeClock


def shell(database: Database, output: io.StringIO, clock: FakeClock) -> ShellSession:
    admin = PermissionGrant(level=Level.ADMIN, platform="shell", users=("*",))
    connector = ShellConnector(output)
    pipeline = build_pipeline(
        Config(permissions=PermissionsSettings(grants=(admin,))),
        database,
        commands=builtin_commands(),
        connectors={Platform.SHELL: connector},
        services=Services(clock=clock, started_at=clock.now(), version="2.0.0"),
        log=logging.getLogger("tests.shell"),
    )
    return ShellSession(pipeline, connector, user="operator", reply_timeout=10.0)


async def test_each_line_is_answered_in_order(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock()
    session = shell(database, output, clock)
    await session.run_line("ping\n")
    clock.advance(3725)
    await session.run_line("ping")
    await session.run_line("help nope")

    assert output.getvalue() == (
        "pong\nversion: 2.0.0\nuptime: 0s\n"
        "\n"
        "pong\nversion: 2.0.0\nuptime: 1h 2m\n"
        "\n"
        "No command named nope\nSay `help` to see the commands you can run here.\n"
    )
    actors = await AuditEntry.filter(decision="ok").values_list("actor", flat=True)
    assert actors == ["shell:operator"] * 3


async def test_read_lines_skips_blank_lines_and_prompts_when_asked() -> None:
    prompts = io.StringIO()
    lines = [line async for line in read_lines(io.StringIO("ping\n\n  \nhelp\n"), prompts)]
    assert lines == ["ping\n", "help\n"]
    assert prompts.getvalue() == "chatops> " * 5 + "\n"
