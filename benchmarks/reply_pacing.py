"""Fair pacing: does one busy installation delay the replies of the others?

What is measured (issue 15, "Fair pacing")
    ``chatops serve`` on a fresh SQLite and a fresh PostgreSQL database (as in
    ``benchmarks.reply_path``), two open-loop runs each, one after the other:

    light only   ``--light`` (20) ``@chatops ping`` webhooks a second over ``--repos``
                 repositories and ``--installations`` installations (100 each: one
                 command every 5 s per installation, well inside GitHub's pacing);
    light + busy the same light stream, and every ``--busy-every``-th (3rd) delivery
                 besides goes to one more repository of one more installation
                 (``reply_load.BUSY_INSTALLATION``): 10 commands a second where GitHub's
                 pacing, the bot's ``write_interval`` of 1 s per installation, lets one
                 reply a second through, so that installation's replies queue.

    The figure is the light installations' webhook-to-reply latency (from the moment each
    webhook was due to its reply at the fake) in both runs: p50, p99, max and the ones
    without a reply when the drain gave up. The goal is that the busy one delays none of
    them: the same percentiles with and without it. The busy installation's replies per
    second are shown too (expected: about one).

Bounds: ``--seconds`` at most 300; after each load the drain waits ``--drain`` (15) s at
most (the busy installation's queue is not waited for: it would take minutes); processes
are started here and stopped by PID; only 127.0.0.1.

Usage
    python -m benchmarks.reply_pacing [--seconds 45] [--light 20] [--busy-every 3]
        [--backend both] [--postgres-url URL] [--label TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from benchmarks import reply_fake
from benchmarks.common import BACKENDS, add_postgres_url_option, backends, table_line
from benchmarks.reply_figures import Raw, first_replies, latencies_ms, ms, number, percentile
from benchmarks.reply_load import is_busy
from benchmarks.reply_path import commit
from benchmarks.reply_report import header
from benchmarks.reply_runs import Load, Pools, measure

MAX_SECONDS = 300.0
CONNECTIONS = 256
HEADER = (
    "run",
    "server",
    "load",
    "light sent",
    "light e2e p50",
    "light e2e p99",
    "light e2e max",
    "light unreplied",
    "busy sent",
    "busy replies/s",
    "👀 reactions",
    "CPU ms per command",
)


def row(label: str, raw: Raw, busy_every: int) -> str:
    sent = raw.sent
    replied = first_replies(raw)
    acked = [i for i in range(len(sent.status)) if sent.status[i] == 202]
    light = [i for i in acked if not is_busy(i, busy_every)]
    busy = [i for i in range(len(sent.status)) if is_busy(i, busy_every)]
    e2e = latencies_ms(raw, light, replied)
    window_end = sent.began + raw.seconds
    busy_in_window = sum(1 for i in busy if replied.get(i, math.inf) <= window_end)
    return table_line(
        (
            label,
            raw.server,
            "light + busy" if busy_every else "light only",
            str(len(light)),
            ms(percentile(e2e, 50)),
            ms(percentile(e2e, 99)),
            ms(e2e[-1]) if e2e else "-",
            str(sum(1 for v in e2e if math.isinf(v))),
            str(len(busy)) if busy_every else "-",
            number(busy_in_window / raw.seconds, 1) if busy_every else "-",
            str(raw.replies.reactions),
            number(1000 * raw.cpu_seconds / len(replied), 2) if replied else "-",
        )
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reply_pacing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--seconds", type=float, default=45.0, help="load window per run")
    parser.add_argument("--light", type=float, default=20.0, help="light commands a second")
    parser.add_argument("--busy-every", type=int, default=3, help="every k-th delivery is busy")
    parser.add_argument("--drain", type=float, default=15.0, help="longest wait after the load")
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--installations", type=int, default=100)
    parser.add_argument("--label", help="first column of each row (default: the commit)")
    add_postgres_url_option(parser, "run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS or not 0 < args.light <= 500:
        parser.error(f"--seconds above 0 and at most {MAX_SECONDS:g}, --light up to 500/s")
    if not 2 <= args.busy_every <= 100 or not 0 <= args.drain <= 120:
        parser.error("--busy-every 2..100, --drain 0..120 s")
    if not 1 <= args.installations <= args.repos <= 10_000:
        parser.error("1 <= --installations <= --repos <= 10000")
    wanted = backends(parser, args.backend, args.postgres_url)
    label = args.label or commit()
    k = args.busy_every
    context = multiprocessing.get_context("spawn")
    rows: list[str] = []
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=context) as load_pool,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as fake_pool,
    ):
        pools = Pools(load_pool, fake_pool)
        for name in wanted:
            for busy_every, rate in ((0, args.light), (k, args.light * k / (k - 1))):
                load = Load(
                    "open",
                    args.seconds,
                    CONNECTIONS,
                    rate,
                    args.repos,
                    args.installations,
                    args.drain,
                    busy_every,
                )
                raw = asyncio.run(measure(name, 1, load, pools, args.postgres_url))
                rows.append(row(label, raw, busy_every))
                print(rows[-1], file=sys.stderr, flush=True)
        fake_pool.submit(reply_fake.stop).result(timeout=60)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    busy_rate = args.light / (k - 1)
    lines = [
        f"{now}: pacing, label {label}, commit {commit()}, {os.cpu_count()} CPUs, 1-min load "
        f"{os.getloadavg()[0]:.2f} at the end; light {args.light:g}/s over {args.repos} "
        f"repositories and {args.installations} installations, busy {busy_rate:g}/s to one "
        f"more installation, {args.seconds:g} s per run, drain cap {args.drain:g} s.",
        "",
        *header(HEADER),
        *rows,
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
