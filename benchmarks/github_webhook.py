"""Signed GitHub webhooks acked per second, ack latency and webhook-to-reply latency.

Intent
    Measure what issue 3 asks of ``POST /webhooks/github``: how many signed
    ``issue_comment`` deliveries one bot process acknowledges per second with every one
    persisted, how long each waits for its 202, and how long from the webhook to the
    reply comment at the (fake) GitHub API; and set that beside the limit of the stack,
    a bare aiohttp handler that only verifies the signature, parses and answers 202.

Servers (measured side by side in one run, on 127.0.0.1, each behind a real
``web.AppRunner``/``TCPSite`` on port 0, never the aiohttp test client)
    baseline  a bare handler: read the body, ``connectors.github.signatures.verify``,
              ``json.loads``, answer 202 ``{"accepted": 1}``. No database, no workers.
    sqlite    the real application: ``create_app`` with ``GitHubIntegration`` in token
    postgres  mode, a fresh migrated database per scenario, the workers, the outbox and the
              scheduler running, and ``tests.fakes.github.FakeGitHub`` as GitHub's API.
              Settings are ``Config()`` defaults apart from the database and GitHub.

Load shapes (a keep-alive aiohttp client in its own process; see ``benchmarks.github_load``)
    c16       fixed concurrency 16 (closed loop) for ``--count`` deliveries: acks per
              second, ack p50/p99 from request start to the 202.
    rate N/s  open loop at 100, 300 and 1000 deliveries per second for ``--rate-seconds``
              each (at most 256 connections): achieved rate, ack p50/p99 measured from the
              moment each delivery was due.
    burst     ``--burst`` deliveries all due at once through at most 256 client connections,
              with the fake answering create-comment and the 👀 reaction after 150 ms
              (``--api-delay``): ack p50/p99 from the moment each delivery got one of the
              256 client connections and was sent (the wait GitHub's own 10 s timeout
              would see; p99 from the burst start, client queueing included, is shown
              too), and the outbox depth sampled every 0.5 s. The
              writes to one installation are serialized by the client, so the outbox cannot
              drain in the scenario's budget at that latency: after ``--burst-window``
              seconds the benchmark lifts the fake's delay and times the rest of the drain,
              so that the exactly-once checks can run. It reports the maximum depth, the
              depth at the end of the window, the rows sent per second during the window
              and the drain time that rate implies for the whole burst.
    Each delivery is GitHub's ``issue_comment.created.with-installation.json`` example
    (with ``issue.pull_request`` set, as in the tests) whose comment body is
    ``@chatops ping``, whose ``comment.id`` is a comment seeded at the fake (so the 👀
    reaction lands), and whose ``issue.number`` is a thread of its own (so each reply at
    the fake can be traced to its delivery); each has a unique ``X-GitHub-Delivery`` and a
    correct ``X-Hub-Signature-256``.

End to end (bot rows of c16 and rate scenarios): from the moment the client started (c16)
or was due to send (rate) a delivery, to the moment the fake recorded the create-comment
request of its reply (after the fake computed its answer, just before writing it). Both
ends are ``time.monotonic()`` in different processes of one machine. It includes the 202,
the inbox queue, the ``ping`` handler, the outbox queue, the serialized 👀 and reply writes
and the fake's own handling. The burst shows no end-to-end figure (the lifted delay would
make it meaningless).

Usage
    python -m benchmarks.github_webhook [--backend sqlite|postgres|both] [--repeat R]
        [--count N] [--rate-seconds S] [--burst N] [--burst-rounds R] [--burst-window S]
        [--api-delay S]
        [--scenarios c16,rates,burst] [--postgres-url URL]

    The PostgreSQL URL (an admin URL; a database is created and dropped per scenario)
    defaults to $CHATOPS_BENCH_POSTGRES_URL, else $CHATOPS_TEST_POSTGRES_URL; without one,
    PostgreSQL is skipped with a message. Progress goes to stderr, the report to stdout.

Rounds interleave: in each round every scenario runs on the baseline, then SQLite, then
PostgreSQL, so drift on a shared machine hits all servers alike. Each figure is the median
over rounds of that round's figure; ``x baseline`` is the median of the per-round ratios.
The bot's process also hosts nothing but the bot; the fake GitHub and the load client each
have a process of their own (the machine has 2 cores, so they still compete for CPU, as
does PostgreSQL). ``cpu %`` columns give each side's process CPU time over the load's wall
time (100 = one core), to show which side was saturated.

Not measured: TLS, a real network, GitHub itself, App mode (JWTs, installation tokens),
commands other than ``ping``, several processes or replicas, retries and dead letters,
database creation and migration (outside the timed window).

Bounds: each scenario has ``SCENARIO_BUDGET`` (120 s) of wall time, setup and drain
included, except the burst, whose drain of two rows per delivery through serialized writes
gets ``BURST_BUDGET`` (300 s); the client sends nothing after ``LOAD_LIMIT`` (60 s) and
cancels what is still unanswered 30 s later. The burst runs in the first ``--burst-rounds``
rounds only (default 1). ``--count`` and ``--burst`` are at most 20000, ``--rate-seconds``
at most 20, ``--repeat`` at most 10. A scenario that hits a limit is reported as partial,
later rounds of that scenario and server are skipped, and the exit status is 1.

Checks after each scenario: every delivery was answered 202 with ``accepted`` = 1; for the
bot, once the system drained, the inbox holds exactly the deliveries sent (one row each, all
done), the outbox holds two sent rows per delivery, the fake saw exactly one reply comment
by the bot in each delivery's thread (quoting the command and saying ``pong``) and exactly
one 👀 by the bot on each delivery's comment, every write it saw succeeded, no send failed
or was retried, and ``github.violations`` is empty. A violation prints
``benchmark failed: ...`` with the report so far and exits with status 1.

Targets (from issue 3; printed as PASS/FAIL, they are not asserts): bot acks/s at least
0.5x the baseline's at concurrency 16 with every delivery persisted; ack p99 under 50 ms
at 300/s; ack p99 (from send) under 1 s during the burst with the outbox bounded, meaning it never
held more than two rows (👀 and reply) per delivery and emptied within the budget once the
delay was lifted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from benchmarks import github_fake_host as fake_host
from benchmarks.common import (
    BACKENDS,
    add_postgres_url_option,
    backends,
    failed_sends,
    percentile,
    postgres_admin,
    table_line,
)
from benchmarks.github_load import (
    COMMAND,
    UNANSWERED,
    LoadResult,
    LoadSpec,
    Target,
    prepare,
    run_load,
    warm_up,
)
from bot.config import Config, DatabaseSettings, Secret
from bot.config.platforms import GitHubSettings
from bot.logs import configure_logging
from bot.pipeline.assembly import Pipeline
from bot.store.models import InboxItem
from bot.web import PIPELINE, create_app
from commands import builtin_commands
from connectors.github import signatures
from connectors.github.integration import ROUTE, GitHubIntegration
from tests.github_stack import migrate

MAX_COUNT = 20_000
MAX_RATE_SECONDS = 20.0
MAX_REPEAT = 10
SCENARIO_BUDGET = 120.0
BURST_BUDGET = 300.0
LOAD_LIMIT = 60.0
STOP_GRACE = 15.0
CHECK_INTERVAL = 0.25
SAMPLE_INTERVAL = 0.5
CONCURRENCY = 16
RATES = (100, 300, 1000)
POOL_CONNECTIONS = 256
BASELINE = "baseline"
SCENARIO_GROUPS = ("c16", "rates", "burst")

SECRET = "benchmark webhook secret"
TOKEN = "ghp_benchmark_token"
REPO = "Codertocat/Hello-World"  # the example payload's repository
AUTHOR = "Codertocat"  # the example payload's commenter
BOT_LOGIN = "chatops-bot"  # GitHubSettings.bot_login and FakeGitHub's default
FIRST_THREAD = 1000
WRITE_OPERATIONS = ("issues/create-comment", "reactions/create-for-issue-comment")
REPLY_TITLE = "pong"
NO_VALUE = "-"
T = TypeVar("T")


class BenchmarkFailure(Exception):
    """The system broke a promise: a delivery not acked or persisted, a reply lost or doubled."""


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    shape: str  # a github_load shape
    count: int
    connections: int
    rate: float | None = None
    api_delay: float = 0.0
    window: float = 0.0  # burst: how long the outbox is watched with the API delay on

    @property
    def is_burst(self) -> bool:
        return self.shape == "burst"


@dataclass(frozen=True, slots=True)
class Settings:
    servers: tuple[str, ...]  # BASELINE first, then backends
    scenarios: tuple[Scenario, ...]
    repeat: int
    burst_rounds: int
    postgres_url: str | None


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True, slots=True)
class BurstFigures:
    all_acked_seconds: float  # first send to the last 202
    max_outbox: int  # outbox rows pending or claimed, largest sample
    max_inbox: int
    outbox_at_window_end: int
    sent_rate: float  # outbox rows sent per second while the API took api_delay
    projected_drain_seconds: float  # 2 x n rows at sent_rate
    drain_after_lift_seconds: float | None  # None if it did not empty within the budget
    timeline: tuple[tuple[float, int, int], ...]  # (seconds from first send, outbox, inbox)


@dataclass(frozen=True, slots=True)
class Measured:
    scenario: Scenario
    server: str
    round: int
    sent: int
    acked: int
    ack_rate: float
    ack_ms: tuple[float, ...]  # sorted; from start (c16) or due time (rate, burst)
    sent_ms: tuple[float, ...]  # sorted; from the moment the request got a client slot
    e2e_ms: tuple[float, ...] = ()  # sorted; bot, not burst
    client_cpu: float = 0.0  # percent of one core over the load's wall time
    server_cpu: float = 0.0
    complete: bool = True
    burst: BurstFigures | None = None
    note: str = ""


# --------------------------------------------------------------------------- servers


def baseline_app() -> web.Application:
    """The limit of the stack: verify the HMAC over the raw body, parse, answer 202."""
    secrets = (SECRET,)

    async def bare(request: web.Request) -> web.Response:
        body = await request.read()
        if not signatures.verify(body, request.headers.get("X-Hub-Signature-256"), secrets):
            return web.json_response({"error": "invalid signature"}, status=401)
        payload = json.loads(body)
        if not isinstance(payload, dict):
            return web.json_response({"error": "malformed payload"}, status=400)
        return web.json_response({"accepted": 1, "duplicates": 0}, status=202)

    app = web.Application()
    app.router.add_post(ROUTE, bare)
    return app


def bot_config(database_url: str, api_url: str) -> Config:
    """``Config()`` defaults, with the database and GitHub in token mode against the fake."""
    return Config(
        database=DatabaseSettings(url=database_url),
        github=GitHubSettings(
            enabled=True,
            api_url=api_url,
            webhook_secrets=(Secret("env:GITHUB_WEBHOOK_SECRET", SECRET),),
            token=Secret("env:GITHUB_TOKEN", TOKEN),
        ),
    )


@asynccontextmanager
async def serving(app: web.Application, shutdown_timeout: float) -> AsyncIterator[str]:
    """Serve ``app`` as ``bot.web.serve`` does, on 127.0.0.1 port 0; yields the webhook URL."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout)
    try:
        await runner.setup()
    except BaseException:
        await app.cleanup()
        raise
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}{ROUTE}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def fresh_database(backend: str, postgres_url: str | None) -> AsyncIterator[str]:
    """The URL of a new, migrated database for one scenario; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="chatops-bench-gh-") as directory:
            url = f"sqlite://{directory}/bench.sqlite3"
            await migrate(url)
            yield url
        return
    if postgres_url is None:
        raise ValueError("a PostgreSQL scenario needs a URL")
    name = f"chatops_bench_gh_{uuid.uuid4().hex[:12]}"
    await postgres_admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(postgres_url)._replace(path="/" + name))
        await migrate(url)
        yield url
    finally:
        await postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- one scenario


@dataclass(frozen=True, slots=True)
class Pools:
    load: Executor
    fake: Executor


async def _in(pool: Executor, function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, function, *args)


async def _load(pools: Pools, spec: LoadSpec) -> tuple[LoadResult, float, float]:
    """Run the client; also this (server) process's CPU percent and the sending wall time."""
    await _in(pools.load, prepare, spec)
    cpu, wall = time.process_time(), time.monotonic()
    result = await _in(pools.load, run_load)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return result, 100 * cpu / wall if wall > 0 else 0.0, wall


