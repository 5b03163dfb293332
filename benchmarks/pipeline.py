"""Shell invocations per second through the whole durable pipeline, on SQLite and PostgreSQL.

Intent
    Measure what one process sustains for the path every command takes:
    ``Invocation`` ("ping") -> ``Pipeline.submit`` (inbox row) -> inbox worker
    (router, ping handler, outbox and audit rows in one transaction) -> outbox
    sender -> ``ShellConnector.send``. The workers run under ``run_workers``, the
    production loop, and the real ``ShellConnector`` renders each reply with
    ``render_text`` into an ``io.StringIO``, so the render cost is in and the
    terminal is out.

Modes
    stream  One producer submits invocations back to back while the workers run
            in the same event loop. Latency per invocation runs from the start of
            its ``submit`` to the moment ``ShellConnector.send`` returned for its
            reply; wall time from the first submit to the last reply.
    burst   All invocations are submitted first (untimed), then the workers start
            and the drain is timed: the queue processing rate alone, independent
            of producer pacing. Throughput only.

Usage
    python -m benchmarks.pipeline [--backend sqlite|postgres|both] [--mode stream|burst|both]
        [--count N] [--repeat R] [--concurrency C] [--outbox-concurrency C] [--postgres-url URL]

    The PostgreSQL URL (an admin URL; the database in its path is only used to
    create and drop a database per round) defaults to $CHATOPS_BENCH_POSTGRES_URL,
    else $CHATOPS_TEST_POSTGRES_URL; without one, PostgreSQL is skipped with a
    message. ``--concurrency`` and ``--outbox-concurrency`` are the inbox worker's
    and the sender's batch sizes; everything else is ``Config()`` defaults.

Each round gets a fresh database: a SQLite file in a temporary directory, or a
PostgreSQL database created and dropped with asyncpg; both are migrated with
``Database.migrate``. Rounds alternate between backends and modes so that drift
on a shared machine hits all of them alike; each reported figure is the median
of that figure over the rounds, taken separately (so wall x inv/s need not equal n).

Not measured: platform I/O and HTTP (no network, no terminal), inbound webhook
parsing and signature checks, handlers other than ``ping``, several workers or
replicas claiming from one database, retries, dead letters and housekeeping,
database creation and migration (outside the timed window).

Bounds: ``--count`` is at most 20000 per round. Each backend gets 120 s of wall
time over all its rounds, setup included. A round that runs into the limit stops
submitting, lets in-flight batches finish and is reported as partial with what
completed; that backend's later rounds are skipped and the exit status is 1.

Checks: every round verifies that each submitted invocation got exactly one
reply (the connector saw each reply key once, no unknown keys, and, for a round
that completed, every inbox row is done and every outbox row sent). Any
violation aborts the run with a message and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from benchmarks.common import (
    BACKENDS,
    add_postgres_url_option,
    backends,
    failed_sends,
    percentile,
    postgres_admin,
    table_line,
)
from bot.app import builtin_commands
from bot.clock import SystemClock
from bot.config import Config, ConfigError, OutboxSettings, WorkerSettings
from bot.context import Services
from bot.logs import configure_logging
from bot.messages import Actor, Invocation, Outgoing, Platform, ReplyTarget
from bot.pipeline.assembly import Pipeline, build_pipeline, run_workers
from bot.pipeline.keys import reply_key
from bot.store.database import Database, open_database
from bot.web import version
from connectors.shell.client import ShellConnector

MAX_COUNT = 20_000
MAX_REPEAT = 20
BACKEND_BUDGET_SECONDS = 120.0
STOP_GRACE_SECONDS = 15.0
MODES = ("stream", "burst")
COMMAND_TEXT = "ping"
PING_REPLY_TITLE = "pong"
CHECK_INTERVAL = 0.25
NO_VALUE = "-"


class BenchmarkFailure(Exception):
    """The pipeline broke its promise during a run: a reply was lost, repeated or unknown."""


# --------------------------------------------------------------------------- the measured parts


class TimedShellConnector:
    """The real ``ShellConnector`` writing into a ``StringIO``, plus a timestamp per reply key."""

    def __init__(self, expected: int) -> None:
        self.output = io.StringIO()
        self._inner = ShellConnector(self.output)
        self._expected = expected
        self.sends: Counter[str] = Counter()
        self.sent_at: dict[str, float] = {}
        self.all_sent = asyncio.Event()

    @property
    def platform(self) -> Platform:
        return self._inner.platform

    async def send(self, message: Outgoing) -> None:
        await self._inner.send(message)
        now = time.perf_counter()
        self.sends[message.key] += 1
        self.sent_at.setdefault(message.key, now)
        if len(self.sent_at) >= self._expected:
            self.all_sent.set()

    def last_sent(self, default: float) -> float:
        return max(self.sent_at.values(), default=default)


class Producer:
    """Submits ``ping`` invocations as one shell session, noting when each submit began."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._session = uuid.uuid4().hex
        self._actor = Actor(platform=Platform.SHELL, id="bench", name="bench")
        self._reply_to = ReplyTarget(platform=Platform.SHELL, channel=self._session)
        self.started_at: dict[str, float] = {}  # reply key -> perf_counter at submit start
        self.submit_seconds: list[float] = []

    async def run(self, count: int, deadline: float) -> None:
        """Submit up to ``count`` invocations back to back; stop early at ``deadline``."""
        for index in range(count):
            if time.perf_counter() >= deadline:
                return
            invocation = self._invocation(index)
            started = time.perf_counter()
            accepted = await self._pipeline.submit(invocation)
            self.submit_seconds.append(time.perf_counter() - started)
            if not accepted:
                raise BenchmarkFailure(f"submit refused a fresh delivery key {index}")
            self.started_at[reply_key(invocation.id)] = started

    def _invocation(self, index: int) -> Invocation:
        return Invocation(
            id=uuid.uuid4().hex,
            platform=Platform.SHELL,
            actor=self._actor,
            text=COMMAND_TEXT,
            reply_to=self._reply_to,
            delivery_key=f"{self._session}:{index}",
            received_at=self._pipeline.clock.now(),
        )


