"""What ``benchmarks.github_webhook`` measures and keeps: scenarios, settings, figures, the run.

Plain data and the constants every part of that benchmark agrees on (the webhook secret,
the token, the example payload's repository and commenter, the bounds). Importing this
module only defines things.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TypeVar

MAX_COUNT = 20_000
MAX_RATE_SECONDS = 20.0
MAX_REPEAT = 10
SCENARIO_BUDGET = 120.0
BURST_BUDGET = 300.0
LOAD_LIMIT = 60.0
STOP_GRACE = 15.0
CHECK_INTERVAL = 0.25
SAMPLE_INTERVAL = 0.5
CONCURRENCY = 16
RATES = (100, 300, 1000)
POOL_CONNECTIONS = 256
BASELINE = "baseline"
SCENARIO_GROUPS = ("c16", "rates", "burst")

SECRET = "benchmark webhook secret"
TOKEN = "ghp_benchmark_token"
REPO = "Codertocat/Hello-World"  # the example payload's repository
AUTHOR = "Codertocat"  # the example payload's commenter
BOT_LOGIN = "chatops-bot"  # GitHubSettings.bot_login and FakeGitHub's default
FIRST_THREAD = 1000
WRITE_OPERATIONS = ("issues/create-comment", "reactions/create-for-issue-comment")
REPLY_TITLE = "pong"
NO_VALUE = "-"
T = TypeVar("T")


class BenchmarkFailure(Exception):
    """The system broke a promise: a delivery not acked or persisted, a reply lost or doubled."""


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    shape: str  # a github_load shape
    count: int
    connections: int
    rate: float | None = None
    api_delay: float = 0.0
    window: float = 0.0  # burst: how long the outbox is watched with the API delay on

    @property
    def is_burst(self) -> bool:
        return self.shape == "burst"


@dataclass(frozen=True, slots=True)
class Settings:
    servers: tuple[str, ...]  # BASELINE first, then backends
    scenarios: tuple[Scenario, ...]
    repeat: int
    burst_rounds: int
    postgres_url: str | None


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True, slots=True)
class BurstFigures:
    all_acked_seconds: float  # first send to the last 202
    max_outbox: int  # outbox rows pending or claimed, largest sample
    max_inbox: int
    outbox_at_window_end: int
    sent_rate: float  # outbox rows sent per second while the API took api_delay
    projected_drain_seconds: float  # 2 x n rows at sent_rate
    drain_after_lift_seconds: float | None  # None if it did not empty within the budget
    timeline: tuple[tuple[float, int, int], ...]  # (seconds from first send, outbox, inbox)


@dataclass(frozen=True, slots=True)
class Measured:
    scenario: Scenario
    server: str
    round: int
    sent: int
    acked: int
    ack_rate: float
    ack_ms: tuple[float, ...]  # sorted; from start (c16) or due time (rate, burst)
    sent_ms: tuple[float, ...]  # sorted; from the moment the request got a client slot
    e2e_ms: tuple[float, ...] = ()  # sorted; bot, not burst
    client_cpu: float = 0.0  # percent of one core over the load's wall time
    server_cpu: float = 0.0
    complete: bool = True
    burst: BurstFigures | None = None
    note: str = ""


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    settings: Settings
    results: list[Measured] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # partial rounds: exit status 1
    remarks: list[str] = field(default_factory=list)  # worth reading, not a failure
    failure: str | None = None
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    load_after: float = 0.0

    @property
    def incomplete(self) -> bool:
        return bool(self.notes) or self.failure is not None
