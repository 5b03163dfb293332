"""Rate gates in the store, so that every replica honours the same limits.

A gate is one ``chatops_rate_gates`` row per key (an installation or token and a route
class, chosen by the connector). Two things close it:

- ``block(key, until)``: the platform said "stop" (a 429, a secondary-limit 403, an
  exhausted primary limit). ``blocked_until_ms`` only ever moves later, so a late answer
  with a shorter wait cannot reopen a gate that a longer one closed.
- ``reserve(key, spacing)``: each request takes the next free slot, ``spacing`` after the
  previous one and not before ``blocked_until_ms``; ``next_slot_ms`` remembers where the
  queue ends. A slot further away than ``max_wait`` is refused, and nothing is reserved.

Invariants: every change is one conditional statement (``UPDATE ... RETURNING`` or an
upsert), so replicas racing for slots get distinct slots at least ``spacing`` apart, on
SQLite and PostgreSQL alike. Times are integer milliseconds since the Unix epoch and
come from the caller's clock; nothing here reads the time or sleeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.store.database import Database

TABLE = "chatops_rate_gates"
_PARAMETER = re.compile(r":([a-z_]+)")


@dataclass(frozen=True, slots=True)
class Slot:
    """A reserved slot: the request may go at ``at_ms``."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """No slot within reach: come back at ``until_ms``; ``blocked`` if the platform said so."""

    until_ms: int
    reason: str
    blocked: bool


@dataclass(frozen=True, slots=True)
class GateState:
    blocked_until_ms: int
    next_slot_ms: int
    reason: str


class GateStore:
    """The gate rows of one database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._greatest = "GREATEST" if database.dialect == "postgres" else "MAX"

    async def reserve(
        self, key: str, now_ms: int, spacing_ms: int, max_wait_ms: int
    ) -> Slot | Refusal:
        """Take the next slot of ``key`` if it starts within ``max_wait_ms`` of now."""
        start = f"{self._greatest}(next_slot_ms, blocked_until_ms, :now)"
        statement = (
            f"UPDATE {TABLE} SET next_slot_ms = {start} + :spacing, updated_ms = :now "
            f'WHERE "key" = :key AND {start} <= :now + :max_wait RETURNING next_slot_ms'
        )
        values = {"key": key, "now": now_ms, "spacing": spacing_ms, "max_wait": max_wait_ms}
        rows = await self._query(statement, values)
        if not rows:
            # the first request for this key (or a refusal): make sure the row exists, and
            # try once more, since a row inserted meanwhile may have a free slot
            await self._query(
                f'INSERT INTO {TABLE} ("key", blocked_until_ms, next_slot_ms, reason, updated_ms) '
                "VALUES (:key, 0, 0, '', :now) ON CONFLICT (\"key\") DO NOTHING",
                {"key": key, "now": now_ms},
            )
            rows = await self._query(statement, values)
        if rows:
            return Slot(at_ms=int(rows[0]["next_slot_ms"]) - spacing_ms)
        state = await self.state(key)
        assert state is not None  # inserted above, and rows are never deleted
        return _refusal(key, state, now_ms, max_wait_ms)

    async def block(self, key: str, until_ms: int, reason: str, now_ms: int) -> None:
        """Close ``key`` until ``until_ms`` (or later, if it is closed for longer already)."""
        await self._query(
            f'INSERT INTO {TABLE} ("key", blocked_until_ms, next_slot_ms, reason, updated_ms) '
            "VALUES (:key, :until, 0, :reason, :now) "
            f'ON CONFLICT ("key") DO UPDATE SET '
            f"blocked_until_ms = {self._greatest}({TABLE}.blocked_until_ms, "
            "excluded.blocked_until_ms), "
            f"reason = CASE WHEN excluded.blocked_until_ms >= {TABLE}.blocked_until_ms "
            f"THEN excluded.reason ELSE {TABLE}.reason END, "
            "updated_ms = excluded.updated_ms",
            {"key": key, "until": until_ms, "reason": reason[:255], "now": now_ms},
        )

    async def state(self, key: str) -> GateState | None:
        rows = await self._query(
            f'SELECT blocked_until_ms, next_slot_ms, reason FROM {TABLE} WHERE "key" = :key',
            {"key": key},
        )
        if not rows:
            return None
        row = rows[0]
        return GateState(
            blocked_until_ms=int(row["blocked_until_ms"]),
            next_slot_ms=int(row["next_slot_ms"]),
            reason=str(row["reason"]),
        )

    async def _query(self, template: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        sql, ordered = _bind(template, values, numbered=self._database.dialect == "postgres")
        rows: list[dict[str, Any]] = await self._database.connection.execute_query_dict(
            sql, ordered
        )
        return rows


def _refusal(key: str, state: GateState, now_ms: int, max_wait_ms: int) -> Refusal:
    if state.blocked_until_ms > now_ms + max_wait_ms:
        return Refusal(state.blocked_until_ms, state.reason or f"{key} is closed", blocked=True)
    # the queue of reserved slots is too long: come back when its end is within reach
    until = max(now_ms + 1, state.next_slot_ms - max_wait_ms)
    return Refusal(until, f"requests to {key} are queued for the next slots", blocked=False)


def _bind(template: str, values: dict[str, Any], *, numbered: bool) -> tuple[str, list[Any]]:
    """``:name`` placeholders to ``$n`` (PostgreSQL) or ``?`` (SQLite), with the values."""
    ordered: list[Any] = []
    positions: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not numbered:
            ordered.append(values[name])
            return "?"
        if name not in positions:
            ordered.append(values[name])
            positions[name] = len(ordered)
        return f"${positions[name]}"

    return _PARAMETER.sub(replace, template), ordered
