"""One round of one scenario of ``benchmarks.github_webhook`` on one server.

The load client and the fake GitHub each run in a process of their own (``Pools``); the
server under test runs on this process's event loop. ``baseline_round`` serves the bare
handler; ``bot_round`` serves the real application on a fresh database, samples queue
depths during a burst, waits (bounded) for the outbox to drain and runs the checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from benchmarks import github_fake_host as fake_host
from benchmarks.common import failed_sends
from benchmarks.github_load import (
    COMMAND,
    LoadResult,
    LoadSpec,
    Target,
    prepare,
    run_load,
)
from benchmarks.webhook_checks import check_acks, check_bot, end_to_end
from benchmarks.webhook_model import (
    AUTHOR,
    BASELINE,
    BURST_BUDGET,
    CHECK_INTERVAL,
    FIRST_THREAD,
    LOAD_LIMIT,
    REPO,
    SAMPLE_INTERVAL,
    SCENARIO_BUDGET,
    SECRET,
    STOP_GRACE,
    TOKEN,
    WRITE_OPERATIONS,
    BenchmarkFailure,
    BurstFigures,
    Measured,
    Scenario,
    T,
)
from benchmarks.webhook_servers import baseline_app, bot_config, fresh_database, serving
from bot.app import create_app
from bot.pipeline.assembly import Pipeline
from bot.web import PIPELINE
from connectors.github.integration import GitHubIntegration


@dataclass(frozen=True, slots=True)
class Pools:
    load: Executor
    fake: Executor


async def in_pool(pool: Executor, function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, function, *args)


async def _load(pools: Pools, spec: LoadSpec) -> tuple[LoadResult, float, float]:
    """Run the client; also this (server) process's CPU percent and the sending wall time."""
    await in_pool(pools.load, prepare, spec)
    cpu, wall = time.process_time(), time.monotonic()
    result = await in_pool(pools.load, run_load)
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
    check_acks(result, scenario.count, BASELINE)
    return _measured(scenario, BASELINE, number, result, server_cpu)


async def bot_round(
    scenario: Scenario, backend: str, pools: Pools, number: int, postgres_url: str | None
) -> Measured:
    deadline = time.monotonic() + (BURST_BUDGET if scenario.is_burst else SCENARIO_BUDGET)
    api_url = await in_pool(pools.fake, fake_host.start, TOKEN)
    numbers = [FIRST_THREAD + index for index in range(scenario.count)]
    comment_ids = await in_pool(pools.fake, fake_host.seed, REPO, numbers, COMMAND, AUTHOR)
    if scenario.api_delay:
        await in_pool(pools.fake, fake_host.delay, WRITE_OPERATIONS, scenario.api_delay)
    targets = tuple(
        Target(str(uuid.uuid4()), comment_id, thread)
        for comment_id, thread in zip(comment_ids, numbers, strict=True)
    )
    async with fresh_database(backend, postgres_url) as database_url:
        config = bot_config(database_url, api_url)
        app = create_app(
            config,
            integrations=[GitHubIntegration(config.github, config.bot)],
        )
        async with serving(app, config.server.shutdown_timeout) as url:
            pipeline = app[PIPELINE]
            sampler = DepthSampler(pipeline)
            if scenario.is_burst:
                sampler.start()
            result, server_cpu, _wall = await _load(pools, _load_spec(url, scenario, targets))
            acked = check_acks(result, scenario.count, backend)
            burst_window: tuple[int, int, float] | None = None
            if scenario.is_burst:
                await _sleep_until(min(result.began + scenario.window, deadline))
                burst_window = await _sent_and_pending(pipeline)
                await in_pool(pools.fake, fake_host.delay, WRITE_OPERATIONS, 0.0)
            lifted = time.monotonic()
            drained = await _wait_drained(pipeline, acked, deadline)
            drained_at = time.monotonic()
            await sampler.stop()
            report = await in_pool(pools.fake, fake_host.report)
            await check_bot(pipeline, report, targets, result, drained)
    measured = _measured(scenario, backend, number, result, server_cpu)
    complete = drained and measured.complete
    note = measured.note or ("" if drained else "the outbox did not drain within the budget")
    if burst_window is not None and burst_window[2] > result.began + scenario.window + 1:
        overran = f"the window was measured at {burst_window[2] - result.began:.0f} s, not "
        overran += f"{scenario.window:g} s: the load itself took longer"
        note = f"{note}; {overran}" if note else overran
    e2e = () if scenario.is_burst else end_to_end(report, targets, result)
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
