"""Recovery after a database outage: how long the backlog takes to drain once PostgreSQL is back.

Intent
    The fault tests' harness (``tests.fault_stream``) as a benchmark: the real app with the
    GitHub integration on 127.0.0.1, its database link through a ``TcpProxy``, replies
    posted to the fake GitHub. ``@chatops tick <n>`` deliveries arrive at ``--rate`` a
    second for ``--before`` seconds, through an outage of ``--outage`` seconds (the proxy
    cuts, black-holes or stalls the link), and for ``--after`` seconds more.

Figures
    drain s       from the restore until every delivery sent before the restore and
                  accepted (2xx, then or later) has its reply at the fake GitHub;
    lost, dup     accepted commands without a reply / with more than one, counted after
                  the deliveries refused during the outage were sent again (same delivery
                  id, as GitHub redelivers) and everything settled;
    peak inbox/outbox  the most rows waiting (pending or claimed), sampled every 0.5 s
                  straight from PostgreSQL (not through the proxy); the outbox holds two
                  rows per command, the 👀 acknowledgement and the reply.
    Also: deliveries accepted on their first attempt, refused (5xx) and unanswered within
    GitHub's 10 s, and refused ones still not accepted after ``--redeliver-within`` s.

Usage
    python -m benchmarks.recovery [--rate 50] [--outage 20] [--before 5] [--after 5]
        [--fault cut|blackhole|stall] [--drain-limit 120] [--postgres-url URL]

    The PostgreSQL URL (an admin URL: a database is created and dropped) defaults to
    $CHATOPS_BENCH_POSTGRES_URL, else $CHATOPS_TEST_POSTGRES_URL. PostgreSQL only: SQLite
    has no link to break.

Bounds: at most 10,000 deliveries; the drain is awaited at most ``--drain-limit`` seconds
(at most 600). A drain that does not finish, or any lost or duplicated reply, prints
``benchmark failed: ...`` and exits 1. The proxy is restored and the database dropped
whatever happens.

Not measured: several replicas, other platforms, handlers other than ``tick``, the
acknowledgement reactions (the fake keeps one per comment), and database creation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from benchmarks.common import add_postgres_url_option, postgres_admin, table_line
from tests.fault_stream import Delivery, Progress, Stack, fault_stack, verdict

MAX_DELIVERIES = 10_000
MAX_DRAIN_LIMIT = 600.0
SAMPLE_EVERY = 0.5
HEADER = (
    "fault",
    "rate/s",
    "outage s",
    "n",
    "accepted 1st",
    "refused 5xx",
    "no answer 10 s",
    "drain s",
    "lost",
    "dup",
    "never accepted",
    "peak inbox",
    "peak outbox",
)


@dataclass(frozen=True, slots=True)
class Settings:
    postgres_url: str
    fault: str
    rate: float
    outage: float
    before: float
    after: float
    drain_limit: float
    redeliver_within: float


@dataclass(frozen=True, slots=True)
class Result:
    count: int
    accepted_first: int
    refused: int
    unanswered: int
    drain_seconds: float | None  # None: not drained within the limit
    lost: int
    duplicated: int
    wrong: int
    never_accepted: int
    peak_inbox: int
    peak_outbox: int


class DepthSampler:
    """Samples the waiting rows every ``SAMPLE_EVERY`` seconds until stopped; keeps peaks."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.peak_inbox = 0
        self.peak_outbox = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            inbox, outbox = await self._stack.depths()
            self.peak_inbox = max(self.peak_inbox, inbox)
            self.peak_outbox = max(self.peak_outbox, outbox)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)


def _inject(stack: Stack, fault: str) -> None:
    if fault == "cut":
        stack.proxy.cut()
    elif fault == "blackhole":
        stack.proxy.cut(blackhole=True)
    else:
        stack.proxy.stall()


