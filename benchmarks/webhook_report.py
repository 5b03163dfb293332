"""The report of ``benchmarks.github_webhook``: markdown tables, burst timelines, targets.

Each figure is the median over rounds of that round's figure; ``x baseline`` is the median
of the per-round ratios to the baseline measured in the same round. Pure functions of a
``Run``.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from collections.abc import Sequence
from datetime import date

from benchmarks.common import percentile, table_line
from benchmarks.webhook_model import (
    BASELINE,
    CONCURRENCY,
    NO_VALUE,
    Measured,
    Run,
    Scenario,
)
from bot.config import Config


def pct(ordered: Sequence[float], q: float) -> float:
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
        _fmt(_median([pct(m.ack_ms, 50) for m in chosen])),
        _fmt(_median([pct(m.ack_ms, 99) for m in chosen])),
        _fmt(_median([pct(m.ack_ms, 100) for m in chosen])),
        _fmt(_median([pct(m.e2e_ms, 50) for m in with_e2e]), 0),
        _fmt(_median([pct(m.e2e_ms, 99) for m in with_e2e]), 0),
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
        _fmt(_median([pct(m.sent_ms, 50) for m in chosen])),
        _fmt(_median([pct(m.sent_ms, 99) for m in chosen])),
        _fmt(_median([pct(m.ack_ms, 99) for m in chosen])),
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
            p99s = [pct(m.ack_ms, 99) for m in _chosen(run, rate300, backend)]
            p99 = _median(p99s)
            lines.append(
                f"{_verdict(p99 < 50)} {backend}: ack p99 at 300/s = {p99:.1f} ms "
                f"(target < 50 ms; rounds {min(p99s):.1f}..{max(p99s):.1f})"
            )
        burst = next((s for s in run.settings.scenarios if s.is_burst), None)
        if burst is not None:
            chosen = [m for m in _chosen(run, burst, backend) if m.burst is not None]
            if chosen:
                p99 = _median([pct(m.sent_ms, 99) for m in chosen])
                from_start = _median([pct(m.ack_ms, 99) for m in chosen])
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
