"""Raw SQL for the statements the ORM cannot express in one round trip.

The queues claim rows with one ``UPDATE ... RETURNING`` statement; Tortoise builds
neither that nor ``FOR UPDATE SKIP LOCKED`` inside a sub-select. This module holds the
little that differs between the two dialects: placeholders (``?`` on SQLite, ``$n`` on
PostgreSQL) and the types that come back (SQLite returns timestamps and JSON as text).

Invariants: statements are written with ``?`` placeholders and never contain a literal
``?``; values are always passed as parameters, never formatted into the text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.store.database import Database


class Statement:
    """One parameterised statement for ``database``'s dialect."""

    def __init__(self, database: Database, text: str) -> None:
        self._database = database
        self.text = postgres_placeholders(text) if database.dialect == "postgres" else text

    async def rows(self, values: Sequence[Any]) -> list[dict[str, Any]]:
        rows = await self._database.connection.execute_query_dict(self.text, list(values))
        return rows

    async def count(self, values: Sequence[Any]) -> int:
        """Run an ``UPDATE``/``DELETE`` and return the number of rows it changed."""
        changed, _rows = await self._database.connection.execute_query(self.text, list(values))
        return int(changed)


@functools.lru_cache(maxsize=256)
def postgres_placeholders(text: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2`` ... (statements are few and fixed)."""
    parts = text.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(f"${number}{part}")
    return "".join(out)


def as_datetime(value: Any) -> datetime | None:
    """A timestamp column's value as an aware UTC datetime (SQLite returns text)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_json(value: Any) -> Any:
    """A JSON column's value, decoded (both drivers return it as text here)."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value