# --------------------------------------------------------------------------- one round


@dataclass(frozen=True, slots=True)
class Settings:
    backends: tuple[str, ...]
    modes: tuple[str, ...]
    count: int
    repeat: int
    config: Config
    postgres_url: str | None


@dataclass(frozen=True, slots=True)
class Measurement:
    completed: int
    wall_seconds: float
    timed_out: bool
    latencies_ms: tuple[float, ...] = ()  # sorted; stream mode only
    submit_ms: tuple[float, ...] = ()  # sorted; stream mode only

    @property
    def throughput(self) -> float:
        return self.completed / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RoundResult:
    backend: str
    mode: str
    requested: int
    measured: Measurement


Measure = Callable[[Pipeline, TimedShellConnector, Settings, float], Awaitable[Measurement]]


async def run_round(backend: str, mode: str, settings: Settings, deadline: float) -> RoundResult:
    """One measured round on a fresh, migrated database, stopping at ``deadline``."""
    async with fresh_database(backend, settings.postgres_url) as database:
        connector = TimedShellConnector(settings.count)
        pipeline = _build_pipeline(settings.config, database, connector)
        measure: Measure = _stream if mode == "stream" else _burst
        measured = await measure(pipeline, connector, settings, deadline)
    return RoundResult(backend, mode, settings.count, measured)


async def _stream(
    pipeline: Pipeline, connector: TimedShellConnector, settings: Settings, deadline: float
) -> Measurement:
    producer = Producer(pipeline)
    async with _running_workers(pipeline, settings.config.workers.poll_interval):
        began = time.perf_counter()
        await producer.run(settings.count, deadline)
        complete = await _wait_for_replies(pipeline, connector, deadline)
    await _verify(pipeline, connector, producer, complete)
    latencies = [
        (connector.sent_at[key] - started) * 1000
        for key, started in producer.started_at.items()
        if key in connector.sent_at
    ]
    return Measurement(
        completed=len(connector.sent_at),
        wall_seconds=connector.last_sent(began) - began,
        timed_out=not complete,
        latencies_ms=tuple(sorted(latencies)),
        submit_ms=tuple(sorted(s * 1000 for s in producer.submit_seconds)),
    )


