"""Recovery after an outage of the GitHub API: how fast the backlog grew, how fast it drains.

What is measured (issue 15, "Recovery")
    ``chatops serve`` on a fresh SQLite and a fresh PostgreSQL database (as in
    ``benchmarks.reply_path``), signed ``@chatops ping`` webhooks arriving at a fixed rate
    (``--rate``, 100/s) over ``--repos`` repositories and ``--installations`` installations
    (1,000 each, so GitHub's per-installation pacing is not what is measured), for
    ``--before`` s, then ``--outage`` s during which the fake GitHub API answers every
    request 503 (``reply_fake.set_down``), then ``--after`` s with the API back; arrivals
    never stop meanwhile. The bot stays up and acks; its replies wait and are retried as
    its outbox policy says (the defaults: backoff from 1 s, full jitter, 8 attempts).

Figures, from the load client's due times and the fake's reply times (one clock):
    backlog(t)  commands acked and due by t whose reply came after t (a command that
                never got one is counted under "missing", not in the backlog, so that a
                dead-lettered reply does not keep the backlog from emptying);
    growth/s    (backlog when the API came back - backlog when it went down) / outage;
    to empty    from the API's return to the first second the backlog is back at its
                level before the outage (at most the larger of 10 and its peak over the
                last 5 s before the outage);
    drain/s     the backlog gained in the outage over "to empty" (arrivals continue, so
                this is the net rate); x growth = drain/s over growth/s (goal: 5 or more);
    exactly once: per acked command the replies at the fake; duplicates (replies beyond
                the first) and missing (none by the end of the drain), and replies whose
                body is not pong.

Bounds: windows at most 300 s each, rate at most 500/s, the drain after the load at most
``--drain`` (600) s; processes are started here and stopped by PID; only 127.0.0.1.

Usage
    python -m benchmarks.reply_outage [--rate 100] [--before 20] [--outage 60]
        [--after 60] [--drain 240] [--backend both] [--postgres-url URL] [--label TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks import bot_process, reply_fake, reply_load
from benchmarks.common import BACKENDS, add_postgres_url_option, backends, table_line
from benchmarks.reply_fake import Replies
from benchmarks.reply_figures import ms, number, percentile
from benchmarks.reply_load import LoadSpec, Sent, index_of
from benchmarks.reply_path import commit
from benchmarks.reply_report import header
from benchmarks.reply_runs import Pools, in_pool, server

MAX_WINDOW = 300.0
MAX_RATE = 500.0
CONNECTIONS = 256
POLL = 1.0
HEADER = (
    "run",
    "server",
    "rate/s",
    "outage s",
    "acked",
    "backlog at outage start",
    "backlog at return",
    "peak backlog",
    "growth/s",
    "to empty",
    "drain/s (net)",
    "x growth",
    "replies/s after return",
    "duplicates",
    "missing",
    "not pong",
    "503s answered",
    "CPU ms per command",
)


@dataclass(frozen=True, slots=True)
class Outage:
    server: str
    rate: float
    sent: Sent
    replies: Replies
    down_at: float
    up_at: float
    load_end: float
    cpu_seconds: float


def _backlog_fn(run: Outage) -> tuple[list[int], list[float], dict[int, float]]:
    sent = run.sent
    acked = [i for i in range(len(sent.status)) if sent.status[i] == 202]
    first: dict[int, float] = {}
    for number_, at in zip(run.replies.numbers, run.replies.times, strict=True):
        first.setdefault(index_of(number_), at)
    return acked, sorted(first[i] for i in acked if i in first), first


def backlog_at(run: Outage, t: float, due: Sequence[float], replied: Sequence[float]) -> int:
    return bisect.bisect_right(due, t) - bisect.bisect_right(replied, t)


def summary(label: str, run: Outage) -> tuple[str, list[str]]:
    """The table row and a per-10 s series of one run."""
    acked, replied, first = _backlog_fn(run)
    due = sorted(run.sent.due[i] for i in acked if i in first)
    began = run.sent.began
    last = max([*replied, run.load_end])
    b0 = backlog_at(run, run.down_at, due, replied)
    b1 = backlog_at(run, run.up_at, due, replied)
    before = [backlog_at(run, run.down_at - s, due, replied) for s in range(6)]
    level = max(10, *before)
    steps = [run.up_at + 0.1 * k for k in range(int((last - run.up_at) / 0.1) + 2)]
    backlogs = [(t, backlog_at(run, t, due, replied)) for t in steps]
    peak = max((b for _, b in backlogs), default=b1)
    empty_at = next((t for t, b in backlogs if b <= level), None)
    outage = run.up_at - run.down_at
    growth = (b1 - b0) / outage if outage > 0 else float("nan")
    if empty_at is not None and empty_at > run.up_at:
        to_empty = empty_at - run.up_at
        drain = (b1 - b0) / to_empty
        gross = sum(1 for at in replied if run.up_at < at <= empty_at) / to_empty
        empty_text = f"{to_empty:.1f} s" + (" (arrivals over)" if empty_at > run.load_end else "")
    else:
        to_empty, drain, gross = float("nan"), float("nan"), float("nan")
        empty_text = "never" if empty_at is None else "0 s"
    per_number = Counter(index_of(n) for n in run.replies.numbers)
    duplicates = sum(c - 1 for i, c in per_number.items() if c > 1)
    missing = sum(1 for i in acked if i not in first)
    row = table_line(
        (
            label,
            run.server,
            f"{run.rate:g}",
            f"{outage:.0f}",
            str(len(acked)),
            str(b0),
            str(b1),
            str(peak),
            number(growth),
            empty_text,
            number(drain),
            number(drain / growth if growth > 0 else float("nan"), 1),
            number(gross),
            str(duplicates),
            str(missing),
            str(run.replies.not_pong),
            str(run.replies.refused),
            number(1000 * run.cpu_seconds / len(first), 2) if first else "-",
        )
    )
    series = header(("from s", "phase", "arrivals", "replies", "backlog at end", "e2e p50"))
    start = 0.0
    while began + start < last:
        lo, hi = began + start, began + start + 10
        phase = "down" if lo < run.up_at and hi > run.down_at else "up"
        indexes = [i for i in acked if lo <= run.sent.due[i] < hi]
        e2e = sorted(
            (first[i] - run.sent.due[i]) * 1000 if i in first else math.inf for i in indexes
        )
        series.append(
            table_line(
                (
                    f"{start:g}",
                    phase if lo < run.load_end else "drain",
                    str(len(indexes)),
                    str(bisect.bisect_right(replied, hi) - bisect.bisect_right(replied, lo)),
                    str(backlog_at(run, hi, due, replied)),
                    ms(percentile(e2e, 50)) if e2e else "-",
                )
            )
        )
        start += 10
    return row, series


async def outage_run(name: str, args: argparse.Namespace, pools: Pools) -> Outage:
    api_url = await in_pool(pools.fake, reply_fake.start)
    window = args.before + args.outage + args.after
    async with server(name, api_url, args.postgres_url) as process:
        spec = LoadSpec(
            url=process.url,
            secret=bot_process.SECRET,
            shape="open",
            seconds=window,
            connections=CONNECTIONS,
            rate=args.rate,
            repos=args.repos,
            installations=args.installations,
        )
        await in_pool(pools.load, reply_load.warm_up)
        cpu_before = process.cpu()
        sending = asyncio.ensure_future(in_pool(pools.load, reply_load.run, spec))
        await asyncio.sleep(args.before)
        down_at = await in_pool(pools.fake, reply_fake.set_down, True)
        await asyncio.sleep(max(0.0, down_at + args.outage - time.monotonic()))
        up_at = await in_pool(pools.fake, reply_fake.set_down, False)
        sent = await sending
        acked = {i for i in range(len(sent.status)) if sent.status[i] == 202}
        deadline = sent.began + window + args.drain
        while time.monotonic() < deadline:
            seen = await in_pool(pools.fake, reply_fake.replies)
            if acked <= {index_of(n) for n in seen.numbers}:
                await asyncio.sleep(2.0)  # a late duplicate would show up here
                break
            await asyncio.sleep(POLL)
        cpu_seconds = process.cpu() - cpu_before
    replies = await in_pool(pools.fake, reply_fake.replies)
    return Outage(name, args.rate, sent, replies, down_at, up_at, sent.began + window, cpu_seconds)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reply_outage", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--before", type=float, default=20.0, help="seconds before the outage")
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--after", type=float, default=60.0, help="seconds of load after it")
    parser.add_argument("--drain", type=float, default=240.0, help="longest wait after the load")
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--installations", type=int, default=1000)
    parser.add_argument("--label", help="first column of each row (default: the commit)")
    add_postgres_url_option(parser, "run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    windows = (args.before, args.outage, args.after)
    if not all(0 < w <= MAX_WINDOW for w in windows) or not 0 < args.rate <= MAX_RATE:
        parser.error(f"windows above 0 and at most {MAX_WINDOW:g} s, rate up to {MAX_RATE:g}/s")
    if not 0 <= args.drain <= 600 or not 1 <= args.installations <= args.repos <= 10_000:
        parser.error("--drain 0..600 s, 1 <= --installations <= --repos <= 10000")
    wanted = backends(parser, args.backend, args.postgres_url)
    label = args.label or commit()
    context = multiprocessing.get_context("spawn")
    runs: list[Outage] = []
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=context) as load_pool,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as fake_pool,
    ):
        pools = Pools(load_pool, fake_pool)
        for name in wanted:
            runs.append(asyncio.run(outage_run(name, args, pools)))
            print(summary(label, runs[-1])[0], file=sys.stderr, flush=True)
            if runs[-1].replies.unexpected:
                print(f"unexpected calls: {runs[-1].replies.unexpected[:5]}", file=sys.stderr)
        fake_pool.submit(reply_fake.stop).result(timeout=60)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{now}: outage, label {label}, commit {commit()}, {os.cpu_count()} CPUs, 1-min load "
        f"{os.getloadavg()[0]:.2f} at the end; {args.rate:g}/s over {args.repos} repositories "
        f"and {args.installations} installations; {args.before:g} s up, {args.outage:g} s "
        f"down (503), {args.after:g} s up, drain cap {args.drain:g} s.",
        "",
        *header(HEADER),
    ]
    summaries = [summary(label, run) for run in runs]
    lines += [row for row, _ in summaries]
    for run, (_, series) in zip(runs, summaries, strict=True):
        lines += ["", f"{run.server}, per 10 s (e2e of the commands due in it):", "", *series]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