def _load_spec(url: str, scenario: Scenario, targets: tuple[Target, ...]) -> LoadSpec:
    return LoadSpec(
        url=url,
        secret=SECRET,
        shape=scenario.shape,
        targets=targets,
        connections=scenario.connections,
        rate=scenario.rate,
        time_limit=LOAD_LIMIT,
    )


def _unseeded_targets(count: int) -> tuple[Target, ...]:
    return tuple(
        Target(str(uuid.uuid4()), index + 1, FIRST_THREAD + index) for index in range(count)
    )


async def baseline_round(scenario: Scenario, pools: Pools, number: int) -> Measured:
    targets = _unseeded_targets(scenario.count)
    async with serving(baseline_app(), shutdown_timeout=STOP_GRACE) as url:
        result, server_cpu, _wall = await _load(pools, _load_spec(url, scenario, targets))
    _check_acks(result, scenario.count, BASELINE)
    return _measured(scenario, BASELINE, number, result, server_cpu)


async def bot_round(
    scenario: Scenario, backend: str, pools: Pools, number: int, postgres_url: str | None
) -> Measured:
    deadline = time.monotonic() + (BURST_BUDGET if scenario.is_burst else SCENARIO_BUDGET)
    api_url = await _in(pools.fake, fake_host.start, TOKEN)
    numbers = [FIRST_THREAD + index for index in range(scenario.count)]
    comment_ids = await _in(pools.fake, fake_host.seed, REPO, numbers, COMMAND, AUTHOR)
    if scenario.api_delay:
        await _in(pools.fake, fake_host.delay, WRITE_OPERATIONS, scenario.api_delay)
    targets = tuple(
        Target(str(uuid.uuid4()), comment_id, thread)
        for comment_id, thread in zip(comment_ids, numbers, strict=True)
    )
    async with fresh_database(backend, postgres_url) as database_url:
        config = bot_config(database_url, api_url)
        app = create_app(
            config,
            commands=builtin_commands(),
            integrations=[GitHubIntegration(config.github, config.bot)],
        )
        async with serving(app, config.server.shutdown_timeout) as url:
            pipeline = app[PIPELINE]
            sampler = DepthSampler(pipeline)
            if scenario.is_burst:
                sampler.start()
            result, server_cpu, _wall = await _load(pools, _load_spec(url, scenario, targets))
            acked = _check_acks(result, scenario.count, backend)
            burst_window: tuple[int, int, float] | None = None
            if scenario.is_burst:
                await _sleep_until(min(result.began + scenario.window, deadline))
                burst_window = await _sent_and_pending(pipeline)
                await _in(pools.fake, fake_host.delay, WRITE_OPERATIONS, 0.0)
            lifted = time.monotonic()
            drained = await _wait_drained(pipeline, acked, deadline)
            drained_at = time.monotonic()
            await sampler.stop()
            report = await _in(pools.fake, fake_host.report)
            await _check_bot(pipeline, report, targets, result, drained)
    measured = _measured(scenario, backend, number, result, server_cpu)
    complete = drained and measured.complete
    note = measured.note or ("" if drained else "the outbox did not drain within the budget")
    if burst_window is not None and burst_window[2] > result.began + scenario.window + 1:
        overran = f"the window was measured at {burst_window[2] - result.began:.0f} s, not "
        overran += f"{scenario.window:g} s: the load itself took longer"
        note = f"{note}; {overran}" if note else overran
    e2e = () if scenario.is_burst else _end_to_end(report, targets, result)
    burst = None
    if burst_window is not None:
        burst = _burst_figures(
            scenario, result, sampler, burst_window, (drained_at - lifted) if drained else None
        )
    return Measured(
        scenario=scenario,
        server=backend,
        round=number,
        sent=measured.sent,
        acked=measured.acked,
        ack_rate=measured.ack_rate,
        ack_ms=measured.ack_ms,
        sent_ms=measured.sent_ms,
        e2e_ms=e2e,
        client_cpu=measured.client_cpu,
        server_cpu=server_cpu,
        complete=complete,
        burst=burst,
        note=note,
    )


