"""The load client of ``benchmarks.github_webhook``: signed GitHub deliveries over keep-alive HTTP.

Intent
    Send ``issue_comment`` deliveries the way GitHub does (event, delivery id and
    ``X-Hub-Signature-256`` headers over the exact body) and time each one from the moment
    it was due to the moment its answer was read. It runs in a process of its own (a
    ``ProcessPoolExecutor`` worker started by the benchmark), so the client does not share
    an event loop with the server it measures.

Shapes
    concurrency  ``connections`` senders each send the next delivery as soon as their
                 previous one is answered (closed loop). Latency runs from the start of
                 the request to the answer.
    rate         One delivery is due every ``1 / rate`` seconds whatever the answers
                 (open loop). Latency runs from the moment it was due, so waiting for a
                 free connection or a late client loop counts (no coordinated omission).
    burst        Every delivery is due at once; at most ``connections`` are in flight.
                 Two latencies: from the common start (client queueing included), and
                 from the moment a delivery got one of the ``connections`` slots and was
                 sent (what a sender with its own timeout, like GitHub, would see).

Bodies are built and signed before the clock starts. All times are ``time.monotonic()``,
which on Linux is ``CLOCK_MONOTONIC`` and so comparable between the benchmark's processes.

Bounds: nothing new is sent after ``time_limit`` seconds from the first send, and requests
still unanswered ``ANSWER_GRACE`` seconds after that are cancelled and reported with
status 0, as are requests that failed on the client side.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from connectors.github.protocol import sign
from tests.github_stack import comment_payload

SHAPES = ("concurrency", "rate", "burst")
UNANSWERED = "no answer within the time limit"
ANSWER_GRACE = 30.0
COMMAND = "@chatops ping"
EVENT = "issue_comment"
USER_AGENT = "GitHub-Hookshot/044aadd"


@dataclass(frozen=True, slots=True)
class Target:
    """One delivery to send: its id, the comment it carries and the thread it is in."""

    delivery: str
    comment_id: int
    number: int


@dataclass(frozen=True, slots=True)
class LoadSpec:
    url: str
    secret: str
    shape: str  # one of SHAPES
    targets: tuple[Target, ...]
    connections: int  # in flight (concurrency) or the pool's cap (rate, burst)
    rate: float | None  # deliveries per second, rate shape only
    time_limit: float  # seconds after the first send; nothing new starts after it


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request as the client saw it; ``status`` 0 means no HTTP answer."""

    index: int
    due: float
    started: float
    ended: float
    status: int
    accepted: int
    error: str = ""

    @property
    def latency(self) -> float:
        """From the moment it was due (queueing in the client included) to the answer."""
        return self.ended - self.due

    @property
    def sent_latency(self) -> float:
        """From the moment it got a client connection slot to the answer."""
        return self.ended - self.started


@dataclass(frozen=True, slots=True)
class LoadResult:
    began: float  # when the first delivery was due
    outcomes: tuple[Outcome, ...]  # one per delivery that was started, in index order
    prepare_seconds: float  # building and signing the bodies (not timed)
    client_cpu: float  # this process's CPU time over the sending wall time, percent of a core


_prepared: tuple[LoadSpec, list[tuple[dict[str, str], bytes]], float] | None = None


def warm_up() -> None:
    """Nothing: called once so that the worker process has started and imported this module."""


def prepare(spec: LoadSpec) -> float:
    """Build and sign the bodies of ``spec`` (untimed); the seconds that took."""
    global _prepared
    began = time.monotonic()
    requests = _requests(spec)
    seconds = time.monotonic() - began
    _prepared = (spec, requests, seconds)
    return seconds


def run_load() -> LoadResult:
    """Send what ``prepare`` built; entry point in the worker process."""
    global _prepared
    if _prepared is None:
        raise RuntimeError("call prepare() first")
    spec, requests, seconds = _prepared
    _prepared = None
    return asyncio.run(_run(spec, requests, seconds))


