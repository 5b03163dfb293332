"""Claim and completion times of the inbox and outbox over a long history, on SQLite and PostgreSQL.

Intent
    Show whether a claim costs the same with 0, 10,000 or 100,000 pending rows when the
    tables also hold ``--done`` finished rows (default 1,000,000 done inbox rows and as
    many sent outbox rows), as ``bot.store.queues`` promises.

What is timed (each figure: median and p95 over ``--repeats`` calls, in ms)
    inbox claim      ``InboxQueue.claim(now, lease, 16)``
    outbox claim     ``OutboxQueue.claim(now, lease, 16, ClaimScope(platforms={github,
                     gitlab, slack, discord}))``
    complete         ``InboxQueue.complete`` of one claimed row with one reply and one
                     audit entry
    mark_sent        ``OutboxQueue.mark_sent`` of one claimed row (with its audit entry)
    The claims run alternately (inbox, outbox) and every claimed row is put back to pending
    by id after the call, untimed, so each claim of a level sees exactly that many pending
    rows; the same oldest rows are claimed again each time, as a busy queue's head is.
    Completions run after the claims of their level: rows are claimed (untimed) and each
    is completed (timed), so ``--repeats`` rows of the level are consumed. At 0 pending,
    ``--repeats`` rows are added for the completions first (then ``ANALYZE``; they are
    consumed by the completions). The
    replies that ``complete`` enqueues are marked sent afterwards, untimed. Each level is
    topped up to its exact pending count before its claims.

Data (seeded with bulk SQL, not timed, then ``ANALYZE``)
    inbox    ``--done`` rows ``done``, then the level's ``pending`` rows (platform github)
    outbox   ``--done`` rows ``sent``, then the level's ``pending`` rows for github, half
             ``message`` (priority 0) and half ``acknowledgement`` (priority 1), and 300
             pending ``shell`` rows that the claim's scope must skip.
    JSON columns hold ``bot.messages`` values' ``to_dict()``, so a claimed row decodes.
    Each database is fresh: a SQLite file in a temporary directory, or a PostgreSQL
    database created from the admin URL and dropped at the end whatever happens.

Plans
    At the largest level the claims' plans are printed: PostgreSQL ``EXPLAIN (ANALYZE,
    BUFFERS)`` (run in a transaction that is rolled back) with the values bound (a custom
    plan) and again as a prepared statement under ``plan_cache_mode =
    force_generic_plan`` (what a cached statement may switch to), and SQLite's ``EXPLAIN
    QUERY PLAN``. A full table scan of the inbox or outbox in a custom or SQLite plan makes
    the exit status 1; in a generic plan it is reported as a note.

Checks: at a level with pending rows every claim returns 16 rows, none of platform
shell, messages before acknowledgements; at 0 pending every claim returns none.
Otherwise ``benchmark failed: ...`` and exit status 1.

Usage
    python -m benchmarks.claims [--postgres-url URL] [--repeats 200] [--done 1000000]
        [--sqlite-only] [--time-limit 1800]

Bounds: ``--repeats`` at most 2,000, ``--done`` at most 2,000,000; the whole run stops
at ``--time-limit`` seconds (at most 3,600), with exit status 1. Not measured: seeding,
migration, several claimers at once, the workers and senders around the calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from benchmarks.common import add_postgres_url_option, percentile, postgres_admin, table_line
from bot.messages import (
    Actor,
    Invocation,
    Outgoing,
    OutgoingKind,
    Platform,
    Reply,
    ReplyTarget,
    Status,
)
from bot.store.database import Database, open_database
from bot.store.queues import (
    Audit,
    ClaimScope,
    InboxQueue,
    OutboxQueue,
    _inbox_claim_sql,
    _outbox_claim_sql,
)
from bot.store.sql import Statement

LEVELS = (0, 10_000, 100_000)
BATCH = 16
LEASE = timedelta(minutes=5)
SERVED = frozenset({"github", "gitlab", "slack", "discord"})
SHELL_ROWS = 300
SEED_CHUNK = 100_000
PUT_BACK_CHUNK = 100
MAX_REPEATS = 2_000
MAX_DONE = 2_000_000
MAX_TIME_LIMIT = 3_600.0
MARK = "@N@"  # replaced by the row number in the JSON templates


class BenchmarkFailed(Exception):
    """A check failed, a plan scans a whole table, or the time limit was reached."""


@dataclass(frozen=True, slots=True)
class Settings:
    repeats: int
    done: int
    time_limit: float


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self._seconds = seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise BenchmarkFailed(f"time limit of {self._seconds:g} s reached")


@dataclass(slots=True)
class Level:
    database: str
    pending: int
    done: int
    inbox_claim: list[float] = field(default_factory=list)
    outbox_claim: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)
    mark_sent: list[float] = field(default_factory=list)
    claimed: tuple[int, int] = (0, 0)  # rows returned per claim: inbox, outbox


# --- seeding ----------------------------------------------------------------------------


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _target(platform: Platform) -> ReplyTarget:
    return ReplyTarget(platform=platform, channel="acme/web#12", message=f"comment-{MARK}")


def invocation_template() -> str:
    github = Platform.GITHUB
    return _compact(
        Invocation(
            id=f"inv-{MARK}",
            platform=github,
            actor=Actor(platform=github, id="1001", name="octocat"),
            text="status acme/web#12",
            reply_to=_target(github),
            delivery_key=f"d-{MARK}",
            received_at=datetime(2026, 12, 1, tzinfo=UTC),
        ).to_dict()
    )


MESSAGE_REPLY = _compact(Reply(title="status of acme/web#12", status=Status.OK).to_dict())
ACK_REPLY = _compact(Reply(title="").to_dict())


def _sqlite_time(base: int) -> str:
    """A timestamp ``i`` ms after parameter ``?base``, as the SQLite driver writes them."""
    return (
        f"(strftime('%Y-%m-%d %H:%M:%f', ?{base}, printf('+%.3f seconds', i / 1000.0))"
        " || '000+00:00')"
    )


def _sqlite_rows(start: int, end: int) -> str:
    return (
        f"WITH RECURSIVE n(i) AS (SELECT ?{start} UNION ALL SELECT i + 1 FROM n WHERE i < ?{end})"
    )


# parameters: 1 first row, 2 last row, 3 invocation template, 4 status, 5 base time
INBOX_SQLITE = (
    "INSERT INTO chatops_inbox (platform, delivery_key, invocation, status, attempts, "
    "available_at, received_at, finished_at) "
    + _sqlite_rows(1, 2)
    + f" SELECT 'github', 'd-' || i, replace(?3, '{MARK}', i), ?4, 1, {_sqlite_time(5)}, "
    f"{_sqlite_time(5)}, CASE WHEN ?4 = 'done' THEN {_sqlite_time(5)} END FROM n"
)
INBOX_POSTGRES = (
    "INSERT INTO chatops_inbox (platform, delivery_key, invocation, status, attempts, "
    "available_at, received_at, finished_at) "
    f"SELECT 'github', 'd-' || i, replace($3::text, '{MARK}', i::text)::jsonb, $4::text, 1, "
    "$5::timestamptz + i * interval '1 millisecond', "
    "$5::timestamptz + i * interval '1 millisecond', "
    "CASE WHEN $4::text = 'done' THEN $5::timestamptz + i * interval '1 millisecond' END "
    "FROM generate_series($1::bigint, $2::bigint) AS g(i)"
)
# parameters: 1 first row, 2 last row, 3 platform, 4 target template, 5 message reply,
# 6 acknowledgement reply, 7 status, 8 base time; even rows are messages, odd ones acks
OUTBOX_SQLITE = (
    "INSERT INTO chatops_outbox (key, platform, target, reply, invocation_id, kind, priority, "
    "status, attempts, available_at, created_at, received_at, sent_at) "
    + _sqlite_rows(1, 2)
    + f" SELECT 'o-' || i, ?3, replace(?4, '{MARK}', i), "
    "CASE WHEN i % 2 = 0 THEN ?5 ELSE ?6 END, 'inv-' || i, "
    "CASE WHEN i % 2 = 0 THEN 'message' ELSE 'acknowledgement' END, i % 2, ?7, 1, "
    f"{_sqlite_time(8)}, {_sqlite_time(8)}, {_sqlite_time(8)}, "
    f"CASE WHEN ?7 = 'sent' THEN {_sqlite_time(8)} END FROM n"
)
OUTBOX_POSTGRES = (
    "INSERT INTO chatops_outbox (key, platform, target, reply, invocation_id, kind, priority, "
    "status, attempts, available_at, created_at, received_at, sent_at) "
    f"SELECT 'o-' || i, $3::text, replace($4::text, '{MARK}', i::text)::jsonb, "
    "(CASE WHEN i % 2 = 0 THEN $5::text ELSE $6::text END)::jsonb, 'inv-' || i, "
    "CASE WHEN i % 2 = 0 THEN 'message' ELSE 'acknowledgement' END, (i % 2)::smallint, "
    "$7::text, 1, $8::timestamptz + i * interval '1 millisecond', "
    "$8::timestamptz + i * interval '1 millisecond', "
    "$8::timestamptz + i * interval '1 millisecond', "
    "CASE WHEN $7::text = 'sent' THEN $8::timestamptz + i * interval '1 millisecond' END "
    "FROM generate_series($1::bigint, $2::bigint) AS g(i)"
)


class Seeder:
    """Bulk inserts with row numbers that never repeat (keys stay unique)."""

    def __init__(self, database: Database, started: datetime) -> None:
        self._database = database
        self._postgres = database.dialect == "postgres"
        self._next = 1
        self._done_base = started - timedelta(days=3)
        self._pending_base = started - timedelta(days=1)
        self._invocation = invocation_template()

    def _base(self, status: str) -> Any:
        base = self._pending_base if status == "pending" else self._done_base
        return base if self._postgres else base.strftime("%Y-%m-%d %H:%M:%S")

    async def _insert(self, text: str, count: int, values: list[Any], deadline: Deadline) -> None:
        for _chunk in range((count + SEED_CHUNK - 1) // SEED_CHUNK):
            deadline.check()
            size = min(SEED_CHUNK, count)
            first, self._next = self._next, self._next + size
            await self._database.connection.execute_query(text, [first, first + size - 1, *values])
            count -= size

    async def inbox(self, count: int, status: str, deadline: Deadline) -> None:
        text = INBOX_POSTGRES if self._postgres else INBOX_SQLITE
        await self._insert(text, count, [self._invocation, status, self._base(status)], deadline)

    async def outbox(self, count: int, status: str, platform: Platform, deadline: Deadline) -> None:
        text = OUTBOX_POSTGRES if self._postgres else OUTBOX_SQLITE
        target = _compact(_target(platform).to_dict())
        values = [platform.value, target, MESSAGE_REPLY, ACK_REPLY, status, self._base(status)]
        await self._insert(text, count, values, deadline)

    async def pending(self) -> tuple[int, int]:
        """Pending inbox rows, pending github outbox rows."""
        connection = self._database.connection
        _n, inbox = await connection.execute_query(
            "SELECT count(*) FROM chatops_inbox WHERE status = 'pending'"
        )
        _n, outbox = await connection.execute_query(
            "SELECT count(*) FROM chatops_outbox WHERE status = 'pending' AND platform = 'github'"
        )
        return int(inbox[0][0]), int(outbox[0][0])

    async def top_up(self, level: int, deadline: Deadline) -> None:
        inbox, outbox = await self.pending()
        if inbox > level or outbox > level:
            raise BenchmarkFailed(f"{inbox}/{outbox} rows pending before level {level}")
        await self.inbox(level - inbox, "pending", deadline)
        await self.outbox(level - outbox, "pending", Platform.GITHUB, deadline)

    async def analyze(self) -> None:
        await self._database.connection.execute_script("ANALYZE")


# --- timing -----------------------------------------------------------------------------


def since(began: float) -> float:
    """Milliseconds since ``began`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - began) * 1000


async def put_back(database: Database, table: str, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), PUT_BACK_CHUNK):
        chunk = list(ids[start : start + PUT_BACK_CHUNK])
        await Statement(
            database,
            f"UPDATE {table} SET status = 'pending', claim_token = NULL, lease_until = NULL "
            f"WHERE id IN ({', '.join('?' * len(chunk))})",
        ).count(chunk)


def check_outbox_order(claims: Sequence[Any]) -> None:
    platforms = {claim.message.target.platform.value for claim in claims}
    if not platforms <= SERVED:
        raise BenchmarkFailed(f"outbox claim returned rows for {sorted(platforms - SERVED)}")
    kinds = [claim.message.kind for claim in claims]
    if kinds != sorted(kinds, key=lambda kind: kind is OutgoingKind.ACKNOWLEDGEMENT):
        raise BenchmarkFailed("outbox claim returned an acknowledgement before a message")


async def measure_claims(
    database: Database, level: Level, repeats: int, deadline: Deadline
) -> None:
    inbox, outbox = InboxQueue(database), OutboxQueue(database)
    scope = ClaimScope(platforms=SERVED)
    expected = min(BATCH, level.pending)
    for _repeat in range(repeats):
        deadline.check()
        now = datetime.now(UTC)
        began = time.perf_counter()
        got = await inbox.claim(now, LEASE, BATCH)
        level.inbox_claim.append(since(began))
        await put_back(database, "chatops_inbox", [claim.row_id for claim in got])
        began = time.perf_counter()
        sent = await outbox.claim(now, LEASE, BATCH, scope)
        level.outbox_claim.append(since(began))
        await put_back(database, "chatops_outbox", [claim.row_id for claim in sent])
        if len(got) != expected or len(sent) != expected:
            raise BenchmarkFailed(
                f"{level.database} at {level.pending} pending: claims returned "
                f"{len(got)}/{len(sent)} rows, expected {expected}"
            )
        check_outbox_order(sent)
    level.claimed = (expected, expected)


async def measure_completions(
    database: Database, level: Level, repeats: int, deadline: Deadline
) -> None:
    inbox, outbox = InboxQueue(database), OutboxQueue(database)
    scope = ClaimScope(platforms=SERVED)
    reply_keys: list[str] = []
    for _round in range(repeats):  # at least one row per round, so this bounds the loop
        deadline.check()
        wanted = min(BATCH, repeats - len(level.complete))
        if wanted == 0:
            break
        claims = await inbox.claim(datetime.now(UTC), LEASE, wanted)
        if len(claims) != wanted:
            raise BenchmarkFailed(f"inbox completion claim got {len(claims)} of {wanted} rows")
        for claim in claims:
            key = f"bench-reply-{claim.row_id}"
            reply = Outgoing(
                target=claim.invocation.reply_to,
                reply=Reply(title="status of acme/web#12", status=Status.OK),
                key=key,
                invocation_id=claim.invocation.id,
            )
            audit = Audit(platform="github", actor="octocat", decision="ran", detail="bench")
            began = time.perf_counter()
            await inbox.complete(claim, datetime.now(UTC), [reply], [audit])
            level.complete.append(since(began))
            reply_keys.append(key)
    for _round in range(repeats):
        deadline.check()
        wanted = min(BATCH, repeats - len(level.mark_sent))
        if wanted == 0:
            break
        sends = await outbox.claim(datetime.now(UTC), LEASE, wanted, scope)
        if len(sends) != wanted:
            raise BenchmarkFailed(f"outbox completion claim got {len(sends)} of {wanted} rows")
        for send in sends:
            audit = Audit(platform="github", actor="octocat", decision="sent", detail="bench")
            began = time.perf_counter()
            await outbox.mark_sent(send, datetime.now(UTC), audit)
            level.mark_sent.append(since(began))
    await settle_replies(database, reply_keys)


async def settle_replies(database: Database, keys: Sequence[str]) -> None:
    """Mark the replies that ``complete`` enqueued as sent, so the next level's count holds."""
    now = datetime.now(UTC)
    for start in range(0, len(keys), PUT_BACK_CHUNK):
        chunk = list(keys[start : start + PUT_BACK_CHUNK])
        await Statement(
            database,
            "UPDATE chatops_outbox SET status = 'sent', sent_at = ? "
            f"WHERE key IN ({', '.join('?' * len(chunk))})",
        ).count([now, *chunk])


# --- plans ------------------------------------------------------------------------------


def claim_statements(database: Database, now: datetime) -> list[tuple[str, str, list[Any]]]:
    """(name, text, values) of the two claims, as the queues build them."""
    token, lease_until = uuid.uuid4().hex, now + LEASE
    served = sorted(SERVED)
    inbox = Statement(database, _inbox_claim_sql(database, keyed=False)).text
    outbox = Statement(database, _outbox_claim_sql(database, served, 0)).text
    if database.dialect == "postgres":
        outbox_values: list[Any] = [token, lease_until, served, now, BATCH, BATCH]
    else:
        outbox_values = [token, lease_until]
        for _branch in range(len(served) * 2):
            outbox_values.extend([now, BATCH])
        outbox_values.append(BATCH)
    return [
        ("inbox claim", inbox, [token, lease_until, now, BATCH]),
        ("outbox claim", outbox, outbox_values),
    ]


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "'{" + ",".join(value) + "}'"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, int):
        return str(value)
    return f"'{value}'"


async def postgres_plans(url: str, database: Database) -> list[tuple[str, str]]:
    connection = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))
    plans = []
    try:
        for name, text, values in claim_statements(database, datetime.now(UTC)):
            explain = "EXPLAIN (ANALYZE, BUFFERS) "
            transaction = connection.transaction()
            await transaction.start()
            try:
                rows = await connection.fetch(explain + text, *values)
                plans.append((f"{name}, custom plan", "\n".join(r[0] for r in rows)))
                await connection.execute(f"PREPARE bench_claim AS {text}")
                await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                arguments = ", ".join(_literal(value) for value in values)
                rows = await connection.fetch(f"{explain}EXECUTE bench_claim({arguments})")
                plans.append((f"{name}, generic plan", "\n".join(r[0] for r in rows)))
                await connection.execute("DEALLOCATE bench_claim")
            finally:
                await transaction.rollback()
    finally:
        await connection.close()
    return plans


async def sqlite_plans(database: Database) -> list[tuple[str, str]]:
    plans = []
    for name, text, values in claim_statements(database, datetime.now(UTC)):
        _n, rows = await database.connection.execute_query("EXPLAIN QUERY PLAN " + text, values)
        depth: dict[int, int] = {0: -1}
        lines = []
        for row in rows:
            node, parent, detail = int(row[0]), int(row[1]), str(row[3])
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        plans.append((name, "\n".join(lines)))
    return plans


def full_scans(plan: str) -> list[str]:
    """Plan lines that read a whole inbox or outbox table."""
    found = []
    for line in plan.splitlines():
        text = line.strip().lstrip("->").strip()
        for table in ("chatops_inbox", "chatops_outbox"):
            if text.startswith(f"Seq Scan on {table}") or text == f"SCAN {table}":
                found.append(text)
    return found


# --- runs -------------------------------------------------------------------------------


async def run_database(
    name: str, url: str, admin_url: str | None, settings: Settings, deadline: Deadline
) -> tuple[list[Level], list[tuple[str, str]]]:
    database = await open_database(url, require_migrated=False)
    levels: list[Level] = []
    plans: list[tuple[str, str]] = []
    try:
        await database.migrate()
        seeder = Seeder(database, datetime.now(UTC))
        began = time.perf_counter()
        await seeder.inbox(settings.done, "done", deadline)
        await seeder.outbox(settings.done, "sent", Platform.GITHUB, deadline)
        await seeder.outbox(SHELL_ROWS, "pending", Platform.SHELL, deadline)
        print(
            f"{name}: seeded {settings.done} done rows per table in "
            f"{time.perf_counter() - began:.1f} s",
            file=sys.stderr,
        )
        for pending in LEVELS:
            began = time.perf_counter()
            await seeder.top_up(pending, deadline)
            await seeder.analyze()
            level = Level(name, pending, settings.done + len(levels) * settings.repeats)
            await measure_claims(database, level, settings.repeats, deadline)
            if pending == LEVELS[-1]:
                plans = await (
                    postgres_plans(url, database) if admin_url else sqlite_plans(database)
                )
            if pending == 0:
                await seeder.inbox(settings.repeats, "pending", deadline)
                await seeder.outbox(settings.repeats, "pending", Platform.GITHUB, deadline)
                await seeder.analyze()  # with stale statistics a PostgreSQL claim over-claims
            await measure_completions(database, level, settings.repeats, deadline)
            levels.append(level)
            print(
                f"{name}: {pending} pending measured in {time.perf_counter() - began:.1f} s",
                file=sys.stderr,
            )
    finally:
        await database.close()
    return levels, plans


async def run_sqlite(
    settings: Settings, deadline: Deadline
) -> tuple[list[Level], list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite://{Path(workdir) / 'claims.sqlite3'}"
        return await run_database("sqlite", url, None, settings, deadline)


async def run_postgres(
    admin_url: str, settings: Settings, deadline: Deadline
) -> tuple[list[Level], list[tuple[str, str]]]:
    name = f"chatops_bench_claims_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    await postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        return await run_database("postgres", url, admin_url, settings, deadline)
    finally:
        await postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- output -----------------------------------------------------------------------------

HEADER = (
    "database",
    "pending",
    "done",
    "rows/claim",
    "inbox claim p50",
    "p95",
    "outbox claim p50",
    "p95",
    "complete p50",
    "p95",
    "mark_sent p50",
    "p95",
)


def _ms(values: Sequence[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    ordered = sorted(values)
    return f"{statistics.median(ordered):.2f}", f"{percentile(ordered, 95):.2f}"


def row(level: Level) -> str:
    cells = [level.database, f"{level.pending:,}", f"{level.done:,}", str(level.claimed[0])]
    for values in (level.inbox_claim, level.outbox_claim, level.complete, level.mark_sent):
        cells.extend(_ms(values))
    return table_line(cells)


def ratios(levels: Sequence[Level], first: Level) -> str:
    """Medians at the largest level over those at ``first``."""
    last = levels[-1]
    parts = []
    for label, attribute in (
        ("inbox claim", "inbox_claim"),
        ("outbox claim", "outbox_claim"),
        ("complete", "complete"),
        ("mark_sent", "mark_sent"),
    ):
        low = statistics.median(getattr(first, attribute))
        high = statistics.median(getattr(last, attribute))
        parts.append(f"{label} {high / low:.2f}x")
    return (
        f"{first.database}, median at {last.pending:,} pending over median at "
        f"{first.pending:,}: " + ", ".join(parts)
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.claims", description=__doc__.splitlines()[0]
    )
    add_postgres_url_option(parser, "run")
    parser.add_argument("--repeats", type=int, default=200, help="calls timed per figure")
    parser.add_argument("--done", type=int, default=1_000_000, help="done rows per table")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--time-limit", type=float, default=1_800.0, help="seconds, whole run")
    return parser


async def run_all(
    settings: Settings, admin_url: str | None
) -> tuple[list[Level], list[tuple[str, str, str]]]:
    deadline = Deadline(settings.time_limit)
    levels, plans = await run_sqlite(settings, deadline)
    named = [("sqlite", title, plan) for title, plan in plans]
    if admin_url is not None:
        more, plans = await run_postgres(admin_url, settings, deadline)
        levels += more
        named += [("postgres", title, plan) for title, plan in plans]
    return levels, named


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.repeats <= MAX_REPEATS:
        parser.error(f"--repeats must be 1..{MAX_REPEATS}")
    if not 0 <= args.done <= MAX_DONE:
        parser.error(f"--done must be 0..{MAX_DONE}")
    if not 0 < args.time_limit <= MAX_TIME_LIMIT:
        parser.error(f"--time-limit must be in (0, {MAX_TIME_LIMIT:g}]")
    admin_url = None if args.sqlite_only else args.postgres_url
    if not args.sqlite_only:
        if admin_url is None:
            parser.error("no PostgreSQL URL: pass --postgres-url, or --sqlite-only")
        if urlsplit(admin_url).hostname != "127.0.0.1":
            parser.error("--postgres-url must point at 127.0.0.1")
    settings = Settings(args.repeats, args.done, args.time_limit)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    try:
        levels, plans = asyncio.run(run_all(settings, admin_url))
    except BenchmarkFailed as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"{datetime.now(UTC):%Y-%m-%d}: claims of {BATCH}, {settings.repeats} timed calls per "
        f"figure (ms); {SHELL_ROWS} pending shell rows in the outbox besides the github ones; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, 1-min load "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{time.perf_counter() - began:.0f} s in all."
    )
    print()
    print(table_line(HEADER))
    print(table_line(["---"] * len(HEADER)))
    for level in levels:
        print(row(level))
    print()
    for database in dict.fromkeys(level.database for level in levels):
        mine = [level for level in levels if level.database == database]
        for first in mine[:-1]:
            print(f"- {ratios(mine, first)}")
    status = 0
    for database, title, plan in plans:
        print(f"\n{database}, {title}, at {LEVELS[-1]:,} pending:\n\n```\n{plan}\n```")
        for line in full_scans(plan):
            # a generic plan is only what a cached statement could switch to: reported
            generic = "generic" in title
            verdict = "note" if generic else "benchmark failed"
            print(f"{verdict}: {database} {title} reads a whole table: {line}", file=sys.stderr)
            status = status if generic else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