async def _sleep_until(moment: float) -> None:
    wait = moment - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


class DepthSampler:
    """Queue depths every ``SAMPLE_INTERVAL`` seconds: (monotonic time, outbox, inbox)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self.samples: list[tuple[float, int, int]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            depths = await self._pipeline.queue_depths()
            self.samples.append(
                (time.monotonic(), _waiting(depths["outbox"]), _waiting(depths["inbox"]))
            )
            await asyncio.sleep(SAMPLE_INTERVAL)


def _waiting(depth: dict[str, int]) -> int:
    return depth.get("pending", 0) + depth.get("claimed", 0)


async def _sent_and_pending(pipeline: Pipeline) -> tuple[int, int, float]:
    """Outbox rows sent and waiting, and the moment the count was taken."""
    outbox = (await pipeline.queue_depths())["outbox"]
    return outbox.get("sent", 0), _waiting(outbox), time.monotonic()


async def _wait_drained(pipeline: Pipeline, accepted: int, deadline: float) -> bool:
    """True once every persisted delivery (at least the ``accepted`` ones; a delivery the
    client gave up on may be persisted too) is done and its two outbox rows are sent."""
    while True:
        failed = failed_sends(pipeline)
        if failed:
            raise BenchmarkFailure(f"the outbox recorded failed sends: {failed}")
        depths = await pipeline.queue_depths()
        done = depths["inbox"].get("done", 0)
        if done >= accepted and depths == {"inbox": {"done": done}, "outbox": {"sent": 2 * done}}:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(CHECK_INTERVAL)


# --------------------------------------------------------------------------- checks


def _check_acks(result: LoadResult, count: int, server: str) -> int:
    """Every answered delivery got 202 with accepted=1; the number answered so.

    A request the client gave up on at its time limit is not a violation but a partial
    round (see ``_measured``).
    """
    bad = [
        o for o in result.outcomes if (o.status != 202 or o.accepted != 1) and o.error != UNANSWERED
    ]
    if bad:
        first = bad[0]
        reason = first.error or f"status {first.status}, accepted {first.accepted}"
        raise BenchmarkFailure(f"{server}: {len(bad)}/{count} deliveries not acked ({reason})")
    return len(result.outcomes)


async def _check_bot(
    pipeline: Pipeline,
    report: fake_host.FakeReport,
    targets: Sequence[Target],
    result: LoadResult,
    drained: bool,
) -> None:
    """Each acked delivery persisted once; once drained, one reply and one 👀 each at the fake.

    When the system did not drain in time, only "never more than one" is checked.
    """
    if report.violations:
        raise BenchmarkFailure(
            f"the fake GitHub saw {len(report.violations)} violation(s): {report.violations[0]}"
        )
    writes = [c for c in report.calls if c.method != "GET"]
    unexpected = sorted({str(c.operation_id) for c in writes} - set(WRITE_OPERATIONS))
    if unexpected:
        raise BenchmarkFailure(f"unexpected writes at the fake: {unexpected}")
    failed = [c for c in writes if c.status != 201]
    if failed:
        raise BenchmarkFailure(
            f"{len(failed)} write(s) at the fake failed: "
            f"{failed[0].method} {failed[0].path} -> {failed[0].status}"
        )
    key_of = {f"github:{target.delivery}:0": target for target in targets}
    acked = {targets[o.index] for o in result.outcomes if o.status == 202}
    unanswered = {targets[o.index] for o in result.outcomes if o.error == UNANSWERED}
    rows = await InboxItem.filter(platform="github").values_list("delivery_key", flat=True)
    stored = Counter(str(key) for key in rows)
    repeated = [key for key, times in stored.items() if times > 1]
    strangers = [key for key in stored if key not in key_of]
    persisted = {key_of[key] for key in stored if key in key_of}
    if repeated or strangers or not acked <= persisted <= acked | unanswered:
        raise BenchmarkFailure(
            f"the inbox does not hold exactly the acked deliveries ({sum(stored.values())} "
            f"rows for {len(acked)} acked; repeated {repeated[:1]}, unknown {strangers[:1]}, "
            f"acked but missing {len(acked - persisted)})"
        )
    sent = sorted(persisted, key=lambda target: target.number)
    replies = Counter(c.number for c in report.comments if c.author == BOT_LOGIN)
    eyes = Counter(
        r.comment_id
        for r in report.reactions
        if (r.kind, r.content, r.user) == ("issue_comment", "eyes", BOT_LOGIN)
    )
    _exactly_once("reply comment", replies, {t.number for t in sent}, drained)
    _exactly_once("👀 reaction", eyes, {t.comment_id for t in sent}, drained)
    if len(report.reactions) != sum(eyes.values()):
        raise BenchmarkFailure("the fake holds reactions other than the bot's 👀")
    for comment in report.comments:
        if comment.author == BOT_LOGIN and not _is_ping_reply(comment.body):
            raise BenchmarkFailure(f"a reply is not a quoted pong: {comment.body[:200]!r}")


def _exactly_once(what: str, seen: Counter[int], wanted: set[int], drained: bool) -> None:
    repeated = sorted(key for key, times in seen.items() if times > 1)
    if repeated:
        raise BenchmarkFailure(f"{len(repeated)} deliveries got more than one {what}")
    unknown = sorted(seen.keys() - wanted)
    if unknown:
        raise BenchmarkFailure(f"{len(unknown)} {what}(s) answer no delivery sent: {unknown[0]}")
    missing = sorted(wanted - seen.keys())
    if drained and missing:
        raise BenchmarkFailure(f"{len(missing)} deliveries got no {what}: {missing[0]}")


def _is_ping_reply(body: str) -> bool:
    """The reply quotes the command (its mention defused) and says ``pong``."""
    quote, _, rest = body.partition("\n")
    return (
        quote.startswith("> ")
        and quote.endswith(COMMAND.split("@", 1)[1])
        and f"**{REPLY_TITLE}**" in rest
    )


def _end_to_end(
    report: fake_host.FakeReport, targets: Sequence[Target], result: LoadResult
) -> tuple[float, ...]:
    """Milliseconds from each delivery's start (or due time) to its reply at the fake."""
    prefix = f"/repos/{REPO}/issues/"
    replied: dict[int, float] = {}
    for call in report.calls:
        if call.operation_id == "issues/create-comment" and call.path.startswith(prefix):
            number = int(call.path[len(prefix) :].split("/", 1)[0])
            replied.setdefault(number, call.at)
    latencies = [
        (replied[targets[o.index].number] - o.due) * 1000
        for o in result.outcomes
        if targets[o.index].number in replied
    ]
    return tuple(sorted(latencies))


