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
