"""The reply path under load: ``chatops serve`` next to the bare aiohttp limit, webhook to reply.

What is measured (issue 15)
    Signed GitHub ``issue_comment`` webhooks carrying ``@chatops ping``, spread over
    ``--repos`` repositories and ``--installations`` installations (100 each), sent by a
    load client in a process of its own to the server under test, itself a process of its
    own on 127.0.0.1; replies go to a fake GitHub API (``benchmarks.reply_fake``, another
    process) that answers at once. Servers: the bare limit (verify the HMAC, parse, 202,
    post the reply; nothing stored), and ``chatops serve`` on a fresh SQLite database and
    on a fresh PostgreSQL database per run, migrated by ``chatops migrate``, configured
    with the database, warnings-only logs and GitHub in token mode, all else default.

    closed     ``--concurrency`` (16) senders for ``--seconds`` (20) per round,
               ``--rounds`` (3) rounds; in each round the bare limit, then SQLite, then
               PostgreSQL, so drift hits them alike. Medians over rounds, ratios to the
               bare limit per round.
    sustained  a fixed arrival rate per server (``--plan``, default 100/s on SQLite,
               100/s and 300/s on PostgreSQL, each next to the bare limit at that rate)
               for ``--seconds`` (60; ``--minutes 10`` is issue 15's run), with the
               arrivals, replies, backlog (webhooks due so far minus replies so far,
               so a webhook refused with 503 counts until GitHub would redeliver it) and
               end-to-end percentiles per 10 s and per minute.

Figures: acks/s (202s over the time to the last one); replies/s (replies that reached the
fake within the load window, per second of it; "incl. drain": every reply over the window
and the drain that followed it); CPU ms per command (the server process's
user + system time, all threads, from ``/proc``, from just before the first send to the
last reply, over the replies); end-to-end p50/p99 (from the moment a webhook was sent,
closed, or due, sustained, to its reply at the fake; a webhook without a reply when the
drain gave up counts as unreplied); DB round trips per command (statements and commits
counted at the bot's drivers by ``benchmarks.driver_counts``, over the same span).

Bounds: ``--seconds`` at most 900, ``--rounds`` at most 10, rates at most 2000/s; after each
load the drain waits at most ``--drain`` (60) seconds; the load client cancels requests
unanswered 30 s after the window. Rows start with ``--label`` (default: the commit).

Usage
    python -m benchmarks.reply_path closed [--seconds 20] [--rounds 3] [--backend both]
    python -m benchmarks.reply_path sustained [--seconds 60 | --minutes 10] [--plan ...]
    [--postgres-url URL] [--label TEXT] [--drain 60] [--repos 100] [--installations 100]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from benchmarks import reply_fake
from benchmarks.bot_process import SOURCE_ROOT
from benchmarks.common import BACKENDS, add_postgres_url_option, backends
from benchmarks.reply_figures import Raw
from benchmarks.reply_report import (
    CLOSED_HEADER,
    SUSTAINED_HEADER,
    closed_rows,
    header,
    round_lines,
    series,
    sustained_row,
    verb_lines,
)
from benchmarks.reply_runs import BARE, Load, Pools, measure

MAX_SECONDS = 900.0
MAX_ROUNDS = 10
MAX_RATE = 2000.0
OPEN_CONNECTIONS = 256
DEFAULT_PLAN = "sqlite:100,postgres:100,postgres:300"


def commit() -> str:
    """The measured checkout's commit, with ``+`` when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=SOURCE_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "connectors", "commands"],
            cwd=SOURCE_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def _pools() -> tuple[ProcessPoolExecutor, ProcessPoolExecutor]:
    context = multiprocessing.get_context("spawn")
    return (
        ProcessPoolExecutor(max_workers=1, mp_context=context),
        ProcessPoolExecutor(max_workers=1, mp_context=context),
    )


def run_closed(args: argparse.Namespace, servers: Sequence[str]) -> list[Raw]:
    load = Load(
        "closed", args.seconds, args.concurrency, 0.0, args.repos, args.installations, args.drain
    )
    raws: list[Raw] = []
    load_pool, fake_pool = _pools()
    with load_pool, fake_pool:
        pools = Pools(load_pool, fake_pool)
        for number in range(1, args.rounds + 1):
            for server in servers:
                raw = asyncio.run(measure(server, number, load, pools, args.postgres_url))
                raws.append(raw)
                print(round_lines([raw])[0], file=sys.stderr, flush=True)
        fake_pool.submit(reply_fake.stop).result(timeout=60)
    return raws


