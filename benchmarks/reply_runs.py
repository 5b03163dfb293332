"""One measured run of the reply path: a server process, a fake GitHub, a load, a bounded drain.

Intent
    ``measure`` starts the server under test as a process of its own, the bare limit
    (``benchmarks.bare_limit``) or ``chatops serve`` on a fresh SQLite or PostgreSQL
    database (``benchmarks.bot_process``), with a fresh ``benchmarks.reply_fake`` as
    GitHub's API; sends the load from the load client's process; then waits, at most
    ``drain`` seconds, until every acked delivery has its reply at the fake. It takes the
    server's CPU time and driver counts just before the first send and when the last
    reply arrived (or the drain gave up), samples the CPU every second for the interval
    series, stops the process by its PID and returns the ``Raw`` timings.

Everything it starts it ends, also on failure; only 127.0.0.1 is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import bot_process, reply_fake, reply_load
from benchmarks.bot_process import Process
from benchmarks.reply_figures import Raw
from benchmarks.reply_load import LoadSpec

BARE = "bare limit"
DRAIN_POLL = 0.25
CPU_SAMPLE = 1.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pools:
    load: Executor
    fake: Executor


@dataclass(frozen=True, slots=True)
class Load:
    shape: str  # reply_load.SHAPES
    seconds: float
    connections: int
    rate: float
    repos: int
    installations: int
    drain: float  # the longest wait for the last reply after the load window
    busy_every: int = 0  # every k-th delivery to one busy installation (reply_load)


async def in_pool(pool: Executor, function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, function, *args)


@asynccontextmanager
async def server(name: str, api_url: str, postgres_url: str | None) -> AsyncIterator[Process]:
    """The server ``name`` (BARE, sqlite or postgres), up and ready; stopped by its PID."""
    with tempfile.TemporaryDirectory(prefix="chatops-bench-reply-") as tmp:
        directory = Path(tmp)
        port = bot_process.free_port()
        if name == BARE:
            process = bot_process.spawn_bare(directory, port, api_url)
            try:
                await bot_process.wait_ready(process, "/")
                yield process
            finally:
                await process.stop()
            return
        async with bot_process.database(name, directory, postgres_url) as url:
            sections = {"github": bot_process.github_section(api_url)}
            config = bot_process.write_config(directory, url, sections)
            await asyncio.to_thread(bot_process.run_chatops, ["migrate"], config, directory)
            process = bot_process.spawn_bot(config, directory, port)
            try:
                await bot_process.wait_ready(process)
                yield process
            finally:
                code = await process.stop()
                if code not in (0, -15):
                    log = (directory / "serve.log").read_text(errors="replace")[-2000:]
                    print(f"{name}: serve exited with {code}:\n{log}", flush=True)


async def measure(name: str, number: int, load: Load, pools: Pools, pg: str | None) -> Raw:
    api_url = await in_pool(pools.fake, reply_fake.start)
    async with server(name, api_url, pg) as process:
        spec = LoadSpec(
            url=process.url,
            secret=bot_process.SECRET,
            shape=load.shape,
            seconds=load.seconds,
            connections=load.connections,
            rate=load.rate,
            repos=load.repos,
            installations=load.installations,
            busy_every=load.busy_every,
        )
        await in_pool(pools.load, reply_load.warm_up)
        counts_before = await process.counts()
        cpu_before = process.cpu()
        samples: list[tuple[float, float]] = []
        sampler = asyncio.create_task(_sample(process, samples))
        try:
            sent = await in_pool(pools.load, reply_load.run, spec)
            acked = sum(1 for status in sent.status if status == 202)
            window_end = sent.began + load.seconds
            drained = await _drain(pools, acked, window_end + load.drain)
            cpu_after = process.cpu()
            counts_after = await process.counts()
            finished = time.monotonic()
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
    replies = await in_pool(pools.fake, reply_fake.replies)
    last_reply = max(replies.times, default=window_end)
    counts = {
        key: counts_after.get(key, 0) - counts_before.get(key, 0)
        for key in counts_after.keys() | counts_before.keys()
    }
    return Raw(
        server=name,
        round=number,
        seconds=load.seconds,
        sent=sent,
        replies=replies,
        cpu_seconds=cpu_after - cpu_before,
        counts=counts,
        drained=drained,
        drain_seconds=max(0.0, (last_reply if drained else finished) - window_end),
        cpu_samples=tuple(samples),
    )


async def _drain(pools: Pools, acked: int, deadline: float) -> bool:
    """True once the fake holds at least ``acked`` replies; False at the deadline."""
    while True:
        if await in_pool(pools.fake, reply_fake.count) >= acked:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(DRAIN_POLL)


async def _sample(process: Process, samples: list[tuple[float, float]]) -> None:
    while True:
        with contextlib.suppress(OSError):
            samples.append((time.monotonic(), process.cpu()))
        await asyncio.sleep(CPU_SAMPLE)
