"""In-process metrics, exposed in the Prometheus text format at ``/metrics``.

A ``Metrics`` instance belongs to one application (no module-level registry).
Counters and histograms are updated by the pipeline; gauges such as queue
depths are read from the database at scrape time by ``/metrics`` itself.

Series:
- ``chatops_invocations_total{platform,command,outcome}``
- ``chatops_deliveries_total{platform,outcome}``  (sent | retry | dead)
- ``chatops_ack_seconds{platform}``  (inbound request to inbox row, histogram)
- ``chatops_end_to_end_seconds{platform}``  (received to reply sent, histogram)
- ``chatops_queue_depth{queue,status}``  (gauge, at scrape)
- ``chatops_rejected_requests_total{door,reason}``  (requests refused at a front door)
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Labels = tuple[tuple[str, str], ...]


def _labels(values: Mapping[str, str]) -> Labels:
    return tuple(sorted(values.items()))


def _format_labels(labels: Labels, extra: Iterable[tuple[str, str]] = ()) -> str:
    pairs = [*labels, *extra]
    if not pairs:
        return ""
    body = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _labels(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_format_labels(k)} {v:g}" for k, v in sorted(self.values.items())]
        return lines


@dataclass
class _Series:
    buckets: list[int]
    total: float = 0.0
    count: int = 0


@dataclass
class Histogram:
    name: str
    help: str
    bounds: tuple[float, ...] = LATENCY_BUCKETS
    series: dict[Labels, _Series] = field(default_factory=dict)

    def observe(self, value: float, **labels: str) -> None:
        key = _labels(labels)
        series = self.series.setdefault(key, _Series(buckets=[0] * len(self.bounds)))
        index = bisect.bisect_left(self.bounds, value)
        for i in range(index, len(self.bounds)):
            series.buckets[i] += 1
        series.total += value
        series.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, series in sorted(self.series.items()):
            for bound, cumulative in zip(self.bounds, series.buckets, strict=True):
                le = _format_labels(key, [("le", f"{bound:g}")])
                lines.append(f"{self.name}_bucket{le} {cumulative}")
            lines.append(
                f"{self.name}_bucket{_format_labels(key, [('le', '+Inf')])} {series.count}"
            )
            lines.append(f"{self.name}_sum{_format_labels(key)} {series.total:g}")
            lines.append(f"{self.name}_count{_format_labels(key)} {series.count}")
        return lines


@dataclass
class Metrics:
    invocations: Counter = field(
        default_factory=lambda: Counter(
            "chatops_invocations_total", "Invocations dispatched, by platform, command and outcome."
        )
    )
    deliveries: Counter = field(
        default_factory=lambda: Counter(
            "chatops_deliveries_total", "Outbox delivery attempts, by platform and outcome."
        )
    )
    ack_seconds: Histogram = field(
        default_factory=lambda: Histogram(
            "chatops_ack_seconds", "Time from receiving a platform request to persisting it."
        )
    )
    end_to_end_seconds: Histogram = field(
        default_factory=lambda: Histogram(
            "chatops_end_to_end_seconds", "Time from receiving a command to sending its reply."
        )
    )
    rejections: Counter = field(
        default_factory=lambda: Counter(
            "chatops_rejected_requests_total",
            "Requests refused at a front door, by door and reason.",
        )
    )

    def render(self, queue_depths: Mapping[str, Mapping[str, int]]) -> str:
        lines: list[str] = []
        for metric in (
            self.invocations,
            self.deliveries,
            self.ack_seconds,
            self.end_to_end_seconds,
            self.rejections,
        ):
            lines += metric.render()
        lines += [
            "# HELP chatops_queue_depth Rows in the inbox and outbox, by status.",
            "# TYPE chatops_queue_depth gauge",
        ]
        for queue, by_status in sorted(queue_depths.items()):
            for status, count in sorted(by_status.items()):
                labels = _format_labels((("queue", queue), ("status", status)))
                lines.append(f"chatops_queue_depth{labels} {count}")
        return "\n".join(lines) + "\n"