async def _burst(
    pipeline: Pipeline, connector: TimedShellConnector, settings: Settings, deadline: float
) -> Measurement:
    producer = Producer(pipeline)
    await producer.run(settings.count, deadline)
    async with _running_workers(pipeline, settings.config.workers.poll_interval):
        began = time.perf_counter()
        complete = await _wait_for_replies(pipeline, connector, deadline)
    await _verify(pipeline, connector, producer, complete)
    return Measurement(
        completed=len(connector.sent_at),
        wall_seconds=connector.last_sent(began) - began,
        timed_out=not complete,
    )


@asynccontextmanager
async def _running_workers(pipeline: Pipeline, poll_interval: float) -> AsyncIterator[None]:
    """Run the production worker loop for the body; then stop it and let batches finish."""
    stop = asyncio.Event()
    workers = asyncio.create_task(run_workers(pipeline, stop, poll_interval))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(workers, STOP_GRACE_SECONDS)


async def _wait_for_replies(
    pipeline: Pipeline, connector: TimedShellConnector, deadline: float
) -> bool:
    """True once every expected reply was sent; False if ``deadline`` came first.

    A failed send (retry or dead letter) aborts at once: the figures would include backoff
    delays, and a dead letter is a reply that will never come.
    """
    while not connector.all_sent.is_set():
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        failed = failed_sends(pipeline)
        if failed:
            raise BenchmarkFailure(f"the outbox recorded failed sends: {failed}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connector.all_sent.wait(), min(remaining, CHECK_INTERVAL))
    return True


async def _verify(
    pipeline: Pipeline, connector: TimedShellConnector, producer: Producer, complete: bool
) -> None:
    """Exactly one reply per submitted invocation; raise ``BenchmarkFailure`` otherwise."""
    repeated = sorted(key for key, sends in connector.sends.items() if sends > 1)
    if repeated:
        raise BenchmarkFailure(f"{len(repeated)} replies were sent more than once: {repeated[0]}")
    unknown = sorted(connector.sends.keys() - producer.started_at.keys())
    if unknown:
        raise BenchmarkFailure(f"{len(unknown)} replies answer nothing submitted: {unknown[0]}")
    if not complete:
        return
    missing = sorted(producer.started_at.keys() - connector.sends.keys())
    if missing:
        raise BenchmarkFailure(f"{len(missing)} invocations got no reply: {missing[0]}")
    submitted = len(producer.started_at)
    pongs = connector.output.getvalue().splitlines().count(PING_REPLY_TITLE)
    if pongs != submitted:
        raise BenchmarkFailure(f"{submitted - pongs} replies were not a {PING_REPLY_TITLE!r}")
    # the queues count live rows only: once every reply is sent, nothing is left
    expected = {
        "inbox": {"pending": 0, "claimed": 0},
        "outbox": {"pending": 0, "claimed": 0, "dead": 0, "waiting_for_connector": 0},
    }
    depths = await pipeline.queue_depths()
    if depths != expected:
        raise BenchmarkFailure(f"queues did not settle: {depths}, expected {expected}")


def _build_pipeline(config: Config, database: Database, connector: TimedShellConnector) -> Pipeline:
    clock = SystemClock()
    return build_pipeline(
        config,
        database,
        commands=builtin_commands(),
        connectors={connector.platform: connector},
        services=Services(clock=clock, started_at=clock.now(), version=version()),
        log=logging.getLogger("chatops"),
    )


# --------------------------------------------------------------------------- databases


@asynccontextmanager
async def fresh_database(backend: str, postgres_url: str | None) -> AsyncIterator[Database]:
    """A new, migrated database for one round; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="chatops-bench-") as directory:
            async with _opened(f"sqlite://{directory}/bench.sqlite3") as database:
                yield database
        return
    if postgres_url is None:
        raise ValueError("a PostgreSQL round needs a URL")
    name = f"chatops_bench_{uuid.uuid4().hex[:12]}"
    await postgres_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        async with _opened(_with_path(postgres_url, "/" + name)) as database:
            yield database
    finally:
        await postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[Database]:
    database = await open_database(url, require_migrated=False)
    try:
        await database.migrate()
        yield database
    finally:
        await database.close()


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """All rounds of one invocation of the benchmark, in the order they ran."""

    settings: Settings
    results: list[RoundResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    load_after: float = 0.0

    @property
    def incomplete(self) -> bool:
        return bool(self.notes)


def run_all(settings: Settings) -> Run:
    """Interleave rounds (round -> mode -> backend) within each backend's time budget."""
    run = Run(settings)
    spent = dict.fromkeys(settings.backends, 0.0)
    skipped = dict.fromkeys(settings.backends, 0)
    for number in range(1, settings.repeat + 1):
        for mode in settings.modes:
            for backend in settings.backends:
                if spent[backend] >= BACKEND_BUDGET_SECONDS:
                    skipped[backend] += 1
                    continue
                began = time.perf_counter()
                deadline = began + BACKEND_BUDGET_SECONDS - spent[backend]
                result = asyncio.run(run_round(backend, mode, settings, deadline))
                spent[backend] += time.perf_counter() - began
                run.results.append(result)
                _progress(result, number, settings.repeat)
                if result.measured.timed_out:
                    spent[backend] = BACKEND_BUDGET_SECONDS
                    run.notes.append(_partial_note(number, result))
    run.notes += [
        f"{backend}: {count} later round(s) skipped, its {BACKEND_BUDGET_SECONDS:.0f} s "
        "budget was used up"
        for backend, count in skipped.items()
        if count
    ]
    run.load_after = os.getloadavg()[0]
    return run


def _partial_note(number: int, result: RoundResult) -> str:
    return (
        f"{result.backend} {result.mode} round {number} hit the {BACKEND_BUDGET_SECONDS:.0f} s "
        f"limit: {result.measured.completed}/{result.requested} replies"
    )


def _progress(result: RoundResult, number: int, repeat: int) -> None:
    measured = result.measured
    print(
        f"[{result.backend} {result.mode} {number}/{repeat}] "
        f"{measured.completed}/{result.requested} replies in {measured.wall_seconds:.2f} s, "
        f"{measured.throughput:.0f} inv/s" + (" (time limit)" if measured.timed_out else ""),
        file=sys.stderr,
        flush=True,
    )


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class Row:
    """The medians over the rounds of one backend and mode."""

    backend: str
    mode: str
    rounds: int
    completed: str
    wall_seconds: float
    throughput: float
    throughput_low: float
    throughput_high: float
    latency_ms: dict[str, float]  # p50, p90, p99, max; empty in burst mode
    submit_p50_ms: float | None


PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0))