def _burst_figures(
    scenario: Scenario,
    result: LoadResult,
    sampler: DepthSampler,
    window: tuple[int, int, float],
    drain_after_lift: float | None,
) -> BurstFigures:
    sent_in_window, pending_at_end, window_end = window
    acked = [o.ended for o in result.outcomes if o.status == 202]
    all_acked = max(acked, default=result.began) - result.began
    samples = sampler.samples
    elapsed = window_end - result.began  # the nominal window, or more if the acks overran it
    rate = sent_in_window / elapsed if elapsed > 0 else 0.0
    rows = 2 * len(acked)
    return BurstFigures(
        all_acked_seconds=all_acked,
        max_outbox=max((s[1] for s in samples), default=0),
        max_inbox=max((s[2] for s in samples), default=0),
        outbox_at_window_end=pending_at_end,
        sent_rate=rate,
        projected_drain_seconds=rows / rate if rate > 0 else math.inf,
        drain_after_lift_seconds=drain_after_lift,
        timeline=tuple((at - result.began, outbox, inbox) for at, outbox, inbox in samples),
    )


def _measured(
    scenario: Scenario, server: str, number: int, result: LoadResult, server_cpu: float
) -> Measured:
    outcomes = result.outcomes
    acked = [o for o in outcomes if o.status == 202 and o.accepted == 1]
    last = max((o.ended for o in acked), default=result.began)
    wall = last - result.began
    complete = len(acked) == scenario.count
    return Measured(
        scenario=scenario,
        server=server,
        round=number,
        sent=len(outcomes),
        acked=len(acked),
        ack_rate=len(acked) / wall if wall > 0 else 0.0,
        ack_ms=tuple(sorted(o.latency * 1000 for o in acked)),
        sent_ms=tuple(sorted(o.sent_latency * 1000 for o in acked)),
        client_cpu=result.client_cpu,
        server_cpu=server_cpu,
        complete=complete,
        note="" if complete else f"{len(acked)}/{scenario.count} acked within the time limit",
    )


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    settings: Settings
    results: list[Measured] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # partial rounds: exit status 1
    remarks: list[str] = field(default_factory=list)  # worth reading, not a failure
    failure: str | None = None
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    load_after: float = 0.0

    @property
    def incomplete(self) -> bool:
        return bool(self.notes) or self.failure is not None


