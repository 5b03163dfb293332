"""Open the database, and apply or check its migrations.

One process holds one Tortoise context for its lifetime, opened by
``open_database`` and closed by ``Database.close``. SQLite is the embedded
default (WAL journal, a busy timeout, ``synchronous=NORMAL``); PostgreSQL is
used through asyncpg when the URL says so.

The model modules are a parameter (``models``) of ``tortoise_config``, ``Database`` and
``open_database``, by default ``bot.schema.MODEL_MODULES``: the core's and the built-in
features' tables. They are module names that Tortoise imports when it opens the database,
so this module imports no feature's code and knows no feature's table.

Invariants:
- The schema comes only from the migrations in ``bot.store.migrations``;
  ``open_database(..., require_migrated=True)`` refuses to open a database that
  has unapplied migrations, naming the command that applies them.
- Every model module is one Tortoise app, ``chatops``: the migrations are one history.
- Nothing here reads configuration files or the environment: the URL is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.executor import MigrationExecutor

from bot.schema import MODEL_MODULES

APP_LABEL = "chatops"
MIGRATIONS_MODULE = "bot.store.migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT = 5.0  # seconds to open a connection
POSTGRES_COMMAND_TIMEOUT = 30.0  # seconds any one statement may take
SQLITE_INCREMENTAL_VACUUM = 2  # PRAGMA auto_vacuum's value for INCREMENTAL


class DatabaseError(Exception):
    """The database cannot be used as configured; the message says what to do."""


class UnappliedMigrations(DatabaseError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(names)
        super().__init__(
            f"the database has {len(names)} unapplied migration(s) ({listed}); "
            "run `chatops migrate` first"
        )


# PostgreSQL connections per process unless the caller sizes the pool (commands, tests)
DEFAULT_POOL_SIZE = 10


def tortoise_config(
    url: str, pool_size: int = DEFAULT_POOL_SIZE, models: Sequence[str] = MODEL_MODULES
) -> dict[str, Any]:
    """Translate a ``sqlite://`` or ``postgres://`` URL into a Tortoise config dict for the
    models of the modules named in ``models``; a PostgreSQL pool holds at most
    ``pool_size`` connections."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(url.split("://", 1)[1].split("?", 1)[0]) or ":memory:"
        connection: dict[str, Any] = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "synchronous": "NORMAL",
                "foreign_keys": "ON",
            },
        }
    elif scheme in {"postgres", "postgresql", "asyncpg"}:
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": unquote(parts.username or "postgres"),
                "password": unquote(parts.password) if parts.password else None,
                "database": parts.path.lstrip("/") or "postgres",
                "minsize": 1,
                "maxsize": pool_size,
                # bounds, so that a link that silently drops packets cannot hold a pooled
                # connection (and the task waiting on it) forever
                "timeout": POSTGRES_CONNECT_TIMEOUT,
                "command_timeout": POSTGRES_COMMAND_TIMEOUT,
                "reset": _reset_pooled_connection,
            },
        }
    else:
        raise DatabaseError(f"unsupported database URL scheme {scheme!r}")
    # Tortoise caches compiled SQL per connection name, so each dialect gets its own name
    name = connection_name(url)
    return {
        "connections": {name: connection},
        "apps": {
            APP_LABEL: {
                "models": list(models),
                "migrations": MIGRATIONS_MODULE,
                "default_connection": name,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def _reset_pooled_connection(connection: Any) -> None:
    """What a connection needs when it goes back to the pool: no open transaction.

    asyncpg's default reset also unlocks advisory locks, closes cursors, unlistens and
    resets session settings, in one extra round trip per query made outside a transaction
    (more than four per command). The bot uses none of those, so only a transaction left
    open (its task was cancelled mid-way) is rolled back here.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


@dataclass(frozen=True, slots=True)
class Database:
    """An open database: its dialect and the connection the queues use."""

    url: str
    dialect: str  # "sqlite" or "postgres"
    # True when opening already found every migration applied; nothing un-applies
    # them while the process runs, so readiness probes need not rebuild the graph
    migrations_verified: bool = False
    models: tuple[str, ...] = MODEL_MODULES  # the modules it was opened with

    @property
    def connection(self) -> BaseDBAsyncClient:
        connection: BaseDBAsyncClient = connections.get(connection_name(self.url))
        return connection

    @property
    def supports_skip_locked(self) -> bool:
        return self.dialect == "postgres"

    async def ping(self) -> None:
        await self.connection.execute_query("SELECT 1")

    async def unapplied_migrations(self) -> list[str]:
        executor = MigrationExecutor(self.connection, _apps_config(self.url, self.models))
        steps = await executor.plan()
        return [step.migration.name for step in steps if not step.backward]

    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied.

        On SQLite it also switches the file to incremental auto-vacuum (once: that takes a
        full ``VACUUM``), so that housekeeping can give deleted rows' pages back.
        """
        pending = await self.unapplied_migrations()
        if pending:
            executor = MigrationExecutor(self.connection, _apps_config(self.url, self.models))
            await executor.migrate()
        if self.dialect == "sqlite":
            _count, rows = await self.connection.execute_query("PRAGMA auto_vacuum")
            if rows and int(rows[0][0]) != SQLITE_INCREMENTAL_VACUUM:
                await self.connection.execute_script("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
        return pending

    async def reclaim_space(self) -> None:
        """Give the pages of deleted rows back to the file system (SQLite; no-op elsewhere:
        PostgreSQL's autovacuum reuses them)."""
        if self.dialect == "sqlite":
            await self.connection.execute_query("PRAGMA incremental_vacuum")

    async def close(self) -> None:
        await Tortoise.close_connections()


def _apps_config(url: str, models: Sequence[str]) -> dict[str, dict[str, Any]]:
    apps: dict[str, dict[str, Any]] = tortoise_config(url, models=models)["apps"]
    return apps


def dialect_of(url: str) -> str:
    return "sqlite" if urlsplit(url).scheme.lower() == "sqlite" else "postgres"


def connection_name(url: str) -> str:
    return f"chatops_{dialect_of(url)}"


async def open_database(
    url: str,
    *,
    require_migrated: bool = True,
    pool_size: int = DEFAULT_POOL_SIZE,
    models: Sequence[str] = MODEL_MODULES,
) -> Database:
    """Connect with the models of ``models``, and unless told otherwise, refuse a database
    with unapplied migrations. ``serve`` sizes the pool from its loops
    (``bot.loops.pool_size``)."""
    if Tortoise.is_inited():
        # Tortoise's context is process-wide: a second open (two applications in one
        # process, as the replica tests run them) would replace the first's connections
        # without closing them, leaking its pool; close them before opening anew
        await Tortoise.close_connections()
    await Tortoise.init(
        config=tortoise_config(url, pool_size, models), _enable_global_fallback=True
    )
    database = Database(url=url, dialect=dialect_of(url), models=tuple(models))
    if not require_migrated:
        return database
    pending = await database.unapplied_migrations()
    if pending:
        await database.close()
        raise UnappliedMigrations(pending)
    return Database(
        url=url, dialect=database.dialect, migrations_verified=True, models=database.models
    )
