"""Claiming queue rows under a lease: one statement, for the inbox and the outbox alike.

A claim is one statement: ``UPDATE ... WHERE id IN (<candidates>) RETURNING ...`` sets a
fresh ``claim_token`` and a ``lease_until`` on up to ``limit`` pending rows and returns
them. On PostgreSQL the candidates are picked ``FOR UPDATE SKIP LOCKED`` in a
materialized ``WITH``, so replicas claiming at once take different rows instead of waiting
on each other; on SQLite the database has one writer at a time, so the statement is atomic
by itself. A claimed row whose lease ended (its worker died) is put back to pending by
``Releaser``, which the claimers run every few seconds, and is then claimed like any other.
Each queue keeps its claim statements in a ``StatementCache``, one per shape.

Every candidate query walks a partial index over pending rows only, so a claim's cost does
not grow with the history in the table.

Invariants:
- A claim never returns a row another claimer holds under a live lease.
- Statements are built from fixed text and validated platform names; values are always
  parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.messages import Outgoing, OutgoingKind, Reply, ReplyTarget
from bot.store.database import Database
from bot.store.queue_rows import PRIORITIES, OutboxClaim
from bot.store.sql import Statement, as_datetime, as_json

# how often a claimer puts rows with an ended lease back to pending
RELEASE_INTERVAL = timedelta(seconds=2)


class Releaser:
    """Puts rows whose lease ended back to pending, at most once per ``RELEASE_INTERVAL``."""

    def __init__(self, database: Database, table: str) -> None:
        self._statement = Statement(
            database,
            f"UPDATE {table} SET status = 'pending', claim_token = NULL, lease_until = NULL "
            "WHERE status = 'claimed' AND lease_until < ?",
        )
        self._next: datetime | None = None

    async def __call__(self, now: datetime, *, force: bool = False) -> int:
        if not force and self._next is not None and now < self._next:
            return 0
        released = await self._statement.count([now])
        self._next = now + RELEASE_INTERVAL
        return released


Shape = TypeVar("Shape", bound=Hashable)


class StatementCache(Generic[Shape]):
    """A queue's claim statements, one per shape, each built on its first use.

    A claim's text depends only on its shape (how many keys, which platforms), not on the
    values, so each shape's statement is built once and reused: the text, and on
    PostgreSQL its ``$n`` placeholders, are not rebuilt on every claim.
    """

    def __init__(self, database: Database, text: Callable[[Shape], str]) -> None:
        self._database = database
        self._text = text
        self._statements: dict[Shape, Statement] = {}

    def __call__(self, shape: Shape) -> Statement:
        statement = self._statements.get(shape)
        if statement is None:
            statement = Statement(self._database, self._text(shape))
            self._statements[shape] = statement
        return statement


async def claim_rows(
    database: Database,
    statement: Statement,
    now: datetime,
    lease: timedelta,
    candidates: Sequence[Any],
) -> tuple[str, list[dict[str, Any]]]:
    """Run a claim built by ``claim_statement``: a fresh token, and the rows it claimed."""
    token = uuid.uuid4().hex
    claimed = [token, now + lease]
    postgres = database.dialect == "postgres"
    values = [*candidates, *claimed] if postgres else [*claimed, *candidates]
    return token, await statement.rows(values)


def claim_statement(database: Database, table: str, candidates: str, returning: str) -> str:
    """``UPDATE table`` the ``candidates`` (a query of ids) to claimed, returning ``returning``.

    Values: on PostgreSQL the candidates' values, then token and lease_until; on SQLite
    token and lease_until first (``claim_rows`` orders them). PostgreSQL picks the
    candidates once, in a materialized CTE: as a sub-select of ``WHERE id IN`` the planner
    may run a ``LIMIT ... FOR UPDATE SKIP LOCKED`` query again for every pending row (with
    stale statistics it did, and claimed the whole backlog in one statement, slowly).
    """
    claim = "status = 'claimed', claim_token = ?, lease_until = ?"
    if database.dialect == "postgres":
        return (
            f"WITH c AS MATERIALIZED ({candidates}) "
            f"UPDATE {table} AS t SET {claim}, attempts = t.attempts + 1 "
            "FROM c WHERE t.id = c.id AND t.status = 'pending' "
            f"RETURNING {', '.join(f't.{column}' for column in returning.split(', '))}"
        )
    return (
        f"UPDATE {table} SET {claim}, attempts = attempts + 1 "
        f"WHERE id IN ({candidates}) AND status = 'pending' RETURNING {returning}"
    )


def inbox_claim_sql(database: Database, *, keyed: int) -> str:
    """Candidates' values: now, [keys...], limit."""
    keys = f" AND delivery_key IN ({', '.join('?' * keyed)})" if keyed else ""
    lock = " FOR UPDATE SKIP LOCKED" if database.dialect == "postgres" else ""
    candidates = (
        f"SELECT id FROM chatops_inbox WHERE status = 'pending' AND available_at <= ?{keys} "
        f"ORDER BY available_at, id LIMIT ?{lock}"
    )
    return claim_statement(database, "chatops_inbox", candidates, "id, attempts, invocation")


