"""The reply-path report: markdown tables whose rows can be pasted as a before or after column.

Closed loop: per server the median over rounds of each figure, and the median of the
per-round ratios to the bare limit measured in the same round. Sustained: per run a
summary row, the per-minute series and the per-10 s series. Every row starts with the
run's label (a commit, ``before``, ``after``) so rows of several runs stack in one table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.common import table_line
from benchmarks.reply_figures import Figures, Raw, figures, intervals, median, ms, number
from benchmarks.reply_runs import BARE

CLOSED_HEADER = (
    "run",
    "server",
    "rounds",
    "acks/s",
    "replies/s",
    "replies/s incl. drain",
    "CPU ms per command",
    "e2e p50",
    "e2e p99",
    "DB round trips per command",
    "acks x bare",
    "replies x bare",
    "drained (of rounds)",
)
SUSTAINED_HEADER = (
    "run",
    "server",
    "rate/s",
    "seconds",
    "arrivals",
    "replies/s",
    "replies/s incl. drain",
    "backlog at end",
    "backlog max (10 s)",
    "e2e p50",
    "e2e p99",
    "CPU ms per command",
    "DB round trips per command",
    "drain after load",
)
SERIES_HEADER = ("from s", "arrivals", "replies", "backlog at end", "e2e p50", "e2e p99", "CPU %")


def _ratios(raws: Sequence[Raw], server: str, attribute: str) -> list[float]:
    by_round = {f.round: f for f in map(figures, raws) if f.server == BARE}
    out = []
    for f in map(figures, raws):
        base = by_round.get(f.round)
        if f.server == server and base is not None and getattr(base, attribute) > 0:
            out.append(getattr(f, attribute) / getattr(base, attribute))
    return out


def closed_rows(label: str, raws: Sequence[Raw], servers: Sequence[str]) -> list[str]:
    rows = []
    for server in servers:
        chosen = [figures(r) for r in raws if r.server == server]
        if not chosen:
            continue
        acks_x = median(_ratios(raws, server, "ack_rate")) if server != BARE else math.nan
        replies_x = median(_ratios(raws, server, "reply_rate")) if server != BARE else math.nan
        rows.append(
            table_line(
                (
                    label,
                    server,
                    str(len(chosen)),
                    number(median([f.ack_rate for f in chosen])),
                    number(median([f.reply_rate for f in chosen])),
                    number(median([f.reply_rate_to_drain for f in chosen])),
                    number(median([f.cpu_ms_per_command for f in chosen]), 2),
                    ms(median([f.e2e_p50_ms for f in chosen])),
                    ms(median([f.e2e_p99_ms for f in chosen])),
                    number(median([f.round_trips_per_command for f in chosen]), 1),
                    number(acks_x, 2),
                    number(replies_x, 2),
                    f"{sum(f.drained for f in chosen)}/{len(chosen)}",
                )
            )
        )
    return rows


def verb_lines(raws: Sequence[Raw], servers: Sequence[str]) -> list[str]:
    """Per back end, the median round trips per command by statement keyword."""
    lines = []
    for server in servers:
        chosen = [figures(r) for r in raws if r.server == server and r.counts]
        if not chosen:
            continue
        verbs = sorted(
            {v for f in chosen for v in f.by_verb}, key=lambda v: -chosen[0].by_verb.get(v, 0)
        )
        parts = [f"{v} {median([f.by_verb.get(v, 0.0) for f in chosen]):.2f}" for v in verbs]
        lines.append(f"- {server}, round trips per command by statement: " + ", ".join(parts))
    return lines


def round_lines(raws: Sequence[Raw]) -> list[str]:
    """One line per round and server, for the record."""
    lines = []
    for raw in raws:
        f = figures(raw)
        lines.append(
            f"- round {f.round} {f.server}: sent {f.sent}, acked {f.acked} ({f.ack_rate:.0f}/s), "
            f"replied {f.replied} ({f.reply_rate:.0f}/s in the window, "
            f"{f.reply_rate_to_drain:.0f}/s to the last), "
            f"CPU {f.cpu_ms_per_command:.2f} ms/command, e2e p50 {ms(f.e2e_p50_ms)} "
            f"p99 {ms(f.e2e_p99_ms)}, "
            + (
                f"drained {f.drain_seconds:.1f} s after the load"
                if f.drained
                else f"NOT drained {f.drain_seconds:.0f} s after the load"
            )
            + f", client CPU {f.client_cpu:.0f}%"
            + (f", not acked (by status, 0 = no answer): {dict(f.refused)}" if f.refused else "")
            + (f", {f.not_pong} replies not pong" if f.not_pong else "")
            + (f", unexpected calls {list(f.unexpected[:3])}" if f.unexpected else "")
        )
    return lines


def sustained_row(label: str, raw: Raw, rate: float) -> str:
    f: Figures = figures(raw)
    tens = intervals(raw, 10.0)
    last = tens[-1].backlog if tens else 0
    return table_line(
        (
            label,
            raw.server,
            f"{rate:g}",
            f"{raw.seconds:g}",
            str(f.sent),
            number(f.reply_rate),
            number(f.reply_rate_to_drain),
            str(last),
            str(max((i.backlog for i in tens), default=0)),
            ms(f.e2e_p50_ms),
            ms(f.e2e_p99_ms),
            number(f.cpu_ms_per_command, 2),
            number(f.round_trips_per_command, 1),
            f"{f.drain_seconds:.1f} s" if f.drained else f"not drained in {f.drain_seconds:.0f} s",
        )
    )


def series(raw: Raw, length: float) -> list[str]:
    lines = [table_line(SERIES_HEADER), table_line(("---",) * len(SERIES_HEADER))]
    for i in intervals(raw, length):
        lines.append(
            table_line(
                (
                    f"{i.start:g}",
                    str(i.arrivals),
                    str(i.replies),
                    str(i.backlog),
                    ms(i.e2e_p50_ms),
                    ms(i.e2e_p99_ms),
                    number(i.cpu_percent),
                )
            )
        )
    return lines


def header(columns: Sequence[str]) -> list[str]:
    return [table_line(columns), table_line(("---",) * len(columns))]
