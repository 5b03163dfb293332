"""The fake GitHub API of ``benchmarks.github_webhook``, served from a process of its own.

Intent
    ``tests.fakes.github.FakeGitHub`` plays GitHub's REST API for the bot under test. In
    production GitHub is another machine, so the benchmark keeps the fake's work (contract
    checks, JSON, its scripted latency) off the bot's event loop: the fake runs on an event
    loop in a background thread of a ``ProcessPoolExecutor`` worker, and the functions
    below, called through that executor, drive it. One fake serves one scenario.

What it adds to the fake: a ``time.monotonic()`` timestamp for each call, taken when the
fake appended it to ``calls`` (after its scripted delay and its answer were computed, just
before the response is written), and a rate limit high enough that ``x-ratelimit-remaining``
never reaches 0 during a run. Nothing in the fake or the product is changed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.fakes.github import Call, FakeGitHub

CALL_TIMEOUT = 60.0
RATE_LIMIT = 10**9
T = TypeVar("T")


class TimedCalls(list[Call]):
    """``FakeGitHub.calls`` that also notes when each call was recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, call: Call) -> None:
        self.times.append(time.monotonic())
        super().append(call)


@dataclass(frozen=True, slots=True)
class TimedCall:
    operation_id: str | None
    method: str
    path: str
    status: int
    at: float  # time.monotonic() in the fake's process


@dataclass(frozen=True, slots=True)
class SeenComment:
    id: int
    number: int
    author: str
    body: str


@dataclass(frozen=True, slots=True)
class SeenReaction:
    comment_id: int
    kind: str
    content: str
    user: str


@dataclass(frozen=True, slots=True)
class FakeReport:
    calls: tuple[TimedCall, ...]
    violations: tuple[str, ...]
    comments: tuple[SeenComment, ...]
    reactions: tuple[SeenReaction, ...]


class _Host:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeGitHub | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CALL_TIMEOUT)

    def current(self) -> FakeGitHub:
        if self.fake is None:
            raise RuntimeError("no fake GitHub is running; call start() first")
        return self.fake


_host: _Host | None = None


def _the_host() -> _Host:
    global _host
    if _host is None:
        _host = _Host()
    return _host


def warm_up() -> None:
    """Start the fake's event loop thread, so the first scenario does not pay for it."""
    _the_host()


def start(token: str) -> str:
    """Replace any running fake with a fresh one that accepts ``token``; its URL."""
    host = _the_host()

    async def started() -> str:
        if host.fake is not None:
            await host.fake.__aexit__(None, None, None)
            host.fake = None
        fake = FakeGitHub()
        await fake.__aenter__()
        fake.add_token(token)
        fake.world.rate_limit = RATE_LIMIT
        fake.calls = TimedCalls()
        host.fake = fake
        return fake.url

    return host.run(started())


def seed(repo: str, numbers: Sequence[int], body: str, author: str) -> list[int]:
    """One comment per thread number; the comment ids, in the same order."""
    host = _the_host()

    async def seeded() -> list[int]:
        fake = host.current()
        return [fake.seed_comment(repo, number, body, author) for number in numbers]

    return host.run(seeded())


def delay(operation_ids: Sequence[str], seconds: float) -> None:
    host = _the_host()

    async def delayed() -> None:
        fake = host.current()
        for operation_id in operation_ids:
            fake.delay(operation_id, seconds)

    host.run(delayed())


def report() -> FakeReport:
    """What the fake saw: timed calls, violations, comments and reactions."""
    host = _the_host()

    async def reported() -> FakeReport:
        fake = host.current()
        calls = fake.calls
        times = calls.times if isinstance(calls, TimedCalls) else [0.0] * len(calls)
        return FakeReport(
            calls=tuple(
                TimedCall(call.operation_id, call.method, call.path, call.status, at)
                for call, at in zip(calls, times, strict=True)
            ),
            violations=tuple(fake.violations),
            comments=tuple(
                SeenComment(comment.id, comment.number, comment.author, comment.body)
                for comment in fake.world.comments.values()
            ),
            reactions=tuple(
                SeenReaction(r.record.id, r.record.kind, r.record.content, r.record.user)
                for r in fake.world.reactions
            ),
        )

    return host.run(reported())


def stop() -> None:
    host = _the_host()

    async def stopped() -> None:
        if host.fake is not None:
            await host.fake.__aexit__(None, None, None)
            host.fake = None

    host.run(stopped())
