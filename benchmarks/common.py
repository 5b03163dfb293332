"""What the benchmarks share: back ends, the PostgreSQL admin URL, percentiles, table lines.

Pure helpers and constants; importing this module only defines things.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg

if TYPE_CHECKING:  # only named in annotations: this module imports none of the bot
    from bot.pipeline.assembly import Pipeline

POSTGRES_URL_ENV = ("CHATOPS_BENCH_POSTGRES_URL", "CHATOPS_TEST_POSTGRES_URL")
POSTGRES_SCHEMES = ("postgres", "postgresql", "asyncpg")
BACKENDS = ("sqlite", "postgres")


def postgres_url_from_env() -> str | None:
    for name in POSTGRES_URL_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


def add_postgres_url_option(parser: argparse.ArgumentParser, per: str) -> None:
    """``--postgres-url``: an admin URL; a database is created and dropped per ``per``."""
    parser.add_argument(
        "--postgres-url",
        default=postgres_url_from_env(),
        help=f"admin URL; a database is created and dropped per {per} (env: "
        f"{' or '.join(POSTGRES_URL_ENV)})",
    )


def backends(parser: argparse.ArgumentParser, wanted: str, url: str | None) -> tuple[str, ...]:
    """The back ends to run, from ``--backend`` and the PostgreSQL URL (if any)."""
    if url is not None and urlsplit(url).scheme.lower() not in POSTGRES_SCHEMES:
        parser.error("--postgres-url must be a postgres:// URL")
    if wanted == "sqlite":
        return ("sqlite",)
    if url is None:
        hint = f"pass --postgres-url or set {' or '.join(POSTGRES_URL_ENV)}"
        if wanted == "postgres":
            parser.error(f"no PostgreSQL URL: {hint}")
        print(f"postgres: skipped, no URL ({hint})", file=sys.stderr)
        return ("sqlite",)
    return BACKENDS if wanted == "both" else ("postgres",)


async def postgres_admin(url: str, statement: str) -> None:
    """Run one statement (CREATE or DROP DATABASE) on the admin URL's database."""
    connection = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def failed_sends(pipeline: Pipeline) -> dict[str, float]:
    """Deliveries by outcome other than ``sent``, from the pipeline's metrics."""
    failed: dict[str, float] = {}
    for labels, value in pipeline.metrics.deliveries.values.items():
        outcome = dict(labels).get("outcome", "")
        if outcome != "sent":
            failed[outcome] = failed.get(outcome, 0.0) + value
    return failed


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def table_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