_OUTBOX_RETURNING = "id, attempts, key, target, reply, invocation_id, kind, received_at"


def outbox_claim_sql(database: Database, platforms: Sequence[str] | None, keys: int) -> str:
    """The outbox claim for one scope shape.

    Every candidate query walks one partial index range, ``(platform, priority,
    available_at)`` over pending rows, so rows of platforms this sender does not serve
    and messages not yet due cost nothing.
    """
    postgres = database.dialect == "postgres"
    if keys:
        # the shell: a handful of its own keys, found by the unique key index
        # (values: keys..., now, limit)
        candidates = (
            f"SELECT id FROM chatops_outbox WHERE key IN ({', '.join('?' * keys)}) "
            "AND status = 'pending' AND available_at <= ? "
            "ORDER BY priority, available_at, id LIMIT ?"
            + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        )
    elif postgres:
        # values: platforms, now, limit, limit
        candidates = (
            "SELECT c.id FROM unnest(?::text[]) AS p(platform) "
            f"CROSS JOIN (VALUES {', '.join(f'({p})' for p in PRIORITIES)}) AS r(priority) "
            "CROSS JOIN LATERAL (SELECT id, priority, available_at FROM chatops_outbox o "
            "WHERE o.status = 'pending' AND o.platform = p.platform "
            "AND o.priority = r.priority AND o.available_at <= ? "
            "ORDER BY o.available_at, o.id LIMIT ? FOR UPDATE SKIP LOCKED) AS c "
            "ORDER BY c.priority, c.available_at, c.id LIMIT ?"
        )
    else:
        # SQLite: one index range per platform and priority, merged, the first ``limit``
        # taken (values: now and limit per branch, then limit)
        branches = []
        for platform in platforms or ():
            condition = f" AND platform = '{_literal(platform)}'"
            for priority in PRIORITIES:
                branches.append(
                    "SELECT * FROM (SELECT id, priority, available_at FROM chatops_outbox "
                    f"WHERE status = 'pending'{condition} AND priority = {priority} "
                    "AND available_at <= ? ORDER BY available_at, id LIMIT ?)"
                )
        candidates = (
            "SELECT id FROM ("
            + " UNION ALL ".join(branches)
            + ") ORDER BY priority, available_at, id LIMIT ?"
        )
    return claim_statement(database, "chatops_outbox", candidates, _OUTBOX_RETURNING)


def _literal(platform: str) -> str:
    if not platform.replace("_", "").isalnum():
        raise ValueError(f"not a platform name: {platform!r}")
    return platform


def outbox_claim(row: Mapping[str, Any], token: str) -> OutboxClaim:
    """A claimed outbox row as the sender sees it."""
    attempts = int(row["attempts"])
    return OutboxClaim(
        row_id=int(row["id"]),
        token=token,
        attempts=attempts,
        message=Outgoing(
            target=ReplyTarget.from_dict(as_json(row["target"])),
            reply=Reply.from_dict(as_json(row["reply"])),
            key=str(row["key"]),
            invocation_id=row["invocation_id"],
            kind=OutgoingKind(row["kind"]),
            attempt=attempts,
        ),
        received_at=as_datetime(row["received_at"]),
    )
