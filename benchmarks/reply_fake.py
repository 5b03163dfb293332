"""A GitHub API on loopback that answers at once, for the reply-path benchmarks.

Intent
    Play the GitHub calls a ``ping`` causes (create-comment, the 👀 reaction on the
    command's comment, and the commenter's permission, answered ``read``) at the lowest
    cost this side can have, so that what is measured is the bot and not the fake.
    ``tests.fakes.github.FakeGitHub`` checks every request against GitHub's contract;
    this one only records: for each reply, the thread it went to and the
    ``time.monotonic()`` at which its request had been read (just before the answer is
    written). A retried reply first lists its thread's comments (to find one that landed
before its answer was lost), so the fake keeps each thread's comments and lists them.
Any other route is answered 404 and listed in ``unexpected``. ``set_down``
plays an outage of the API (``benchmarks.reply_outage``): while down, every request is
answered 503 and counted in ``refused``, and nothing is recorded as a reply.

It runs on an event loop in a background thread of a ``ProcessPoolExecutor`` worker (one
process of its own, like GitHub is another machine); the functions below, called through
that executor, drive it. One ``start`` replaces any fake that ran before. Threads are
numbered so that each reply names the delivery it answers (``benchmarks.reply_load``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

CALL_TIMEOUT = 60.0
PONG = b"pong"
RATE_HEADERS = {
    "X-RateLimit-Limit": "1000000",
    "X-RateLimit-Remaining": "999999",
    "X-RateLimit-Used": "1",
    "X-RateLimit-Reset": "4102444800",
    "X-RateLimit-Resource": "core",
}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Replies:
    """What the fake saw: per reply its thread number and time, and the other traffic."""

    numbers: tuple[int, ...]
    times: tuple[float, ...]  # time.monotonic() in the fake's process, same order
    not_pong: int  # replies whose body does not say pong
    reactions: int
    permission_reads: int
    unexpected: tuple[str, ...]
    refused: int = 0  # requests answered 503 while down


class ReplyFake:
    """The aiohttp application and what it recorded."""

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.times: list[float] = []
        self.not_pong = 0
        self.reactions = 0
        self.permission_reads = 0
        self.unexpected: list[str] = []
        self.down = False
        self.threads: dict[str, list[dict[str, Any]]] = {}
        self.refused = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application(middlewares=[self._outage])
        app.router.add_post("/repos/{owner}/{repo}/issues/{number:\\d+}/comments", self._comment)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number:\\d+}/comments", self._thread)
        app.router.add_post(
            "/repos/{owner}/{repo}/issues/comments/{comment:\\d+}/reactions", self._reaction
        )
        app.router.add_get(
            "/repos/{owner}/{repo}/collaborators/{user}/permission", self._permission
        )
        app.router.add_route("*", "/{tail:.*}", self._elsewhere)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _outage(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self.down:
            response: web.StreamResponse = await handler(request)
            return response
        await request.read()
        self.refused += 1
        return web.json_response({"message": "Service Unavailable"}, status=503)

    async def _comment(self, request: web.Request) -> web.Response:
        body = await request.read()
        number = int(request.match_info["number"])
        self.numbers.append(number)
        self.times.append(time.monotonic())
        if PONG not in body:
            self.not_pong += 1
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        comment_id = next(self._ids)
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "html_url": f"https://github.com/{owner}/{repo}/issues/{number}"
            f"#issuecomment-{comment_id}",
            "user": {"login": "chatops-bot", "id": 1, "type": "Bot"},
            "body": str(json.loads(body).get("body", "")),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        self.threads.setdefault(request.path, []).append(comment)
        return web.json_response(comment, status=201, headers=RATE_HEADERS)

    async def _thread(self, request: web.Request) -> web.Response:
        return web.json_response(self.threads.get(request.path, []), headers=RATE_HEADERS)

    async def _reaction(self, request: web.Request) -> web.Response:
        await request.read()
        self.reactions += 1
        reaction_id = next(self._ids)
        return web.json_response(
            {"id": reaction_id, "content": "eyes", "user": {"login": "chatops-bot", "id": 1}},
            status=201,
            headers=RATE_HEADERS,
        )

    async def _permission(self, request: web.Request) -> web.Response:
        self.permission_reads += 1
        user = request.match_info["user"]
        return web.json_response(
            {"permission": "read", "role_name": "read", "user": {"login": user, "id": 2}},
            headers=RATE_HEADERS,
        )

    async def _elsewhere(self, request: web.Request) -> web.Response:
        await request.read()
        if len(self.unexpected) < 100:
            self.unexpected.append(f"{request.method} {request.path}")
        return web.json_response({"message": "Not Found"}, status=404, headers=RATE_HEADERS)


class _Host:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: ReplyFake | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CALL_TIMEOUT)


class _Holder:
    """The one host of this worker process, made on first use (not at import)."""

    host: _Host | None = None

    @classmethod
    def get(cls) -> _Host:
        if cls.host is None:
            cls.host = _Host()
        return cls.host


def start() -> str:
    """Replace any running fake with a fresh one; its base URL."""
    host = _Holder.get()

    async def started() -> str:
        if host.fake is not None:
            await host.fake.close()
        host.fake = ReplyFake()
        await host.fake.start()
        return host.fake.url

    return host.run(started())


def count() -> int:
    """Replies recorded so far."""
    host = _Holder.get()

    async def counted() -> int:
        return 0 if host.fake is None else len(host.fake.numbers)

    return host.run(counted())


def replies() -> Replies:
    host = _Holder.get()

    async def reported() -> Replies:
        fake = host.fake
        if fake is None:
            return Replies((), (), 0, 0, 0, ())
        return Replies(
            tuple(fake.numbers),
            tuple(fake.times),
            fake.not_pong,
            fake.reactions,
            fake.permission_reads,
            tuple(fake.unexpected),
            fake.refused,
        )

    return host.run(reported())


def set_down(down: bool) -> float:
    """Start (``True``) or end an outage: every request answered 503; when it switched."""
    host = _Holder.get()

    async def switched() -> float:
        if host.fake is not None:
            host.fake.down = down
        return time.monotonic()

    return host.run(switched())


def stop() -> None:
    host = _Holder.get()

    async def stopped() -> None:
        if host.fake is not None:
            await host.fake.close()
            host.fake = None

    host.run(stopped())
