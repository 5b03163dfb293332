"""The expiry-alert job over many tracked secrets, on SQLite and PostgreSQL.

Intent
    Measure ``bot.secrets.alerts.send_expiry_alerts`` (the scheduled job) over a registry
    of ``--count`` tracked secrets (default 100,000) spread over ``--repos`` repositories,
    each repository subscribed by one channel (topic ``alerts``). Expiry dates are spread
    evenly over ``--spread-days`` days from today, so about 31/spread of the secrets are
    within the largest default threshold (30 days).

Runs, per round (a fresh database each)
    first   the job's first run of the day: every secret within 30 days gets its alert
            claimed (one transaction each: the alert rows and one outbox row) and the
            rest of the page is skipped. This is the heaviest day the job can have.
    quiet   the same day again (a second replica, or a restart): every alert is already
            recorded, so the run only pages through the registry and reads the recorded
            thresholds. This is the job's everyday cost.

Usage
    python -m benchmarks.secrets_expiry [--backend sqlite|postgres|both] [--count N]
        [--repos R] [--spread-days D] [--page-size P] [--repeat K] [--postgres-url URL]

    The PostgreSQL URL (an admin URL: a database is created and dropped per round)
    defaults to $CHATOPS_BENCH_POSTGRES_URL, else $CHATOPS_TEST_POSTGRES_URL; without one,
    PostgreSQL is skipped with a message.

Not measured: seeding the registry and subscriptions (bulk inserts, outside the timed
window), database creation and migration, sending the alerts (the outbox sender), the
scheduler, several replicas at once.

Bounds: ``--count`` at most 200,000, ``--repeat`` at most 5. Each backend gets 600 s of
wall time over all its rounds, setup included; a backend that runs out is reported with
the rounds it finished, its later rounds are skipped and the exit status is 1.

Checks: the first run must send exactly one alert per secret within the threshold (as
counted here from the seeded dates), with one outbox row each, and the quiet run none;
otherwise ``benchmark failed: ...`` and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks.common import (
    add_postgres_url_option,
    backends,
    postgres_admin,
    table_line,
)
from bot.channels.models import Subscription
from bot.channels.store import Subscriptions
from bot.config import SecretsSettings
from bot.messages import Forge, Platform
from bot.secrets.alert_store import SecretAlerts
from bot.secrets.alerts import AlertRunReport, ExpiryAlertDeps, send_expiry_alerts
from bot.secrets.models import TrackedSecret
from bot.secrets.store import SecretRegistry
from bot.store.database import open_database
from bot.store.models import OutboxItem

MAX_COUNT = 200_000
MAX_REPEAT = 5
BACKEND_BUDGET_SECONDS = 600.0
INSERT_BATCH = 5_000
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


class BenchmarkFailed(Exception):
    """A check failed: the job did not send what it should have."""


@dataclass(frozen=True, slots=True)
class Settings:
    count: int
    repos: int
    spread_days: int
    page_size: int
    repeat: int


@dataclass(frozen=True, slots=True)
class Round:
    backend: str
    due: int
    scanned: int  # secrets the job read (those within the largest threshold)
    seed_seconds: float
    first_seconds: float
    quiet_seconds: float


def expiry_of(index: int, spread_days: int) -> date:
    return TODAY + timedelta(days=index % spread_days)


def due_count(settings: Settings, largest: int) -> int:
    return sum(
        1
        for index in range(settings.count)
        if (expiry_of(index, settings.spread_days) - TODAY).days <= largest
    )


async def seed(settings: Settings) -> None:
    """The registry and one alerts subscription per repository, in bulk."""
    subscriptions = [
        Subscription(
            platform=Platform.SLACK.value,
            channel=f"C{repo:05d}",
            forge=Forge.GITHUB.value,
            repo=f"acme/repo-{repo:05d}",
            topics="alerts",
            target={"platform": "slack", "channel": f"C{repo:05d}"},
            created_by="bench",
            created_at=NOW,
        )
        for repo in range(settings.repos)
    ]
    await Subscription.bulk_create(subscriptions, batch_size=INSERT_BATCH)
    for start in range(0, settings.count, INSERT_BATCH):
        rows = [
            TrackedSecret(
                forge=Forge.GITHUB.value,
                repo=f"acme/repo-{index % settings.repos:05d}",
                name=f"SECRET_{index:06d}",
                expires_on=expiry_of(index, settings.spread_days),
                owner="@ops",
                rotate_url=None,
                source="command",
                set_by="bench",
                created_at=NOW,
                updated_at=NOW,
            )
            for index in range(start, min(start + INSERT_BATCH, settings.count))
        ]
        await TrackedSecret.bulk_create(rows, batch_size=INSERT_BATCH)


def deps(settings: Settings) -> ExpiryAlertDeps:
    return ExpiryAlertDeps(
        registry=SecretRegistry(),
        alerts=SecretAlerts(),
        subscriptions=Subscriptions(),
        settings=SecretsSettings(),
        log=logging.getLogger("bench.secrets"),
        page_size=settings.page_size,
    )


def check(first: AlertRunReport, quiet: AlertRunReport, due: int, outbox: int) -> None:
    if len(first.sent) != due or first.failed or first.taken:
        raise BenchmarkFailed(
            f"first run sent {len(first.sent)} alerts for {due} due secrets "
            f"({first.failed} failed, {first.taken} taken)"
        )
    if outbox != due:
        raise BenchmarkFailed(f"{outbox} outbox rows for {due} alerts")
    if quiet.sent or quiet.already != due:
        raise BenchmarkFailed(
            f"quiet run sent {len(quiet.sent)} and found {quiet.already} of {due} recorded"
        )


async def run_round(backend: str, settings: Settings, url: str) -> Round:
    database = await open_database(url, require_migrated=False)
    try:
        await database.migrate()
        began = time.perf_counter()
        await seed(settings)
        seeded = time.perf_counter()
        due = due_count(settings, max(SecretsSettings().thresholds_days))
        first = await send_expiry_alerts(deps(settings), NOW)
        after_first = time.perf_counter()
        quiet = await send_expiry_alerts(deps(settings), NOW + timedelta(hours=1))
        after_quiet = time.perf_counter()
        check(first, quiet, due, await OutboxItem.all().count())
        return Round(
            backend,
            due,
            quiet.scanned,
            seeded - began,
            after_first - seeded,
            after_quiet - after_first,
        )
    finally:
        await database.close()


def round_url(backend: str, admin_url: str | None, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite://{workdir / f'expiry-{uuid.uuid4().hex[:8]}.sqlite3'}"
    assert admin_url is not None
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/bench_expiry_{uuid.uuid4().hex[:10]}"))


async def one_round(backend: str, settings: Settings, admin_url: str | None) -> Round:
    with tempfile.TemporaryDirectory() as workdir:
        url = round_url(backend, admin_url, Path(workdir))
        name = urlsplit(url).path.lstrip("/")
        if backend == "postgres":
            assert admin_url is not None
            await postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
        try:
            return await run_round(backend, settings, url)
        finally:
            if backend == "postgres":
                assert admin_url is not None
                await postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary_line(backend: str, settings: Settings, rounds: Sequence[Round]) -> str:
    def median(values: Sequence[float]) -> float:
        return statistics.median(values)

    first = [item.first_seconds for item in rounds]
    quiet = [item.quiet_seconds for item in rounds]
    return table_line(
        (
            backend,
            f"{settings.count}",
            f"{rounds[0].due}",
            f"{len(rounds)}",
            f"{median([item.seed_seconds for item in rounds]):.1f}",
            f"{median(first):.2f}",
            f"{min(first):.2f}..{max(first):.2f}",
            f"{median(first) / rounds[0].due * 1000:.2f}",
            f"{rounds[0].scanned}",
            f"{median(quiet) * 1000:.0f}",
            f"{min(quiet) * 1000:.0f}..{max(quiet) * 1000:.0f}",
        )
    )


HEADER = (
    "backend",
    "tracked",
    "due",
    "rounds",
    "seed s",
    "first s",
    "first range",
    "ms/alert",
    "quiet scanned",
    "quiet ms",
    "quiet range ms",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.secrets_expiry", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=1_000)
    parser.add_argument("--spread-days", type=int, default=730)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    add_postgres_url_option(parser, "round")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be 1..{MAX_COUNT}")
    if not 1 <= args.repeat <= MAX_REPEAT:
        parser.error(f"--repeat must be 1..{MAX_REPEAT}")
    if args.repos < 1 or args.spread_days < 1 or args.page_size < 1:
        parser.error("--repos, --spread-days and --page-size must be at least 1")
    settings = Settings(args.count, args.repos, args.spread_days, args.page_size, args.repeat)
    chosen = backends(parser, args.backend, args.postgres_url)
    load_before = os.getloadavg()[0]
    results: dict[str, list[Round]] = {backend: [] for backend in chosen}
    status = 0
    for backend in chosen:
        spent = 0.0
        for number in range(1, settings.repeat + 1):
            if spent >= BACKEND_BUDGET_SECONDS:
                print(
                    f"{backend}: rounds {number}..{settings.repeat} skipped, its "
                    f"{BACKEND_BUDGET_SECONDS:.0f} s budget is spent",
                    file=sys.stderr,
                )
                status = 1
                break
            began = time.perf_counter()
            try:
                result = asyncio.run(one_round(backend, settings, args.postgres_url))
            except BenchmarkFailed as exc:
                print(f"benchmark failed: {backend} round {number}: {exc}", file=sys.stderr)
                return 1
            spent += time.perf_counter() - began
            results[backend].append(result)
            print(
                f"{backend} round {number}: first {result.first_seconds:.2f} s "
                f"({result.due} alerts), quiet {result.quiet_seconds:.2f} s",
                file=sys.stderr,
            )
    print(
        f"{TODAY.isoformat()}: {settings.count} tracked secrets over {settings.repos} "
        f"repositories (one alerts channel each), expiry dates spread over "
        f"{settings.spread_days} days, page size {settings.page_size}; medians of the rounds. "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, 1-min load "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after."
    )
    print()
    print(table_line(HEADER))
    print(table_line(tuple("---" for _ in HEADER)))
    for backend in chosen:
        if results[backend]:
            print(summary_line(backend, settings, results[backend]))
    return status


if __name__ == "__main__":
    sys.exit(main())
