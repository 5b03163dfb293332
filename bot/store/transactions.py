"""Transactions that leave nothing behind when the database connection dies.

Tortoise's ``in_transaction()`` sets a context variable (the task's connection becomes
the transaction) and takes a pooled connection (PostgreSQL) or the connection lock
(SQLite) *before* it sends ``BEGIN``. When ``BEGIN`` fails (the server ended the
connection, the network was cut), its ``__aenter__`` raises and its ``__aexit__`` never
runs: the context variable keeps pointing at the dead transaction, so every later query
of that task fails with "connection has been released back to the pool", and the pooled
connection (or the SQLite lock) is never given back. A worker loop that claims from its
own task would fail on every cycle until the process restarts.

``transaction()`` wraps it and undoes a failed start: the context variable is reset and
the connection is handed back to the pool (which replaces a broken one) or the lock is
released. It also resets the context variable if the end of the transaction fails while
returning the connection. Nothing else changes: commit on success, rollback on error.

Invariants:
- After ``transaction()`` exits, normally or not, the calling task sees the plain
  connection again, and no pooled connection or lock is held on its behalf.
- A connection that failed is never reused by this task: the pool decides whether to
  reconnect it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

_log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def transaction(connection_name: str | None = None) -> AsyncIterator[Any]:
    """``async with transaction():`` runs its body in one database transaction."""
    context: Any = in_transaction(connection_name)
    try:
        client = await context.__aenter__()
    except BaseException:
        await _undo_failed_start(context)
        raise
    try:
        yield client
    except BaseException as exc:
        try:
            await context.__aexit__(type(exc), exc, exc.__traceback__)
        finally:
            _reset_connection_variable(context)
        raise
    else:
        try:
            await context.__aexit__(None, None, None)
        finally:
            _reset_connection_variable(context)


async def _undo_failed_start(context: Any) -> None:
    """Give back what a transaction that could not begin took (see the module docstring)."""
    started = getattr(context, "token", None) is not None
    _reset_connection_variable(context)
    client = getattr(context, "client", None)
    parent = getattr(client, "_parent", None)
    pool = getattr(parent, "_pool", None)
    pooled = getattr(client, "_connection", None)
    if pool is not None and pooled is not None:
        # PostgreSQL: the pool resets or replaces a connection it gets back
        try:
            await pool.release(pooled)
        except Exception:
            _log.debug("could not release a broken connection; terminating it", exc_info=True)
            with contextlib.suppress(Exception):
                pooled.terminate()
        return
    lock = getattr(context, "_trxlock", None)
    if started and lock is not None and lock.locked():
        # SQLite: the lock was taken before the context variable was set
        lock.release()


def _reset_connection_variable(context: Any) -> None:
    token = getattr(context, "token", None)
    if token is not None and not getattr(token, "_used", True):
        connections.reset(token)