def delivery_body(template: dict[str, Any], target: Target) -> bytes:
    """GitHub's example comment event, pointing at ``target``'s comment and thread."""
    template["comment"]["id"] = target.comment_id
    template["issue"]["number"] = target.number
    return json.dumps(template).encode()


def _requests(spec: LoadSpec) -> list[tuple[dict[str, str], bytes]]:
    template = comment_payload(COMMAND)
    prepared = []
    for target in spec.targets:
        body = delivery_body(template, target)
        headers = {
            "X-GitHub-Event": EVENT,
            "X-GitHub-Delivery": target.delivery,
            "X-Hub-Signature-256": sign(body, spec.secret),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        prepared.append((headers, body))
    return prepared


async def _run(
    spec: LoadSpec, requests: Sequence[tuple[dict[str, str], bytes]], prepare_seconds: float
) -> LoadResult:
    if spec.shape not in SHAPES:
        raise ValueError(f"unknown shape {spec.shape!r}")
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=spec.connections)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sender = _Sender(session, spec.url, spec.connections)
        cpu = time.process_time()
        began = time.monotonic()
        deadline = began + spec.time_limit
        if spec.shape == "concurrency":
            await _closed_loop(sender, requests, spec.connections, deadline)
        else:
            rate = spec.rate if spec.shape == "rate" else None
            await _open_loop(sender, requests, rate, began, deadline)
        wall = time.monotonic() - began
        cpu = time.process_time() - cpu
    outcomes = tuple(sorted(sender.outcomes, key=lambda outcome: outcome.index))
    return LoadResult(
        began=began,
        outcomes=outcomes,
        prepare_seconds=prepare_seconds,
        client_cpu=100 * cpu / wall if wall > 0 else 0.0,
    )


class _Sender:
    """Sends one request at a time per free slot; ``started`` is when it got a slot."""

    def __init__(self, session: aiohttp.ClientSession, url: str, connections: int) -> None:
        self._session = session
        self._url = url
        self._slots = asyncio.Semaphore(connections)
        self.outcomes: list[Outcome] = []

    async def send(self, index: int, due: float, request: tuple[dict[str, str], bytes]) -> None:
        async with self._slots:
            await self._send(index, due, request)

    async def _send(self, index: int, due: float, request: tuple[dict[str, str], bytes]) -> None:
        headers, body = request
        started = time.monotonic()
        status, accepted, error = 0, 0, ""
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                status = response.status
                answer = await response.json(content_type=None)
                if isinstance(answer, dict):
                    accepted = int(answer.get("accepted", 0))
        except asyncio.CancelledError:
            error = UNANSWERED
            self.outcomes.append(Outcome(index, due, started, time.monotonic(), 0, 0, error))
            raise
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.outcomes.append(
            Outcome(index, due, started, time.monotonic(), status, accepted, error)
        )


async def _closed_loop(
    sender: _Sender,
    requests: Sequence[tuple[dict[str, str], bytes]],
    connections: int,
    deadline: float,
) -> None:
    pending = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in pending:
            now = time.monotonic()
            if now >= deadline:
                return
            await sender.send(index, now, request)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await _finish(workers, deadline)


async def _open_loop(
    sender: _Sender,
    requests: Sequence[tuple[dict[str, str], bytes]],
    rate: float | None,
    began: float,
    deadline: float,
) -> None:
    tasks: list[asyncio.Task[None]] = []
    for index, request in enumerate(requests):
        due = began if rate is None else began + index / rate
        if due >= deadline:
            break
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(sender.send(index, due, request)))
    await _finish(tasks, deadline)


async def _finish(tasks: Sequence[asyncio.Task[None]], deadline: float) -> None:
    """Wait for ``tasks`` until ``ANSWER_GRACE`` after ``deadline``; cancel what is left."""
    if not tasks:
        return
    grace = max(0.0, deadline - time.monotonic()) + ANSWER_GRACE
    _done, left = await asyncio.wait(tasks, timeout=grace)
    for task in left:
        task.cancel()
    if left:
        await asyncio.wait(left)
