"""``chatops gitlab setup-project`` and ``setup-group``: create or update the webhook of a
project, or of a group (GitLab Premium or Ultimate), with ``connectors.gitlab.setup``, over
one HTTP session bounded by ``gitlab.request_timeout``."""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp

from bot.config import Config
from connectors.gitlab.setup import SetupError, SetupResult, describe, setup_group, setup_project

EXIT_OK = 0
EXIT_ERROR = 1


def gitlab(config: Config, args: argparse.Namespace) -> int:
    if args.gitlab_command == "setup-group":
        return asyncio.run(_setup(config, args.group, args.force, group=True))
    return asyncio.run(_setup(config, args.project, args.force, group=False))


async def _setup(config: Config, name: str, force: bool, *, group: bool) -> int:
    timeout = aiohttp.ClientTimeout(total=config.gitlab.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            result: SetupResult
            if group:
                result = await setup_group(config, name, session, force=force)
            else:
                result = await setup_project(config, name, session, force=force)
    except SetupError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    describe(result, f"group {name}" if group else name, sys.stdout)
    return EXIT_OK
