"""``chatops shell``: type commands as a local user, through the same pipeline as ``serve``.

The session's pipeline comes from the composition root (``bot.app.open_shell``) with
the features given (built-in and plugins). On the embedded SQLite database the shell
applies pending migrations itself (a local, single-user tool); elsewhere it refuses
like ``serve``. Lines come from stdin when it is not a terminal, else from a prompt with
history; each line's replies are printed before the next is read.

An interactive session also prints what waits for the user's channel (run results and
alerts that a serving process queued for it): at the start, under "While you were away:",
and after each line's reply, under "Meanwhile:" (``ShellSession.deliver_waiting``). A piped
session prints only the answers to its lines, so a script's output stays what it asked
for; the messages wait for the next interactive session.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TextIO

from bot.app import open_shell
from bot.cli_plugins import loaded_features
from bot.config import Config
from bot.features import Feature
from bot.logs import configure_logging
from bot.store.database import DatabaseError, dialect_of, open_database
from bot.version import version
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import (
    AWAY,
    MEANWHILE,
    PROMPT,
    ShellDeliveryFailed,
    ShellSession,
    read_lines,
)
from connectors.shell.protocol import is_exit, prefixes_for
from connectors.shell.terminal import banner, history, terminal_lines

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
HISTORY_FILE = ".chatops_history"


def shell(config: Config, args: argparse.Namespace) -> int:
    loaded = loaded_features(sys.stderr, getattr(args, "plugins", None))
    if loaded is None:
        return EXIT_ERROR
    try:
        return asyncio.run(run_shell(config, loaded.features, sys.stdin, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


async def run_shell(
    config: Config,
    features: Sequence[Feature],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    log = configure_logging(
        "WARNING", config.logging.format, [s.reveal() for s in config.config_secrets()], stderr
    )
    url = config.database.resolved_url()
    embedded = dialect_of(url) == "sqlite"
    try:
        database = await open_database(url, require_migrated=not embedded)
        if embedded and await database.migrate():
            print("chatops: applied pending migrations to the local database", file=stderr)
    except (DatabaseError, OSError) as exc:
        print(f"chatops: {exc}", file=stderr)
        return EXIT_ERROR
    connector = ShellConnector(stdout)
    try:
        async with open_shell(config, database, connector, features=features, log=log) as pipeline:
            session = ShellSession(
                pipeline,
                connector,
                user=config.shell.user,
                reply_timeout=config.workers.handler_timeout + 5.0,
                prefixes=prefixes_for(config.bot.name, config.slack.command),
            )
            if not stdin.isatty():
                return await _run_lines(session, read_lines(stdin, None), stderr)
            print(banner(version(), config.shell.user, config.bot.name), file=stdout)
            await session.deliver_waiting(AWAY)
            with history(Path.home() / HISTORY_FILE):
                return await _run_lines(session, terminal_lines(PROMPT), stderr, waiting=True)
    finally:
        await database.close()


async def _run_lines(
    session: ShellSession, lines: AsyncIterator[str], stderr: TextIO, *, waiting: bool = False
) -> int:
    """Run each line; with ``waiting``, print what came for the channel after each reply."""
    status = EXIT_OK
    async for line in lines:
        if is_exit(line):
            break
        try:
            await session.run_line(line)
        except (ShellDeliveryFailed, TimeoutError) as exc:
            print(f"chatops: no reply: {exc or 'timed out'}", file=stderr)
            status = EXIT_ERROR
        if waiting:
            await session.deliver_waiting(MEANWHILE)
    return status
