"""Scale-out: two ``chatops serve`` processes on one PostgreSQL against one, in the same run.

What is measured (issue 15, "Scale out")
    The closed loop of ``benchmarks.reply_path`` (``--concurrency`` 16 senders for
    ``--seconds`` 20, signed ``@chatops ping`` webhooks, replies to the fake GitHub API),
    spread over ``--repos`` repositories and ``--installations`` installations (1,000
    each, so GitHub's per-installation pacing is not what is measured), on a fresh
    PostgreSQL database per run, against these layouts (``--layouts``):

    one        one ``chatops serve`` (``--role all``, the default);
    replicas   two full replicas; the load client sends delivery ``i`` to replica
               ``i mod 2``, as a load balancer would;
    split      ``chatops serve --role web`` takes every webhook, ``chatops serve --role
               worker`` runs the inbox worker and the outbox sender.

    In each round every layout runs once, in that order, so drift hits them alike.
    Figures per layout (medians over rounds): acks/s, replies/s within the load window and
    including the drain, CPU ms per command (user + system of every process of the
    layout, from the first webhook to the last reply, over the replies), e2e p50/p99, DB
    round trips per command (both processes' drivers), and the median of the per-round
    ratios of replies/s to "one" (goal: 1.6x or more for two processes).

Bounds: ``--seconds`` at most 300, ``--rounds`` at most 5, the drain after each load at
most ``--drain`` (60) s; every process is started here and stopped by its PID; 127.0.0.1.

Usage
    python -m benchmarks.reply_scaleout --postgres-url URL [--seconds 20] [--rounds 2]
        [--layouts one,replicas,split] [--label TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bot_process, reply_fake, reply_load
from benchmarks.bot_process import Process
from benchmarks.common import add_postgres_url_option, table_line
from benchmarks.reply_figures import Raw, figures, median, ms, number
from benchmarks.reply_load import LoadSpec
from benchmarks.reply_path import commit
from benchmarks.reply_report import header
from benchmarks.reply_runs import Pools, in_pool

LAYOUTS = ("one", "replicas", "split")
ROLES = {"one": ((),), "replicas": ((), ()), "split": (("--role", "web"), ("--role", "worker"))}
MAX_SECONDS = 300.0
DRAIN_POLL = 0.25
HEADER = (
    "run",
    "layout",
    "processes",
    "rounds",
    "acks/s",
    "replies/s",
    "replies/s incl. drain",
    "CPU ms per command",
    "e2e p50",
    "e2e p99",
    "DB round trips per command",
    "replies x one",
    "replies incl. drain x one",
    "drained (of rounds)",
)


@asynccontextmanager
async def layout(name: str, api_url: str, postgres_url: str) -> AsyncIterator[list[Process]]:
    """The processes of layout ``name`` on one new PostgreSQL database, up and ready."""
    with tempfile.TemporaryDirectory(prefix="chatops-bench-scaleout-") as tmp:
        directory = Path(tmp)
        async with bot_process.database("postgres", directory, postgres_url) as url:
            sections = {"github": bot_process.github_section(api_url)}
            config = bot_process.write_config(directory, url, sections)
            await asyncio.to_thread(bot_process.run_chatops, ["migrate"], config, directory)
            processes: list[Process] = []
            try:
                for extra in ROLES[name]:
                    port = bot_process.free_port()
                    processes.append(
                        bot_process.spawn_bot(config, directory, port, extra_args=extra)
                    )
                for process in processes:
                    await bot_process.wait_ready(process)
                yield processes
            finally:
                for process in processes:
                    code = await process.stop()
                    if code not in (0, -15):
                        log = (directory / "serve.log").read_text(errors="replace")[-2000:]
                        print(f"{name}: serve exited with {code}:\n{log}", flush=True)


async def _counts(processes: Sequence[Process]) -> Counter[str]:
    total: Counter[str] = Counter()
    for process in processes:
        total.update(await process.counts())
    return total


async def measure(name: str, number_: int, args: argparse.Namespace, pools: Pools) -> Raw:
    api_url = await in_pool(pools.fake, reply_fake.start)
    async with layout(name, api_url, args.postgres_url) as processes:
        intake = processes if name == "replicas" else processes[:1]
        spec = LoadSpec(
            url=intake[0].url,
            secret=bot_process.SECRET,
            shape="closed",
            seconds=args.seconds,
            connections=args.concurrency,
            rate=0.0,
            repos=args.repos,
            installations=args.installations,
            also=tuple(p.url for p in intake[1:]),
        )
        await in_pool(pools.load, reply_load.warm_up)
        counts_before = await _counts(processes)
        cpu_before = sum(p.cpu() for p in processes)
        sent = await in_pool(pools.load, reply_load.run, spec)
        acked = sum(1 for status in sent.status if status == 202)
        window_end = sent.began + args.seconds
        deadline = window_end + args.drain
        drained = False
        while True:
            if await in_pool(pools.fake, reply_fake.count) >= acked:
                drained = True
                break
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(DRAIN_POLL)
        cpu_after = sum(p.cpu() for p in processes)
        counts_after = await _counts(processes)
        finished = time.monotonic()
    replies = await in_pool(pools.fake, reply_fake.replies)
    last_reply = max(replies.times, default=window_end)
    counts_after.subtract(counts_before)
    return Raw(
        server=name,
        round=number_,
        seconds=args.seconds,
        sent=sent,
        replies=replies,
        cpu_seconds=cpu_after - cpu_before,
        counts=dict(counts_after),
        drained=drained,
        drain_seconds=max(0.0, (last_reply if drained else finished) - window_end),
    )


def _ratio(raws: Sequence[Raw], name: str, attribute: str) -> float:
    base = {r.round: getattr(figures(r), attribute) for r in raws if r.server == "one"}
    values = [
        getattr(figures(r), attribute) / base[r.round]
        for r in raws
        if r.server == name and base.get(r.round)
    ]
    return median(values)


def rows(label: str, raws: Sequence[Raw], layouts: Sequence[str]) -> list[str]:
    out = []
    for name in layouts:
        chosen = [figures(r) for r in raws if r.server == name]
        if not chosen:
            continue
        one = name == "one"
        out.append(
            table_line(
                (
                    label,
                    name,
                    str(len(ROLES[name])),
                    str(len(chosen)),
                    number(median([f.ack_rate for f in chosen])),
                    number(median([f.reply_rate for f in chosen])),
                    number(median([f.reply_rate_to_drain for f in chosen])),
                    number(median([f.cpu_ms_per_command for f in chosen]), 2),
                    ms(median([f.e2e_p50_ms for f in chosen])),
                    ms(median([f.e2e_p99_ms for f in chosen])),
                    number(median([f.round_trips_per_command for f in chosen]), 1),
                    "-" if one else number(_ratio(raws, name, "reply_rate"), 2),
                    "-" if one else number(_ratio(raws, name, "reply_rate_to_drain"), 2),
                    f"{sum(f.drained for f in chosen)}/{len(chosen)}",
                )
            )
        )
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reply_scaleout", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="load window per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="one,replicas,split")
    parser.add_argument("--drain", type=float, default=60.0, help="longest wait after the load")
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--installations", type=int, default=1000)
    parser.add_argument("--label", help="first column of each row (default: the commit)")
    add_postgres_url_option(parser, "run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    if not layouts or any(name not in LAYOUTS for name in layouts) or "one" not in layouts:
        parser.error(f"--layouts: some of {','.join(LAYOUTS)}, with one")
    if not 0 < args.seconds <= MAX_SECONDS or not 1 <= args.rounds <= 5:
        parser.error(f"--seconds above 0 and at most {MAX_SECONDS:g}, --rounds 1..5")
    if not 1 <= args.concurrency <= 256 or not 0 <= args.drain <= 600:
        parser.error("--concurrency 1..256, --drain 0..600 s")
    if not 1 <= args.installations <= args.repos <= 10_000:
        parser.error("1 <= --installations <= --repos <= 10000")
    if args.postgres_url is None:
        parser.error("scale-out needs PostgreSQL: pass --postgres-url")
    label = args.label or commit()
    context = multiprocessing.get_context("spawn")
    raws: list[Raw] = []
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=context) as load_pool,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as fake_pool,
    ):
        pools = Pools(load_pool, fake_pool)
        for number_ in range(1, args.rounds + 1):
            for name in layouts:
                raws.append(asyncio.run(measure(name, number_, args, pools)))
                f = figures(raws[-1])
                print(
                    f"- round {number_} {name}: acked {f.acked} ({f.ack_rate:.0f}/s), replied "
                    f"{f.replied} ({f.reply_rate:.0f}/s in the window, "
                    f"{f.reply_rate_to_drain:.0f}/s to the last), CPU "
                    f"{f.cpu_ms_per_command:.2f} ms/command, drained {f.drained} "
                    f"{f.drain_seconds:.1f} s, refused {dict(f.refused)}",
                    file=sys.stderr,
                    flush=True,
                )
        fake_pool.submit(reply_fake.stop).result(timeout=60)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{now}: scale-out on PostgreSQL, label {label}, commit {commit()}, "
        f"{os.cpu_count()} CPUs, 1-min load {os.getloadavg()[0]:.2f} at the end; closed loop, "
        f"{args.concurrency} concurrent, {args.seconds:g} s x {args.rounds} rounds, "
        f"{args.repos} repositories over {args.installations} installations, drain cap "
        f"{args.drain:g} s.",
        "",
        *header(HEADER),
        *rows(label, raws, layouts),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
