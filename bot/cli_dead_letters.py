"""``chatops dead-letters``: list the replies that could not be sent, or queue them again.

The listing shows each dead letter (key, platform, attempts, when, why) and, per
platform, the messages waiting for a connector this configuration does not run.
``--retry KEY...`` requeues those keys and names every key that is no dead letter
(exit 1); ``--retry-all`` requeues them all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.clock import SystemClock
from bot.config import Config
from bot.messages import Platform
from bot.store.database import DatabaseError, open_database
from bot.store.queues import OutboxQueue

EXIT_OK = 0
EXIT_ERROR = 1
LISTING = 200


def run(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(dead_letters(config, args.retry, args.retry_all))


async def dead_letters(config: Config, keys: list[str] | None, retry_all: bool) -> int:
    try:
        database = await open_database(config.database.resolved_url())
    except (DatabaseError, OSError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    outbox = OutboxQueue(database)
    try:
        if retry_all:
            count = await outbox.requeue_dead(None, SystemClock().now())
            print(f"requeued {count} message(s)")
            return EXIT_OK
        if keys is not None:
            return await _retry(outbox, keys)
        letters = await outbox.dead_letters(limit=LISTING)
        waiting = await outbox.waiting_for_connector(_served_platforms(config))
    finally:
        await database.close()
    if not letters:
        print("no dead letters")
    for letter in letters:
        created = letter.created_at.isoformat(timespec="seconds")
        print(f"{letter.key}\t{letter.platform}\t{letter.attempts}\t{created}\t{letter.reason}")
    for platform, count in sorted(waiting.items()):
        why = (
            "the next interactive chatops shell session of their user prints these"
            if platform == Platform.SHELL.value
            else "not enabled in this configuration"
        )
        print(f"waiting for a connector: {count} message(s) for {platform} ({why})")
    return EXIT_OK


async def _retry(outbox: OutboxQueue, keys: list[str]) -> int:
    """Requeue each key that is a dead letter; name every key that is not, and exit 1."""
    count, unknown = 0, []
    for key in dict.fromkeys(keys):
        requeued = await outbox.requeue_dead([key], SystemClock().now())
        count += requeued
        if not requeued:
            unknown.append(key)
    if count or not unknown:
        print(f"requeued {count} message(s)")
    for key in unknown:
        print(f"chatops: no dead letter with key {key}", file=sys.stderr)
    return EXIT_ERROR if unknown else EXIT_OK


def _served_platforms(config: Config) -> set[str]:
    """The platforms a server with this configuration sends to."""
    sections = {
        Platform.GITHUB: config.github.enabled,
        Platform.GITLAB: config.gitlab.enabled,
        Platform.SLACK: config.slack.enabled,
        Platform.DISCORD: config.discord.enabled,
    }
    return {platform.value for platform, enabled in sections.items() if enabled}