async def _drained(
    stack: Stack, deliveries: Sequence[Delivery], progress: Progress, limit: float
) -> float | None:
    """Seconds until every delivery sent so far and accepted has a reply; None past ``limit``.

    The deliveries sent before the call may still be waiting for their answer (a stalled
    database); until every one has its answer, the backlog is not known to be drained.
    """
    sent = progress.sent
    started = time.monotonic()
    while time.monotonic() - started < limit:
        answers = [a for a in progress.answers if a.n < sent]
        accepted = {a.n for a in answers if a.accepted}
        backlog = [d for d in deliveries[:sent] if d.n in accepted]
        if len(answers) == sent and all(stack.replies(d) for d in backlog):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def measure(settings: Settings, url: str) -> Result:
    async with fault_stack(url) as stack:
        total = settings.before + settings.outage + settings.after
        deliveries = stack.deliveries(round(settings.rate * total))
        stop = asyncio.Event()
        sampler = DepthSampler(stack)
        sampling = asyncio.create_task(sampler.run(stop))
        progress = Progress()
        streaming = asyncio.create_task(stack.stream(deliveries, settings.rate, progress))
        try:
            await asyncio.sleep(settings.before)
            _inject(stack, settings.fault)
            await asyncio.sleep(settings.outage)
        finally:
            stack.proxy.restore()
        drain = await _drained(stack, deliveries, progress, settings.drain_limit)
        first = await streaming
        answers = first + await stack.redeliver(deliveries, first, settings.redeliver_within)
        await stack.settle(deliveries, settings.drain_limit if drain is not None else 5.0)
        await asyncio.sleep(1.0)  # time for a repeated reply to show up
        stop.set()
        await sampling
        found = await verdict(stack, deliveries, answers)
    return Result(
        count=len(deliveries),
        accepted_first=sum(a.accepted for a in first),
        refused=sum(500 <= a.status < 600 for a in first),
        unanswered=sum(a.status == 0 for a in first),
        drain_seconds=drain,
        lost=len(found["lost"]),
        duplicated=len(found["duplicated"]),
        wrong=len(found["wrong"]),
        never_accepted=len(found["never_accepted"]),
        peak_inbox=sampler.peak_inbox,
        peak_outbox=sampler.peak_outbox,
    )


async def run(settings: Settings) -> Result:
    name = f"chatops_bench_recovery_{uuid.uuid4().hex[:8]}"
    await postgres_admin(settings.postgres_url, f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(settings.postgres_url)._replace(path="/" + name))
    try:
        return await measure(settings, url)
    finally:
        await postgres_admin(
            settings.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


def render(settings: Settings, result: Result) -> str:
    drain = "not drained" if result.drain_seconds is None else f"{result.drain_seconds:.1f}"
    row = (
        settings.fault,
        f"{settings.rate:g}",
        f"{settings.outage:g}",
        str(result.count),
        str(result.accepted_first),
        str(result.refused),
        str(result.unanswered),
        drain,
        str(result.lost),
        str(result.duplicated),
        str(result.never_accepted),
        str(result.peak_inbox),
        str(result.peak_outbox),
    )
    load = os.getloadavg()[0]
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d}: {settings.rate:g} commands/s for "
        f"{settings.before:g} s, a {settings.outage:g} s outage ({settings.fault}), "
        f"{settings.after:g} s more; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"1-min load {load:.2f} at the end.",
        "",
        table_line(HEADER),
        table_line(["---"] * len(HEADER)),
        table_line(row),
    ]
    return "\n".join(lines)


def failures(settings: Settings, result: Result) -> list[str]:
    problems = []
    if result.drain_seconds is None:
        problems.append(f"the backlog did not drain within {settings.drain_limit:g} s")
    if result.lost or result.duplicated or result.wrong:
        problems.append(
            f"{result.lost} lost, {result.duplicated} duplicated, {result.wrong} wrong replies"
        )
    if result.never_accepted:
        problems.append(f"{result.never_accepted} deliveries never accepted")
    return problems


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recovery", description=__doc__)
    add_postgres_url_option(parser, "run")
    parser.add_argument("--fault", choices=("cut", "blackhole", "stall"), default="cut")
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds the link is down")
    parser.add_argument("--before", type=float, default=5.0, help="seconds before the outage")
    parser.add_argument("--after", type=float, default=5.0, help="seconds after the restore")
    parser.add_argument("--drain-limit", type=float, default=120.0)
    parser.add_argument("--redeliver-within", type=float, default=30.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.postgres_url:
        parser.error("no PostgreSQL URL: pass --postgres-url or set CHATOPS_BENCH_POSTGRES_URL")
    total = args.rate * (args.before + args.outage + args.after)
    if not 0 < total <= MAX_DELIVERIES:
        parser.error(f"rate x duration must give 1..{MAX_DELIVERIES} deliveries")
    if not 0 < args.drain_limit <= MAX_DRAIN_LIMIT:
        parser.error(f"--drain-limit must be in (0, {MAX_DRAIN_LIMIT:g}]")
    settings = Settings(
        postgres_url=args.postgres_url,
        fault=args.fault,
        rate=args.rate,
        outage=args.outage,
        before=args.before,
        after=args.after,
        drain_limit=args.drain_limit,
        redeliver_within=args.redeliver_within,
    )
    for name in ("chatops", "aiohttp", "asyncpg"):  # an outage logs every failed cycle
        logging.getLogger(name).setLevel(logging.CRITICAL)
    result = asyncio.run(run(settings))
    print(render(settings, result))
    problems = failures(settings, result)
    for problem in problems:
        print(f"benchmark failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