def run_all(settings: Settings) -> Run:
    """Round -> scenario -> server (baseline first); a partial scenario skips its later rounds."""
    run = Run(settings)
    given_up: set[tuple[str, str]] = set()
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=context) as load_pool,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as fake_pool,
    ):
        pools = Pools(load=load_pool, fake=fake_pool)
        load_pool.submit(warm_up).result()
        fake_pool.submit(fake_host.warm_up).result()
        try:
            for number in range(1, settings.repeat + 1):
                for scenario in settings.scenarios:
                    for server in settings.servers:
                        if (scenario.name, server) in given_up:
                            continue
                        if scenario.is_burst and number > settings.burst_rounds:
                            continue
                        measured = asyncio.run(_one(scenario, server, pools, number, settings))
                        run.results.append(measured)
                        _progress(measured, settings.repeat)
                        if measured.complete and measured.note:
                            run.remarks.append(
                                f"{server} {scenario.name} round {number}: {measured.note}"
                            )
                        if not measured.complete:
                            given_up.add((scenario.name, server))
                            run.notes.append(
                                f"{server} {scenario.name} round {number}: {measured.note}; "
                                "its later rounds were skipped"
                            )
        except BenchmarkFailure as exc:
            run.failure = str(exc)
        finally:
            with contextlib.suppress(Exception):
                fake_pool.submit(fake_host.stop).result(timeout=STOP_GRACE)
    run.load_after = os.getloadavg()[0]
    return run


