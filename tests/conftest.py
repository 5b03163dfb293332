"""Shared fixtures: databases on SQLite always and on PostgreSQL when configured.

``database_url`` is parametrised over both back ends; the PostgreSQL case gets
a fresh database per test (created and dropped here) and is skipped when
``CHATOPS_TEST_POSTGRES_URL`` is not set, except under CI (``CI`` set), where
a missing URL fails instead, so PostgreSQL coverage cannot vanish silently.

``snapshot`` compares a whole output with its file under ``tests/snapshots/``;
``pytest --update-snapshots`` rewrites those files instead (``tests.snapshot``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.store.database import Database, open_database
from tests.snapshot import UPDATE_OPTION, Snapshot

POSTGRES_ENV = "CHATOPS_TEST_POSTGRES_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        UPDATE_OPTION,
        action="store_true",
        help="rewrite the files under tests/snapshots/ from what the tests produce",
    )


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Undo what a test that runs ``chatops`` in-process did to logging.

    ``configure_logging`` sets the process's handlers and levels, as ``serve`` must; a test
    that calls the CLI's ``main`` would otherwise leave the ``chatops`` logger at, say,
    WARNING for every later test, and a test that reads INFO lines would fail by order.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {
        name: (logger.level, logger.propagate, list(logger.handlers))
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        saved = loggers.get(name)
        if saved is None:
            logger.setLevel(logging.NOTSET)
            continue
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Snapshot:
    return Snapshot(update=bool(request.config.getoption(UPDATE_OPTION)))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} must be set in CI: the store is tested on PostgreSQL too")
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"chatops_test_{uuid.uuid4().hex[:12]}"
    _admin(base, f'CREATE DATABASE "{name}"')
    yield _with_database(base, name)
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(base: str, statement: str) -> None:

    async def run() -> None:
        connection = await asyncpg.connect(base.replace("postgres://", "postgresql://", 1))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'chatops.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await open_database(database_url, require_migrated=False)
    await db.migrate()
    yield db
    await db.close()
