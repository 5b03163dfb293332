"""The load client of the reply-path benchmarks: signed `@chatops ping` comments, 100 repositories.

Intent
    Send GitHub ``issue_comment`` deliveries as GitHub does (event, delivery id and
    ``X-Hub-Signature-256`` over the exact body, keep-alive HTTP) for a bounded time, and
    note when each was sent (closed loop) or due (open loop) and when its 202 came back.
    It runs in a ``ProcessPoolExecutor`` worker of its own, so it shares no event loop
    with what it measures.

Deliveries
    Delivery ``i`` is GitHub's example ``issue_comment.created.with-installation`` event
    (as in the tests), its comment saying ``@chatops ping``, in repository
    ``bench-<r>/repo-<r>`` with ``r = i mod repos``, installation ``INSTALLATION_BASE + r
    mod installations``, issue number ``FIRST_NUMBER + i`` and comment id ``FIRST_COMMENT
    + i``: the reply's thread names its delivery. Bodies are built and signed as they are
    sent (a 10-minute run at 300/s would not fit in memory prebuilt), costing the client
    about as much per delivery as GitHub's own sender. With ``busy_every = k`` every k-th
    delivery (``is_busy``) goes instead to one busy repository, ``bench-busy/repo-busy``, of
    installation ``BUSY_INSTALLATION`` (``benchmarks.reply_pacing``). With ``also`` (more
    webhook URLs) delivery ``i`` goes to the ``i mod n``-th of the ``n`` URLs, as a load
    balancer would spread it over replicas (``benchmarks.reply_scaleout``).

Shapes
    closed  ``connections`` senders, each sends its next delivery when the previous one
            is answered, until ``seconds`` have passed.
    open    one delivery due every ``1 / rate`` s for ``seconds`` (at most ``connections``
            in flight); latency from the moment it was due, so a late client counts.

Bounds: nothing is sent after ``seconds``; what is unanswered ``ANSWER_GRACE`` s later is
cancelled and reported with status 0.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.bare_limit import signature
from tests.github_stack import comment_payload

SHAPES = ("closed", "open")
COMMAND = "@chatops ping"
EVENT = "issue_comment"
USER_AGENT = "GitHub-Hookshot/044aadd"
ANSWER_GRACE = 30.0
FIRST_NUMBER = 100_000
FIRST_COMMENT = 5_000_000
INSTALLATION_BASE = 70_000
BUSY_INSTALLATION = INSTALLATION_BASE - 1


@dataclass(frozen=True, slots=True)
class LoadSpec:
    url: str
    secret: str
    shape: str  # one of SHAPES
    seconds: float
    connections: int
    rate: float  # open shape only
    repos: int
    installations: int
    busy_every: int = 0  # 0: no busy installation
    also: tuple[str, ...] = ()  # more webhook URLs, taken in turn with ``url``


@dataclass(frozen=True, slots=True)
class Sent:
    """Per delivery index: when it was sent (or due), when answered, the HTTP status."""

    began: float  # time.monotonic() of the first send
    due: array[float]
    ended: array[float]
    status: array[int]  # 0: no answer
    accepted: int  # answers 202 with accepted = 1
    client_cpu: float  # percent of one core over the sending wall time


def number_of(index: int) -> int:
    return FIRST_NUMBER + index


def index_of(number: int) -> int:
    return number - FIRST_NUMBER


def is_busy(index: int, busy_every: int) -> bool:
    """Whether delivery ``index`` goes to the busy installation."""
    return busy_every > 0 and index % busy_every == 0


class _Bodies:
    """Delivery ``i``'s headers and body, built on demand from one template."""

    def __init__(self, spec: LoadSpec) -> None:
        self._spec = spec
        self._template = comment_payload(COMMAND)

    def request(self, index: int) -> tuple[dict[str, str], bytes]:
        spec, data = self._spec, self._template
        r = index % spec.repos
        owner, name = f"bench-{r}", f"repo-{r}"
        installation = INSTALLATION_BASE + r % spec.installations
        if is_busy(index, spec.busy_every):
            owner, name, installation = "bench-busy", "repo-busy", BUSY_INSTALLATION
        repo = data["repository"]
        repo["name"], repo["full_name"] = name, f"{owner}/{name}"
        repo["owner"]["login"] = owner
        data["installation"]["id"] = installation
        data["issue"]["number"] = number_of(index)
        data["comment"]["id"] = FIRST_COMMENT + index
        body = json.dumps(data).encode()
        headers = {
            "X-GitHub-Event": EVENT,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature(body, spec.secret),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        return headers, body


def warm_up() -> None:
    """Nothing: lets the worker process start and import this module before timing."""


def run(spec: LoadSpec) -> Sent:
    """Send the load ``spec`` describes; entry point in the worker process."""
    if spec.shape not in SHAPES:
        raise ValueError(f"unknown shape {spec.shape!r}")
    return asyncio.run(_run(spec))


class _Recorder:
    def __init__(
        self, session: aiohttp.ClientSession, urls: tuple[str, ...], bodies: _Bodies
    ) -> None:
        self._session, self._urls, self._bodies = session, urls, bodies
        self.due: dict[int, float] = {}
        self.ended: dict[int, float] = {}
        self.status: dict[int, int] = {}
        self.accepted = 0

    async def send(self, index: int, due: float) -> None:
        headers, body = self._bodies.request(index)
        self.due[index] = due
        self.status[index] = 0
        try:
            url = self._urls[index % len(self._urls)]
            async with self._session.post(url, data=body, headers=headers) as response:
                answer: Any = await response.json(content_type=None)
                self.status[index] = response.status
                if response.status == 202 and isinstance(answer, dict):
                    self.accepted += int(answer.get("accepted", 0) == 1)
        except (aiohttp.ClientError, ValueError, OSError):
            pass
        finally:
            self.ended[index] = time.monotonic()


async def _run(spec: LoadSpec) -> Sent:
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=spec.connections)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None)
    ) as session:
        recorder = _Recorder(session, (spec.url, *spec.also), _Bodies(spec))
        cpu, began = time.process_time(), time.monotonic()
        deadline = began + spec.seconds
        if spec.shape == "closed":
            tasks = _closed(recorder, spec.connections, deadline)
        else:
            tasks = await _open(recorder, spec.rate, began, deadline)
        if tasks:
            _done, left = await asyncio.wait(tasks, timeout=ANSWER_GRACE)
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left)
        wall = time.monotonic() - began
        cpu = time.process_time() - cpu
    count = len(recorder.due)
    return Sent(
        began=began,
        due=array("d", (recorder.due[i] for i in range(count))),
        ended=array("d", (recorder.ended.get(i, 0.0) for i in range(count))),
        status=array("i", (recorder.status[i] for i in range(count))),
        accepted=recorder.accepted,
        client_cpu=100 * cpu / wall if wall > 0 else 0.0,
    )


def _closed(recorder: _Recorder, connections: int, deadline: float) -> list[asyncio.Task[None]]:
    indexes: Iterator[int] = itertools.count()

    async def sender() -> None:
        for index in indexes:
            now = time.monotonic()
            if now >= deadline:
                return
            await recorder.send(index, now)

    return [asyncio.create_task(sender()) for _ in range(connections)]


async def _open(
    recorder: _Recorder, rate: float, began: float, deadline: float
) -> list[asyncio.Task[None]]:
    tasks: list[asyncio.Task[None]] = []
    for index in itertools.count():
        due = began + index / rate
        if due >= deadline:
            break
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(recorder.send(index, due)))
        if len(tasks) >= 4096:  # keep the list short on long runs: drop finished tasks
            tasks = [task for task in tasks if not task.done()]
    return tasks