def summarise(results: Sequence[RoundResult], backend: str, mode: str) -> Row | None:
    chosen = [r for r in results if r.backend == backend and r.mode == mode]
    if not chosen:
        return None
    rounds = [r.measured for r in chosen]
    rates = [m.throughput for m in rounds]
    timed = [m for m in rounds if m.latencies_ms]
    latency = {
        name: statistics.median(percentile(m.latencies_ms, q) for m in timed)
        for name, q in PERCENTILES
        if timed
    }
    submits = [percentile(m.submit_ms, 50.0) for m in rounds if m.submit_ms]
    return Row(
        backend=backend,
        mode=mode,
        rounds=len(rounds),
        completed=_completed(chosen),
        wall_seconds=statistics.median(m.wall_seconds for m in rounds),
        throughput=statistics.median(rates),
        throughput_low=min(rates),
        throughput_high=max(rates),
        latency_ms=latency,
        submit_p50_ms=statistics.median(submits) if submits else None,
    )


def _completed(rounds: Sequence[RoundResult]) -> str:
    short = [r for r in rounds if r.measured.completed < r.requested]
    if not short:
        return str(rounds[0].requested)
    worst = min(short, key=lambda r: r.measured.completed)
    return f"{worst.measured.completed}/{worst.requested} (partial)"