async def _one(
    scenario: Scenario, server: str, pools: Pools, number: int, settings: Settings
) -> Measured:
    if server == BASELINE:
        return await baseline_round(scenario, pools, number)
    return await bot_round(scenario, server, pools, number, settings.postgres_url)


def _progress(measured: Measured, repeat: int) -> None:
    line = (
        f"[{measured.scenario.name} {measured.server} {measured.round}/{repeat}] "
        f"{measured.acked}/{measured.scenario.count} acked, {measured.ack_rate:.0f}/s, "
        f"ack p50 {_pct(measured.ack_ms, 50):.1f} ms p99 {_pct(measured.ack_ms, 99):.1f} ms"
    )
    if measured.e2e_ms:
        line += f", e2e p50 {_pct(measured.e2e_ms, 50):.0f} ms"
    if measured.burst is not None:
        line += f", from send p99 {_pct(measured.sent_ms, 99):.1f} ms"
        burst = measured.burst
        drain = burst.drain_after_lift_seconds
        line += (
            f", outbox max {burst.max_outbox}, {burst.sent_rate:.1f} rows/s at the API delay, "
            f"drain after lift {'-' if drain is None else f'{drain:.1f} s'}"
        )
    line += f", cpu client {measured.client_cpu:.0f}% server {measured.server_cpu:.0f}%"
    if measured.note:
        line += f" ({measured.note})"
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the report


def _pct(ordered: Sequence[float], q: float) -> float:
    return percentile(ordered, q) if ordered else math.nan


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _chosen(run: Run, scenario: Scenario, server: str) -> list[Measured]:
    return [m for m in run.results if m.scenario == scenario and m.server == server]


def _ratios(run: Run, scenario: Scenario, server: str) -> list[float]:
    """Per round: this server's acks/s over the baseline's in the same round."""
    baseline = {m.round: m.ack_rate for m in _chosen(run, scenario, BASELINE)}
    return [
        m.ack_rate / baseline[m.round]
        for m in _chosen(run, scenario, server)
        if baseline.get(m.round)
    ]


def _fmt(value: float, digits: int = 1) -> str:
    return NO_VALUE if math.isnan(value) else f"{value:.{digits}f}"


ACK_HEADER = (
    "scenario",
    "server",
    "n",
    "rounds",
    "acks/s",
    "acks/s range",
    "x baseline",
    "ack p50 ms",
    "ack p99 ms",
    "ack max ms",
    "e2e p50 ms",
    "e2e p99 ms",
    "cpu % client/server",
)

BURST_HEADER = (
    "server",
    "n",
    "rounds",
    "ack p50 ms",
    "ack p99 ms",
    "ack p99 ms from burst start",
    "all acked s",
    "max outbox",
    "max inbox",
    "outbox at window end",
    "rows/s at API delay",
    "projected drain s",
    "drain s after lift",
)


def _ack_row(run: Run, scenario: Scenario, server: str) -> tuple[str, ...] | None:
    chosen = _chosen(run, scenario, server)
    if not chosen:
        return None
    rates = [m.ack_rate for m in chosen]
    with_e2e = [m for m in chosen if m.e2e_ms]
    ratio = _median(_ratios(run, scenario, server)) if server != BASELINE else math.nan
    short = [m for m in chosen if not m.complete]
    n = str(scenario.count) if not short else f"{min(m.acked for m in short)}/{scenario.count}"
    return (
        scenario.name,
        server,
        n,
        str(len(chosen)),
        f"{_median(rates):.0f}",
        f"{min(rates):.0f}..{max(rates):.0f}",
        NO_VALUE if math.isnan(ratio) else f"{ratio:.2f}",
        _fmt(_median([_pct(m.ack_ms, 50) for m in chosen])),
        _fmt(_median([_pct(m.ack_ms, 99) for m in chosen])),
        _fmt(_median([_pct(m.ack_ms, 100) for m in chosen])),
        _fmt(_median([_pct(m.e2e_ms, 50) for m in with_e2e]), 0),
        _fmt(_median([_pct(m.e2e_ms, 99) for m in with_e2e]), 0),
        f"{_median([m.client_cpu for m in chosen]):.0f}/"
        f"{_median([m.server_cpu for m in chosen]):.0f}",
    )


