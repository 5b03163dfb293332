"""``chatops gitlab setup-project``: create or update the project's webhook
(``connectors.gitlab.setup``) over one HTTP session bounded by ``gitlab.request_timeout``."""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from bot.config import Config
from connectors.gitlab.setup import SetupError, describe, setup_project

EXIT_OK = 0
EXIT_ERROR = 1


def gitlab(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_setup_project(config, args.project, args.force))


async def _setup_project(config: Config, project: str, force: bool) -> int:
    timeout = aiohttp.ClientTimeout(total=config.gitlab.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            result = await setup_project(config, project, session, force=force)
    except SetupError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    describe(result, project, sys.stdout)
    return EXIT_OK