HEADER = (
    "backend",
    "mode",
    "n",
    "rounds",
    "wall s",
    "inv/s",
    "inv/s range",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "submit p50 ms",
)


def render_report(run: Run) -> str:
    settings = run.settings
    rows = [
        row
        for mode in settings.modes
        for backend in settings.backends
        if (row := summarise(run.results, backend, mode)) is not None
    ]
    lines = [
        *_preamble(run),
        "",
        table_line(HEADER),
        table_line(("---",) * len(HEADER)),
        *(table_line(_cells(row)) for row in rows),
    ]
    if run.notes:
        lines += ["", *(f"- note: {note}" for note in run.notes)]
    return "\n".join(lines)


def _preamble(run: Run) -> list[str]:
    settings = run.settings
    workers, outbox = settings.config.workers, settings.config.outbox
    return [
        f"{date.today().isoformat()}: {settings.count} ping invocations per round, each figure "
        f"the median of {settings.repeat} rounds (inv/s range: slowest..fastest round).",
        f"Inbox concurrency {workers.concurrency}, outbox concurrency {outbox.concurrency}, "
        f"poll {workers.poll_interval:g} s; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, 1-min load {run.load_before:.2f} before, "
        f"{run.load_after:.2f} after.",
    ]


def _cells(row: Row) -> tuple[str, ...]:
    latency = [
        f"{row.latency_ms[name]:.1f}" if row.latency_ms else NO_VALUE for name, _ in PERCENTILES
    ]
    submit = NO_VALUE if row.submit_p50_ms is None else f"{row.submit_p50_ms:.2f}"
    return (
        row.backend,
        row.mode,
        row.completed,
        str(row.rounds),
        f"{row.wall_seconds:.2f}",
        f"{row.throughput:.0f}",
        f"{row.throughput_low:.0f}..{row.throughput_high:.0f}",
        *latency,
        submit,
    )


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    defaults = Config()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pipeline",
        description="Shell invocations per second through inbox, router, outbox and sender.",
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--count", type=int, default=500, help=f"per round, 1..{MAX_COUNT}")
    parser.add_argument("--repeat", type=int, default=3, help=f"rounds, 1..{MAX_REPEAT}")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=defaults.workers.concurrency,
        help="inbox worker batch size ([workers] concurrency)",
    )
    parser.add_argument(
        "--outbox-concurrency",
        type=int,
        default=defaults.outbox.concurrency,
        help="outbox sender batch size ([outbox] concurrency)",
    )
    add_postgres_url_option(parser, "round")
    return parser


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be between 1 and {MAX_COUNT}")
    if not 1 <= args.repeat <= MAX_REPEAT:
        parser.error(f"--repeat must be between 1 and {MAX_REPEAT}")
    return Settings(
        backends=backends(parser, args.backend, args.postgres_url),
        modes=MODES if args.mode == "both" else (args.mode,),
        count=args.count,
        repeat=args.repeat,
        config=_config(parser, args.concurrency, args.outbox_concurrency),
        postgres_url=args.postgres_url,
    )


def _config(parser: argparse.ArgumentParser, inbox: int, outbox: int) -> Config:
    """``Config()`` defaults with the two batch sizes from the command line, validated."""
    try:
        workers = WorkerSettings(concurrency=inbox)
    except ConfigError as exc:
        parser.error(f"--concurrency {exc.reason}")
    try:
        sender = OutboxSettings(concurrency=outbox)
    except ConfigError as exc:
        parser.error(f"--outbox-concurrency {exc.reason}")
    return Config(workers=workers, outbox=sender)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    settings = _settings(parser, parser.parse_args(argv))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    configure_logging("WARNING", "text", (), sys.stderr)
    try:
        run = run_all(settings)
    except BenchmarkFailure as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(render_report(run))
    return 1 if run.incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