def run_sustained(
    args: argparse.Namespace, plan: Sequence[tuple[str, float]]
) -> list[tuple[Raw, float]]:
    runs: list[tuple[Raw, float]] = []
    load_pool, fake_pool = _pools()
    with load_pool, fake_pool:
        pools = Pools(load_pool, fake_pool)
        bare_done: set[float] = set()
        for backend, rate in plan:
            load = Load(
                "open",
                args.seconds,
                OPEN_CONNECTIONS,
                rate,
                args.repos,
                args.installations,
                args.drain,
            )
            for server in ([BARE] if rate not in bare_done else []) + [backend]:
                raw = asyncio.run(measure(server, 1, load, pools, args.postgres_url))
                runs.append((raw, rate))
                print(f"[{rate:g}/s] " + round_lines([raw])[0], file=sys.stderr, flush=True)
            bare_done.add(rate)
        fake_pool.submit(reply_fake.stop).result(timeout=60)
    return runs


def _preamble(args: argparse.Namespace, label: str) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"{now}: {args.mode}, label {label}, commit {commit()}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, 1-min load {os.getloadavg()[0]:.2f} at the end; "
        f"{args.repos} repositories over {args.installations} installations, drain cap "
        f"{args.drain:g} s.",
        "",
    ]


def _plan(
    parser: argparse.ArgumentParser, text: str, wanted: Sequence[str]
) -> list[tuple[str, float]]:
    plan = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        backend, _, rate = item.partition(":")
        try:
            value = float(rate)
        except ValueError:
            parser.error(f"--plan: {item!r} is not BACKEND:RATE")
        if backend not in BACKENDS or not 0 < value <= MAX_RATE:
            parser.error(f"--plan: {item!r}: backend sqlite|postgres, rate up to {MAX_RATE:g}/s")
        if backend in wanted:
            plan.append((backend, value))
    return plan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reply_path", description=__doc__.splitlines()[0]
    )
    parser.add_argument("mode", choices=("closed", "sustained"))
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--seconds", type=float, help="load window (closed 20, sustained 60)")
    parser.add_argument("--minutes", type=float, help="load window in minutes (sustained)")
    parser.add_argument("--rounds", type=int, default=3, help="closed loop rounds")
    parser.add_argument("--concurrency", type=int, default=16, help="closed loop senders")
    parser.add_argument("--plan", default=DEFAULT_PLAN, help="sustained: BACKEND:RATE,...")
    parser.add_argument("--drain", type=float, default=60.0, help="longest wait for replies")
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--installations", type=int, default=100)
    parser.add_argument("--label", help="first column of each row (default: the commit)")
    add_postgres_url_option(parser, "run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.minutes is not None:
        args.seconds = args.minutes * 60
    if args.seconds is None:
        args.seconds = 20.0 if args.mode == "closed" else 60.0
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"the load window must be above 0 and at most {MAX_SECONDS:g} s")
    if not 1 <= args.rounds <= MAX_ROUNDS or not 1 <= args.concurrency <= 256:
        parser.error(f"--rounds 1..{MAX_ROUNDS}, --concurrency 1..256")
    if not 0 <= args.drain <= 600 or not 1 <= args.repos <= 10_000:
        parser.error("--drain 0..600 s, --repos 1..10000")
    if not 1 <= args.installations <= args.repos:
        parser.error("--installations 1..--repos")
    wanted = backends(parser, args.backend, args.postgres_url)
    label = args.label or commit()
    lines = _preamble(args, label)
    if args.mode == "closed":
        raws = run_closed(args, (BARE, *wanted))
        lines += header(CLOSED_HEADER) + closed_rows(label, raws, (BARE, *wanted))
        lines += ["", *verb_lines(raws, wanted), "", *round_lines(raws)]
    else:
        runs = run_sustained(args, _plan(parser, args.plan, wanted))
        lines += header(SUSTAINED_HEADER)
        lines += [sustained_row(label, raw, rate) for raw, rate in runs]
        lines += ["", *verb_lines([raw for raw, _ in runs], wanted)]
        for raw, rate in runs:
            lines += ["", f"{raw.server} at {rate:g}/s, per minute:", "", *series(raw, 60.0)]
            lines += ["", f"{raw.server} at {rate:g}/s, per 10 s:", "", *series(raw, 10.0)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
