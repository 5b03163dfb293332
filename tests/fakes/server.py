"""The one shape of every fake platform server: a real aiohttp server on 127.0.0.1, port 0.

A fake (GitHub, GitLab, Slack, Discord) subclasses ``FakeServer`` and adds its routes
(``routes``) and, if it needs them, middlewares. The base owns what all of them share:

- **One lifecycle.** ``async with Fake(...) as fake:`` (or ``await fake.start()`` then
  ``await fake.close()``) serves at ``fake.url`` and stops; ``checked(fake)`` does the
  same and, when the block ends normally, asserts the fake recorded no violation.
- **A call log**, ``calls``: the fake appends one record per request, of its own
  ``Call`` type, as it answers it.
- **Contract violations**, ``violations``: every way a client broke the platform's
  contract, one line each, ``"METHOD /path: what was wrong"`` (``violation``). A request
  that no route serves reaches the catch-all route, which records ``no such route`` and
  answers the fake's error (``unrouted``). Tests assert the list is empty
  (``assert_no_violations``) or equals the expected lines. A state a client must handle
  (a wrong token, a missing object) is an error answer, not a violation.
- **Scripted answers and delays**, keyed by route: ``fail_next(route, status, ...)``
  answers the next ``times`` matching requests with that status instead, ``answer_next``
  queues ready-made ``Answer``s, ``delay(route, seconds)`` holds every later matching
  request back. A route is an ``fnmatch`` pattern over the name the fake gives a request:
  GitHub's operation id, Slack's method, ``"METHOD /path"`` for GitLab and Discord. The
  fake decides where in its handling the script applies (``take_answer(name)``,
  ``wait_delay(name)``): where the real platform would refuse, after authentication.

Invariants: scripted answers are served once each, first queued first; a fake never
raises into aiohttp for a client's mistake (it answers and records); violations are
only ever appended.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiohttp import web

CallT = TypeVar("CallT")
F = TypeVar("F", bound="FakeServer[Any]")
UNROUTED = "unrouted"  # the name of the catch-all route


@dataclass(frozen=True)
class Answer:
    """A scripted response: ``body`` None means the fake's own error body for ``status``."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeServer(Generic[CallT]):
    """The shared lifecycle, call log, violations and scripting of a fake platform."""

    def __init__(self) -> None:
        self.calls: list[CallT] = []
        self.violations: list[str] = []
        self._answers: list[tuple[str, Answer]] = []
        self._delays: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # What a fake provides

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        """The platform's routes; anything else reaches the catch-all."""
        return ()

    def middlewares(self) -> Iterable[Any]:
        return ()

    def check_route(self, route: str) -> None:
        """Refuse a route the fake can never match (a typo must fail the test)."""

    def error(self, request: web.Request, status: int) -> web.StreamResponse:
        """The platform's error answer for ``status`` (for scripts without a body too)."""
        return web.json_response({"message": f"{status} Error"}, status=status)

    async def unrouted(self, request: web.Request) -> web.StreamResponse:
        """A request no route serves: a violation, answered with the platform's 404."""
        self.violation(request, "no such route")
        return self.error(request, 404)

    async def closing(self) -> None:
        """Close what the fake holds open (websockets) before the server stops."""

    # Lifecycle

    async def start(self) -> Self:
        app = web.Application(middlewares=list(self.middlewares()))
        app.add_routes(list(self.routes()))
        app.router.add_route("*", "/{tail:.*}", self.unrouted, name=UNROUTED)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self.closing()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError(f"{type(self).__name__} is not serving; use it as `async with`")
        return self._url

    # Violations

    def violation(self, request: web.Request, what: str, *, path: str | None = None) -> None:
        """Record that ``request`` broke the contract (``path`` defaults to the raw path)."""
        self.violations.append(f"{request.method} {path or request.rel_url.raw_path}: {what}")

    def assert_no_violations(self) -> None:
        assert self.violations == [], "the fake saw contract violations:\n" + "\n".join(
            self.violations
        )

    @staticmethod
    def is_unrouted(request: web.Request) -> bool:
        """Whether ``request`` reached the catch-all route (for middlewares)."""
        return request.match_info.route.name == UNROUTED

    # Scripting

    def fail_next(
        self,
        route: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests matching ``route`` with ``status`` instead."""
        self.answer_next(route, *[Answer(status, body, dict(headers or {}))] * times)

    def answer_next(self, route: str, *answers: Answer) -> None:
        """Answer the next requests matching ``route`` with ``answers``, in order."""
        self.check_route(route)
        self._answers.extend((route, answer) for answer in answers)

    def delay(self, route: str, seconds: float) -> None:
        """Answer every later request matching ``route`` after ``seconds`` (0 removes it)."""
        self.check_route(route)
        if seconds:
            self._delays[route] = seconds
        else:
            self._delays.pop(route, None)

    def take_answer(self, name: str) -> Answer | None:
        """The first scripted answer whose route matches ``name``, now used up."""
        for index, (route, answer) in enumerate(self._answers):
            if fnmatch.fnmatchcase(name, route):
                del self._answers[index]
                return answer
        return None

    async def wait_delay(self, name: str) -> None:
        """Hold the request named ``name`` back by the longest delay matching it."""
        seconds = [s for route, s in self._delays.items() if fnmatch.fnmatchcase(name, route)]
        if seconds:
            await asyncio.sleep(max(seconds))


@asynccontextmanager
async def checked(fake: F) -> AsyncIterator[F]:
    """Serve ``fake``; when the block ends normally, assert it recorded no violation."""
    async with fake:
        yield fake
        fake.assert_no_violations()
