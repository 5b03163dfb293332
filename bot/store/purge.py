"""Deleting history in batches, and counting live rows: the queues' housekeeping helpers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.models import Model

from bot.store.database import Database
from bot.store.sql import Statement


async def purge(
    database: Database, table: str, condition: str, before: datetime, batch: int
) -> int:
    """Delete the rows matching ``condition`` (one ``?`` for ``before``), ``batch`` at a time,
    so no single statement holds the table for long."""
    statement = Statement(
        database,
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} LIMIT ?)",
    )
    total = 0
    while True:
        deleted = await statement.count([before, batch])
        total += deleted
        if deleted < batch:
            return total


async def purge_audit(database: Database, before: datetime, batch: int = 5000) -> int:
    """Delete audit-log entries older than ``before``, in batches."""
    return await purge(database, "chatops_audit", "at < ?", before, batch)


async def live_counts(model: type[Model], statuses: Sequence[str]) -> dict[str, int]:
    return {str(status): await model.filter(status=status).count() for status in statuses}