def _burst_row(run: Run, scenario: Scenario, server: str) -> tuple[str, ...] | None:
    chosen = [m for m in _chosen(run, scenario, server) if m.burst is not None]
    if not chosen:
        return None
    bursts = [m.burst for m in chosen if m.burst is not None]
    drains = [b.drain_after_lift_seconds for b in bursts]
    drained = [d for d in drains if d is not None]
    return (
        server,
        str(scenario.count),
        str(len(chosen)),
        _fmt(_median([_pct(m.sent_ms, 50) for m in chosen])),
        _fmt(_median([_pct(m.sent_ms, 99) for m in chosen])),
        _fmt(_median([_pct(m.ack_ms, 99) for m in chosen])),
        _fmt(_median([b.all_acked_seconds for b in bursts])),
        f"{_median([b.max_outbox for b in bursts]):.0f}",
        f"{_median([b.max_inbox for b in bursts]):.0f}",
        f"{_median([b.outbox_at_window_end for b in bursts]):.0f}",
        _fmt(_median([b.sent_rate for b in bursts])),
        f"{_median([b.projected_drain_seconds for b in bursts]):.0f}",
        _fmt(_median(drained)) + ("" if len(drained) == len(drains) else " (some did not)"),
    )


def render_report(run: Run) -> str:
    settings = run.settings
    lines = [*_preamble(run), ""]
    plain = [s for s in settings.scenarios if not s.is_burst]
    if plain:
        lines += [table_line(ACK_HEADER), table_line(("---",) * len(ACK_HEADER))]
        lines += [
            table_line(row)
            for scenario in plain
            for server in settings.servers
            if (row := _ack_row(run, scenario, server)) is not None
        ]
        lines.append("")
    for scenario in (s for s in settings.scenarios if s.is_burst):
        lines += [
            f"Burst: {scenario.count} deliveries due at once through at most "
            f"{scenario.connections} client connections; the fake took "
            f"{scenario.api_delay * 1000:.0f} ms per create-comment and 👀 for the first "
            f"{scenario.window:g} s, then none. Ack latencies run from the moment a delivery "
            "got a client connection and was sent, except where marked.",
            "",
            table_line(BURST_HEADER),
            table_line(("---",) * len(BURST_HEADER)),
        ]
        lines += [
            table_line(row)
            for server in settings.servers
            if (row := _burst_row(run, scenario, server)) is not None
        ]
        lines += ["", *_timelines(run, scenario), ""]
    lines += _targets(run)
    if run.notes or run.remarks:
        lines.append("")
    lines += [f"- note: {note}" for note in run.notes]
    lines += [f"- remark: {remark}" for remark in run.remarks]
    if run.failure:
        lines += ["", f"- FAILED: {run.failure}"]
    return "\n".join(lines)


def _preamble(run: Run) -> list[str]:
    settings = run.settings
    defaults = Config()
    return [
        f"{date.today().isoformat()}: each figure the median over {settings.repeat} round(s) "
        "(acks/s range: slowest..fastest round); x baseline is the median of per-round ratios.",
        f"Bot: Config() defaults (inbox concurrency {defaults.workers.concurrency}, outbox "
        f"concurrency {defaults.outbox.concurrency}, poll {defaults.workers.poll_interval:g} s), "
        f"token mode, log level WARNING; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"1-min load {run.load_before:.2f} before, {run.load_after:.2f} after.",
    ]


def _timelines(run: Run, scenario: Scenario) -> list[str]:
    """The last round's outbox (and inbox) depth every 5 s, per server."""
    lines = []
    for server in run.settings.servers:
        chosen = [m for m in _chosen(run, scenario, server) if m.burst is not None]
        if not chosen or chosen[-1].burst is None:
            continue
        burst = chosen[-1].burst
        marks: list[str] = []
        next_mark = 0.0
        for at, outbox, inbox in burst.timeline:
            if at >= next_mark:
                marks.append(f"{at:.0f}s {outbox}/{inbox}")
                next_mark += 5.0
        lines.append(
            f"- {server}, round {chosen[-1].round}, outbox/inbox rows waiting: " + ", ".join(marks)
        )
    return lines


