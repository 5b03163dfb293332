"""``chatops github setup-repo`` and ``chatops github create-app``: GitHub set-up tasks
(``connectors.github.setup``, ``connectors.github.create_app``), each over one HTTP
session bounded by ``github.request_timeout``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import aiohttp

from bot.clock import SystemClock
from bot.config import Config
from bot.store.database import DatabaseError, open_database
from connectors.github.create_app import CreateAppError, CreateAppOptions, register_app
from connectors.github.create_app import describe as describe_app
from connectors.github.setup import SetupError, describe, setup_repo

EXIT_OK = 0
EXIT_ERROR = 1


def github(config: Config, args: argparse.Namespace) -> int:
    if args.github_command == "create-app":
        return asyncio.run(_create_app(config, args))
    return asyncio.run(_setup_repo(config, args.repo))


async def _setup_repo(config: Config, repo: str) -> int:
    try:
        database = await open_database(config.database.resolved_url())
    except (DatabaseError, OSError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    timeout = aiohttp.ClientTimeout(total=config.github.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            result = await setup_repo(config, repo, session, SystemClock())
    except SetupError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        await database.close()
    describe(result, repo, sys.stdout)
    return EXIT_OK


async def _create_app(config: Config, args: argparse.Namespace) -> int:
    options = CreateAppOptions(
        out_dir=Path(args.out), org=args.org, public_url=args.public_url, port=args.port
    )
    timeout = aiohttp.ClientTimeout(total=config.github.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            app = await register_app(config, options, session, sys.stdout)
    except CreateAppError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    describe_app(app, config, sys.stdout)
    return EXIT_OK
