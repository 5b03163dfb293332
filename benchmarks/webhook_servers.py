"""The servers ``benchmarks.github_webhook`` measures, in the benchmark's own process.

``baseline_app`` is the limit of the stack (verify the HMAC over the raw body, parse,
answer 202; nothing stored); ``bot_config`` and ``fresh_database`` give the real
application a migrated database of its own per scenario; ``serving`` runs either behind a
real ``web.AppRunner``/``TCPSite`` on 127.0.0.1 port 0, as ``bot.web.serve`` does.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from benchmarks import bare_limit
from benchmarks.common import postgres_admin
from benchmarks.webhook_model import SECRET, TOKEN
from bot.config import Config, DatabaseSettings, Secret
from bot.config.platforms import GitHubSettings
from connectors.github.integration import ROUTE
from tests.github_stack import migrate


def baseline_app() -> web.Application:
    """The limit of the stack: verify the HMAC over the raw body, parse, answer 202."""
    return bare_limit.app(SECRET)


def bot_config(database_url: str, api_url: str) -> Config:
    """``Config()`` defaults, with the database and GitHub in token mode against the fake."""
    return Config(
        database=DatabaseSettings(url=database_url),
        github=GitHubSettings(
            enabled=True,
            api_url=api_url,
            webhook_secrets=(Secret("env:GITHUB_WEBHOOK_SECRET", SECRET),),
            token=Secret("env:GITHUB_TOKEN", TOKEN),
        ),
    )


@asynccontextmanager
async def serving(app: web.Application, shutdown_timeout: float) -> AsyncIterator[str]:
    """Serve ``app`` as ``bot.web.serve`` does, on 127.0.0.1 port 0; yields the webhook URL."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout)
    try:
        await runner.setup()
    except BaseException:
        await app.cleanup()
        raise
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}{ROUTE}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def fresh_database(backend: str, postgres_url: str | None) -> AsyncIterator[str]:
    """The URL of a new, migrated database for one scenario; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="chatops-bench-gh-") as directory:
            url = f"sqlite://{directory}/bench.sqlite3"
            await migrate(url)
            yield url
        return
    if postgres_url is None:
        raise ValueError("a PostgreSQL scenario needs a URL")
    name = f"chatops_bench_gh_{uuid.uuid4().hex[:12]}"
    await postgres_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(postgres_url)._replace(path="/" + name))
        await migrate(url)
        yield url
    finally:
        await postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
