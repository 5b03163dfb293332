"""Several writes as one transaction, in as few trips to the database as the driver allows.

The pipeline's steps (store a command with its acknowledgement, complete a command with
its reply and audit entry, mark a reply sent) are a few small statements each, and on the
hot path the cost of reaching the database dominates the statements themselves. Through
the ORM every statement is a trip: on SQLite a hand-off to the driver's thread and back,
on PostgreSQL a network round trip, each with ``BEGIN`` and ``COMMIT`` around them.

``write_atomically(database, writes)`` runs ``writes`` in order in one transaction:

- on SQLite, in a single hand-off to the connection's thread (``BEGIN IMMEDIATE`` ...
  ``COMMIT``), holding the ORM's connection lock so that nothing interleaves;
- on PostgreSQL, inside one pooled connection's transaction, statement by statement
  (a data-modifying ``WITH`` can fold a fixed shape into one statement where it pays:
  see ``bot.store.outbox``).

A ``Write`` may say how many rows it ``must_change`` (a completion changes its claimed row
exactly once, or the claim was lost): when it changes another number, the transaction
rolls back and ``Unchanged`` names the write. A unique-key violation rolls back and raises
the ORM's ``IntegrityError``, and any other database error its ``OperationalError``, as
the ORM's own queries do, whatever the back end.

Values are given already in the database's terms: ``db_time`` for timestamps, ``db_json``
for JSON columns. The formats are the ORM's own, so rows written here read back through
the models unchanged (``tests/store/test_store_writes.py`` checks both directions).

Invariants:
- All or nothing: after ``write_atomically`` returns, every write happened; after it
  raises, none did.
- Never called inside another transaction: it owns its transaction from start to end.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from tortoise.exceptions import IntegrityError, OperationalError

from bot.store.database import Database
from bot.store.sql import postgres_placeholders
from bot.store.transactions import transaction


@dataclass(frozen=True, slots=True)
class Write:
    """One statement (``?`` placeholders) and its values; ``must_change`` rows, if given."""

    text: str
    values: tuple[Any, ...]
    must_change: int | None = None


class Unchanged(Exception):
    """A write changed another number of rows than it must; nothing was written."""

    def __init__(self, index: int, changed: int) -> None:
        super().__init__(f"write {index} changed {changed} row(s)")
        self.index = index
        self.changed = changed


class Dialect(Protocol):
    """What a value's encoding depends on: a ``Database``, or a transaction's dialect."""

    @property
    def dialect(self) -> str: ...


def db_time(database: Dialect, value: datetime | None) -> Any:
    """A timestamp as the ORM stores it: text on SQLite (``isoformat(" ")``), else as is."""
    if value is None or database.dialect != "sqlite":
        return value
    return value.isoformat(" ")


def db_json(value: Any) -> str:
    """A JSON column's value as the ORM stores it: compact text."""
    return json.dumps(value, separators=(",", ":"))


async def write_atomically(database: Database, writes: Sequence[Write]) -> list[int]:
    """Run ``writes`` in one transaction; the rows each changed. See the module docstring."""
    if database.dialect == "sqlite":
        return await _sqlite(database, writes)
    return await _postgres(writes)


async def _sqlite(database: Database, writes: Sequence[Write]) -> list[int]:
    client: Any = database.connection
    async with client.acquire_connection() as connection:
        try:
            changed, failed = await connection._execute(_run_in_thread, connection, writes)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc
    if failed is not None:
        raise Unchanged(failed, changed[failed])
    return list(changed)


def _run_in_thread(connection: Any, writes: Sequence[Write]) -> tuple[list[int], int | None]:
    """In the driver's thread: the whole transaction, rolled back on a mismatch or error."""
    db: sqlite3.Connection = connection._conn
    db.execute("BEGIN IMMEDIATE")
    changed: list[int] = []
    try:
        for index, write in enumerate(writes):
            cursor = db.execute(write.text, write.values)
            changed.append(cursor.rowcount)
            if write.must_change is not None and cursor.rowcount != write.must_change:
                db.execute("ROLLBACK")
                return changed, index
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return changed, None


async def _postgres(writes: Sequence[Write]) -> list[int]:
    changed: list[int] = []
    failed: int | None = None
    try:
        async with transaction() as client:
            connection = client._connection  # the transaction's own asyncpg connection
            for index, write in enumerate(writes):
                try:
                    status = await connection.execute(
                        postgres_placeholders(write.text), *write.values
                    )
                except asyncpg.IntegrityConstraintViolationError as exc:
                    raise IntegrityError(exc) from exc
                except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    raise OperationalError(exc) from exc
                # the command tag ends with the row count: "INSERT 0 1", "UPDATE 2"
                count = int(status.rsplit(" ", 1)[-1])
                changed.append(count)
                if write.must_change is not None and count != write.must_change:
                    failed = index
                    raise _RollBack
    except _RollBack:
        pass
    if failed is not None:
        raise Unchanged(failed, changed[failed])
    return changed


class _RollBack(Exception):
    """Ends the transaction block with a rollback; never seen outside this module."""
