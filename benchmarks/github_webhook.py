"""Signed GitHub webhooks acked per second, ack latency and webhook-to-reply latency.

Intent
    Measure what issue 3 asks of ``POST /webhooks/github``: how many signed
    ``issue_comment`` deliveries one bot process acknowledges per second with every one
    persisted, how long each waits for its 202, and how long from the webhook to the
    reply comment at the (fake) GitHub API; and set that beside the limit of the stack,
    a bare aiohttp handler that only verifies the signature, parses and answers 202.

Servers (measured side by side in one run, on 127.0.0.1, each behind a real
``web.AppRunner``/``TCPSite`` on port 0, never the aiohttp test client)
    baseline  a bare handler: read the body, ``connectors.github.protocol.verify``,
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

Parts: ``benchmarks.webhook_model`` (scenarios, figures, constants), ``webhook_servers``
(the bare baseline, the bot's configuration and database), ``webhook_rounds`` (one round
on one server), ``webhook_checks`` (the promises checked), ``webhook_report`` (the
tables); this module holds the command line and the order of the rounds.

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
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from benchmarks import github_fake_host as fake_host
from benchmarks.common import BACKENDS, add_postgres_url_option, backends
from benchmarks.github_load import warm_up
from benchmarks.webhook_model import (
    BASELINE,
    BURST_BUDGET,
    CONCURRENCY,
    MAX_COUNT,
    MAX_RATE_SECONDS,
    MAX_REPEAT,
    POOL_CONNECTIONS,
    RATES,
    SCENARIO_GROUPS,
    STOP_GRACE,
    BenchmarkFailure,
    Measured,
    Run,
    Scenario,
    Settings,
)
from benchmarks.webhook_report import pct, render_report
from benchmarks.webhook_rounds import Pools, baseline_round, bot_round
from bot.logs import configure_logging


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
        f"ack p50 {pct(measured.ack_ms, 50):.1f} ms p99 {pct(measured.ack_ms, 99):.1f} ms"
    )
    if measured.e2e_ms:
        line += f", e2e p50 {pct(measured.e2e_ms, 50):.0f} ms"
    if measured.burst is not None:
        line += f", from send p99 {pct(measured.sent_ms, 99):.1f} ms"
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
