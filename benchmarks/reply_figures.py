"""From raw timings to the reply-path figures: rates, CPU per command, percentiles, intervals.

Pure functions over what one run of one server recorded (``Raw``): when each delivery was
sent or due and answered (the load client), when each reply reached the fake, and the
server's CPU time and driver counts before and after. All times are ``time.monotonic()``
of one machine. A delivery without a reply by the end of the drain counts as infinitely
late in the percentiles, so a backlog cannot flatter them.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.reply_fake import Replies
from benchmarks.reply_load import Sent, index_of

NO_VALUE = "-"


@dataclass(frozen=True, slots=True)
class Raw:
    server: str
    round: int
    seconds: float  # the load window
    sent: Sent
    replies: Replies
    cpu_seconds: float  # the server's, from the first send to the end of the drain
    counts: Mapping[str, int]  # driver round trips over the same span (empty: not counted)
    drained: bool
    drain_seconds: float  # from the end of the load window to the last reply (or the cap)
    cpu_samples: tuple[tuple[float, float], ...] = ()  # (monotonic, server CPU s)


@dataclass(frozen=True, slots=True)
class Interval:
    start: float  # seconds from the first send
    length: float
    arrivals: int
    replies: int
    backlog: int  # sent (due) minus replied, at the interval's end
    e2e_p50_ms: float
    e2e_p99_ms: float
    cpu_percent: float  # the server's, 100 = one core; nan when not sampled


@dataclass(frozen=True, slots=True)
class Figures:
    server: str
    round: int
    sent: int
    acked: int
    replied: int
    ack_rate: float
    reply_rate: float  # replies that reached the fake within the load window, per second
    reply_rate_to_drain: float  # every reply, over the window and the drain after it
    cpu_ms_per_command: float
    round_trips_per_command: float  # nan when not counted
    by_verb: Mapping[str, float]
    e2e_p50_ms: float
    e2e_p99_ms: float
    drained: bool
    drain_seconds: float
    client_cpu: float
    not_pong: int
    unexpected: tuple[str, ...]
    refused: Mapping[int, int]  # answers other than 202, by status (0: none in time)


def first_replies(raw: Raw) -> dict[int, float]:
    """Delivery index -> when its first reply reached the fake."""
    seen: dict[int, float] = {}
    for number, at in zip(raw.replies.numbers, raw.replies.times, strict=True):
        seen.setdefault(index_of(number), at)
    return seen


def latencies_ms(raw: Raw, indexes: Sequence[int], replied: Mapping[int, float]) -> list[float]:
    """Sorted webhook-to-reply times of ``indexes``; ``inf`` for those never replied."""
    due = raw.sent.due
    return sorted((replied[i] - due[i]) * 1000 if i in replied else math.inf for i in indexes)


def percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def figures(raw: Raw) -> Figures:
    sent = raw.sent
    acked_at = [sent.ended[i] for i in range(len(sent.status)) if sent.status[i] == 202]
    window_end = sent.began + raw.seconds
    last_ack = max(acked_at, default=sent.began)
    replied = first_replies(raw)
    in_window = sum(1 for at in replied.values() if at <= window_end)
    answered = [i for i in range(len(sent.status)) if sent.status[i] == 202]
    e2e = latencies_ms(raw, answered, replied)
    count = len(replied)
    total = raw.counts.get("total")
    return Figures(
        server=raw.server,
        round=raw.round,
        sent=len(sent.status),
        acked=len(acked_at),
        replied=count,
        ack_rate=len(acked_at) / max(last_ack - sent.began, 1e-9),
        reply_rate=in_window / raw.seconds,
        reply_rate_to_drain=count / (raw.seconds + raw.drain_seconds),
        cpu_ms_per_command=1000 * raw.cpu_seconds / count if count else math.nan,
        round_trips_per_command=(total / count) if (total is not None and count) else math.nan,
        by_verb={verb: n / count for verb, n in raw.counts.items() if verb != "total" and count},
        e2e_p50_ms=percentile(e2e, 50),
        e2e_p99_ms=percentile(e2e, 99),
        drained=raw.drained,
        drain_seconds=raw.drain_seconds,
        client_cpu=sent.client_cpu,
        not_pong=raw.replies.not_pong,
        unexpected=raw.replies.unexpected,
        refused=dict(Counter(status for status in sent.status if status != 202)),
    )


def intervals(raw: Raw, length: float) -> list[Interval]:
    """Per ``length`` s of the load window: arrivals, replies, backlog, e2e, server CPU."""
    sent, began = raw.sent, raw.sent.began
    replied = first_replies(raw)
    reply_times = sorted(replied.values())
    due = list(sent.due)  # ascending in the open loop
    samples = raw.cpu_samples
    out: list[Interval] = []
    start = 0.0
    while start < raw.seconds - 1e-9:
        end = min(start + length, raw.seconds)
        lo = bisect.bisect_left(due, began + start)
        hi = bisect.bisect_left(due, began + end)
        replies = bisect.bisect_right(reply_times, began + end) - bisect.bisect_right(
            reply_times, began + start
        )
        backlog = hi - bisect.bisect_right(reply_times, began + end)
        e2e = latencies_ms(raw, range(lo, hi), replied)
        out.append(
            Interval(
                start=start,
                length=end - start,
                arrivals=hi - lo,
                replies=replies,
                backlog=backlog,
                e2e_p50_ms=percentile(e2e, 50),
                e2e_p99_ms=percentile(e2e, 99),
                cpu_percent=_cpu_between(samples, began + start, began + end),
            )
        )
        start = end
    return out


def _cpu_between(samples: Sequence[tuple[float, float]], start: float, end: float) -> float:
    inside = [s for s in samples if start - 0.6 <= s[0] <= end + 0.6]
    if len(inside) < 2:
        return math.nan
    first = min(inside, key=lambda s: abs(s[0] - start))
    last = min(inside, key=lambda s: abs(s[0] - end))
    if last[0] <= first[0]:
        return math.nan
    return 100 * (last[1] - first[1]) / (last[0] - first[0])


def median(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def ms(value: float) -> str:
    """Milliseconds for a table: ``-`` when unknown, ``> drain`` when never replied."""
    if math.isnan(value):
        return NO_VALUE
    if math.isinf(value):
        return "unreplied"
    if value >= 10_000:
        return f"{value / 1000:.0f} s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def number(value: float, digits: int = 0) -> str:
    return NO_VALUE if math.isnan(value) else f"{value:,.{digits}f}"
