"""Run the ``chatops`` command with the database drivers' round trips counted.

Usage: ``python -m benchmarks.driver_counts <chatops arguments>``, e.g. ``... serve --port
8080``. Without ``CHATOPS_BENCH_DRIVER_COUNTS`` in the environment this is ``chatops``
itself, untouched. With it set to a file path, before the bot is imported the methods by
which a statement reaches the database are wrapped, in this process only:

- aiosqlite: ``Connection.execute``, ``execute_insert``, ``execute_fetchall``,
  ``executemany``, ``executescript``, ``commit``, ``rollback`` and ``Cursor.execute``,
  ``executemany``, ``executescript`` (each one hop to the driver's thread and back);
- asyncpg: ``Connection.execute``, ``executemany``, ``fetch``, ``fetchrow``, ``fetchval``,
  ``fetchmany`` (a transaction's BEGIN and COMMIT go through ``execute``).

Each call counts one round trip under the statement's first keyword (``SELECT``,
``INSERT``, ``BEGIN``, ...; ``commit()`` and ``rollback()`` count as ``COMMIT`` and
``ROLLBACK``). The counts are written as JSON (``{"seq", "total", "by_verb"}``, replaced
atomically) to that file when the process receives ``SIGUSR1`` and at exit, so a benchmark
can take a snapshot before and after its load window. Nothing in ``bot/`` knows of this.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

ENV = "CHATOPS_BENCH_DRIVER_COUNTS"
SQLITE_CONNECTION = (
    "execute",
    "execute_insert",
    "execute_fetchall",
    "executemany",
    "executescript",
)
SQLITE_CURSOR = ("execute", "executemany", "executescript")
SQLITE_ENDINGS = {"commit": "COMMIT", "rollback": "ROLLBACK"}
ASYNCPG_CONNECTION = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")


class DriverCounts:
    """Round trips by statement keyword; ``dump`` writes them to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_verb: Counter[str] = Counter()
        self.seq = 0

    def count(self, statement: object) -> None:
        self.by_verb[verb(statement)] += 1

    def dump(self) -> None:
        self.seq += 1
        data = {"seq": self.seq, "total": sum(self.by_verb.values()), "by_verb": self.by_verb}
        partial = self.path.with_name(self.path.name + ".part")
        partial.write_text(json.dumps(data))
        os.replace(partial, self.path)


def verb(statement: object) -> str:
    """The statement's first keyword, upper-cased; ``OTHER`` if it has none."""
    text = statement if isinstance(statement, str) else ""
    for line in text.splitlines():
        words = line.split()
        if words and not words[0].startswith("--"):
            return words[0].upper().rstrip(";")
    return "OTHER"


def _counted_statement(
    method: Callable[..., Awaitable[Any]], counts: DriverCounts
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def counted(self: Any, statement: object = None, *args: Any, **kwargs: Any) -> Any:
        counts.count(statement)
        if statement is None:
            return await method(self, *args, **kwargs)
        return await method(self, statement, *args, **kwargs)

    return counted


def _counted_ending(
    method: Callable[..., Awaitable[Any]], name: str, counts: DriverCounts
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.by_verb[name] += 1
        return await method(self, *args, **kwargs)

    return counted


def install(counts: DriverCounts) -> None:
    """Wrap the drivers' statement methods (in this process) so that each call is counted."""
    import aiosqlite
    import asyncpg

    for cls, names in (
        (aiosqlite.Connection, SQLITE_CONNECTION),
        (aiosqlite.Cursor, SQLITE_CURSOR),
        (asyncpg.Connection, ASYNCPG_CONNECTION),
    ):
        for name in names:
            setattr(cls, name, _counted_statement(getattr(cls, name), counts))
    for name, keyword in SQLITE_ENDINGS.items():
        method = getattr(aiosqlite.Connection, name)
        setattr(aiosqlite.Connection, name, _counted_ending(method, keyword, counts))


def main(argv: Sequence[str] | None = None) -> int:
    target = os.environ.get(ENV)
    if target:
        counts = DriverCounts(Path(target))
        install(counts)

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            counts.dump()

        signal.signal(signal.SIGUSR1, on_signal)
        atexit.register(counts.dump)
        counts.dump()
    from bot.cli import main as chatops

    return chatops(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