def _targets(run: Run) -> list[str]:
    lines: list[str] = []
    backends = [s for s in run.settings.servers if s != BASELINE]
    scenarios = {s.name: s for s in run.settings.scenarios}
    for backend in backends:
        c16 = scenarios.get("c16")
        if c16 is not None and _chosen(run, c16, backend):
            ratio = _median(_ratios(run, c16, backend))
            persisted = all(m.complete for m in _chosen(run, c16, backend))
            ok = ratio >= 0.5 and persisted and run.failure is None
            lines.append(
                f"{_verdict(ok)} {backend}: acks/s at concurrency {CONCURRENCY} = "
                f"{ratio:.2f} x baseline (target >= 0.50), every delivery persisted: "
                f"{'yes' if persisted and run.failure is None else 'no'}"
            )
        rate300 = scenarios.get("rate 300/s")
        if rate300 is not None and _chosen(run, rate300, backend):
            p99s = [_pct(m.ack_ms, 99) for m in _chosen(run, rate300, backend)]
            p99 = _median(p99s)
            lines.append(
                f"{_verdict(p99 < 50)} {backend}: ack p99 at 300/s = {p99:.1f} ms "
                f"(target < 50 ms; rounds {min(p99s):.1f}..{max(p99s):.1f})"
            )
        burst = next((s for s in run.settings.scenarios if s.is_burst), None)
        if burst is not None:
            chosen = [m for m in _chosen(run, burst, backend) if m.burst is not None]
            if chosen:
                p99 = _median([_pct(m.sent_ms, 99) for m in chosen])
                from_start = _median([_pct(m.ack_ms, 99) for m in chosen])
                most = max(m.burst.max_outbox for m in chosen if m.burst is not None)
                emptied = all(
                    m.burst is not None and m.burst.drain_after_lift_seconds is not None
                    for m in chosen
                )
                bounded = most <= 2 * burst.count and emptied
                lines.append(
                    f"{_verdict(p99 < 1000 and bounded)} {backend}: burst of {burst.count} with "
                    f"{burst.api_delay * 1000:.0f} ms API latency: ack p99 = {p99:.0f} ms "
                    f"from send (target < 1000 ms; {from_start:.0f} ms from the burst start, "
                    f"client queueing included); outbox at most {most} rows "
                    f"(bound 2 x {burst.count} = {2 * burst.count}), emptied after the delay "
                    f"was lifted: {'yes' if emptied else 'no'}"
                )
    return lines


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.github_webhook",
        description="Signed GitHub webhooks acked per second against a bare aiohttp baseline.",
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help=f"rounds, 1..{MAX_REPEAT}")
    parser.add_argument(
        "--count", type=int, default=1000, help=f"deliveries at concurrency 16, 1..{MAX_COUNT}"
    )
    parser.add_argument(
        "--rate-seconds",
        type=float,
        default=3.0,
        help=f"length of each fixed-rate scenario (n = rate x seconds), up to {MAX_RATE_SECONDS:g}",
    )
    parser.add_argument(
        "--burst", type=int, default=5000, help=f"deliveries in the burst, 1..{MAX_COUNT}"
    )
    parser.add_argument(
        "--burst-rounds",
        type=int,
        default=1,
        help="rounds that include the burst (the first ones; it takes minutes per server)",
    )
    parser.add_argument(
        "--burst-window",
        type=float,
        default=30.0,
        help="seconds the outbox is watched with the API delay on (from the first send)",
    )
    parser.add_argument(
        "--api-delay",
        type=float,
        default=0.15,
        help="seconds the fake takes per create-comment and 👀 during the burst window",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIO_GROUPS),
        help=f"comma-separated subset of {','.join(SCENARIO_GROUPS)}",
    )
    add_postgres_url_option(parser, "scenario")
    return parser


def _settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    if not 1 <= args.repeat <= MAX_REPEAT:
        parser.error(f"--repeat must be between 1 and {MAX_REPEAT}")
    for option, value in (("--count", args.count), ("--burst", args.burst)):
        if not 1 <= value <= MAX_COUNT:
            parser.error(f"{option} must be between 1 and {MAX_COUNT}")
    if not 0 < args.rate_seconds <= MAX_RATE_SECONDS:
        parser.error(f"--rate-seconds must be above 0 and at most {MAX_RATE_SECONDS:g}")
    if not 0 < args.burst_window <= BURST_BUDGET / 4:
        parser.error(f"--burst-window must be above 0 and at most {BURST_BUDGET / 4:g}")
    if not 1 <= args.burst_rounds <= MAX_REPEAT:
        parser.error(f"--burst-rounds must be between 1 and {MAX_REPEAT}")
    if not 0 <= args.api_delay <= 5:
        parser.error("--api-delay must be between 0 and 5 seconds")
    groups = tuple(g.strip() for g in args.scenarios.split(",") if g.strip())
    if not groups or set(groups) - set(SCENARIO_GROUPS):
        parser.error(f"--scenarios takes a subset of {','.join(SCENARIO_GROUPS)}")
    scenarios: list[Scenario] = []
    if "c16" in groups:
        scenarios.append(Scenario("c16", "concurrency", args.count, CONCURRENCY))
    if "rates" in groups:
        scenarios += [
            Scenario(
                f"rate {rate}/s",
                "rate",
                max(1, min(MAX_COUNT, round(rate * args.rate_seconds))),
                POOL_CONNECTIONS,
                rate=float(rate),
            )
            for rate in RATES
        ]
    if "burst" in groups:
        scenarios.append(
            Scenario(
                "burst",
                "burst",
                args.burst,
                POOL_CONNECTIONS,
                api_delay=args.api_delay,
                window=args.burst_window,
            )
        )
    return Settings(
        servers=(BASELINE, *backends(parser, args.backend, args.postgres_url)),
        scenarios=tuple(scenarios),
        repeat=args.repeat,
        burst_rounds=args.burst_rounds,
        postgres_url=args.postgres_url,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    settings = _settings(parser, parser.parse_args(argv))
    configure_logging("WARNING", "text", (), sys.stderr)
    run = run_all(settings)
    print(render_report(run))
    if run.failure:
        print(f"benchmark failed: {run.failure}", file=sys.stderr)
    return 1 if run.incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
