"""``chatops migrate``: apply the pending database migrations, or say there are none.

It loads the configuration's ``[database]`` section alone (``bot.cli``) and imports the
store and nothing else: no platform client, no web server.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import Config
from bot.store.database import DatabaseError, open_database

EXIT_OK = 0
EXIT_ERROR = 1


def migrate(config: Config, _args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(config))


async def _migrate(config: Config) -> int:
    try:
        database = await open_database(config.database.resolved_url(), require_migrated=False)
    except (DatabaseError, OSError) as exc:
        print(f"chatops: cannot open the database: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        applied = await database.migrate()
    finally:
        await database.close()
    if applied:
        print("applied: " + ", ".join(applied))
    else:
        print("the database is up to date")
    return EXIT_OK
