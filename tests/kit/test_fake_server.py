"""The fake-server base itself: lifecycle, catch-all violations, scripted answers, delays."""

from __future__ import annotations

import time
from collections.abc import Iterable

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.server import Answer, FakeServer, checked


class Echo(FakeServer[str]):
    """One route, ``GET /echo/{word}``, scripted by ``"GET /echo/<word>"``."""

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        return [web.get("/echo/{word}", self._echo)]

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        name = f"GET {request.path}"
        self.calls.append(name)
        await self.wait_delay(name)
        scripted = self.take_answer(name)
        if scripted is not None:
            return web.json_response(scripted.body, status=scripted.status)
        return web.json_response({"word": request.match_info["word"]})


async def answers(fake: Echo, *paths: str) -> list[tuple[int, object]]:
    seen: list[tuple[int, object]] = []
    async with aiohttp.ClientSession() as session:
        for path in paths:
            async with session.get(fake.url + path) as response:
                seen.append((response.status, await response.json()))
    return seen


async def test_a_fake_serves_on_a_free_port_until_closed() -> None:
    fake = Echo()
    with pytest.raises(RuntimeError, match="Echo is not serving"):
        fake.url  # noqa: B018
    async with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        assert await answers(fake, "/echo/hi") == [(200, {"word": "hi"})]
    with pytest.raises(aiohttp.ClientConnectionError):
        await answers(fake, "/echo/hi")


async def test_an_unknown_route_is_a_violation_answered_with_the_fakes_error() -> None:
    async with Echo() as fake:
        assert await answers(fake, "/nowhere?x=1") == [(404, {"message": "404 Error"})]
        assert fake.violations == ["GET /nowhere: no such route"]
        with pytest.raises(AssertionError, match="GET /nowhere: no such route"):
            fake.assert_no_violations()


async def test_checked_asserts_no_violation_at_the_end_of_the_block() -> None:
    with pytest.raises(AssertionError, match="contract violations"):
        async with checked(Echo()) as fake:
            await answers(fake, "/nowhere")
    async with checked(Echo()) as fake:
        await answers(fake, "/echo/fine")


async def test_scripted_answers_are_served_once_each_in_order_to_matching_routes() -> None:
    async with Echo() as fake:
        fake.fail_next("GET /echo/a*", 503, times=2, body={"down": True})
        fake.answer_next("GET /echo/*", Answer(429, {"slow": "down"}))
        seen = await answers(fake, "/echo/b", "/echo/ab", "/echo/a", "/echo/a", "/echo/b")

    assert seen == [
        (429, {"slow": "down"}),
        (503, {"down": True}),
        (503, {"down": True}),
        (200, {"word": "a"}),
        (200, {"word": "b"}),
    ]
    fake.assert_no_violations()


async def test_a_delay_holds_matching_requests_back_until_removed() -> None:
    async with Echo() as fake:
        fake.delay("GET /echo/slow", 0.2)
        started = time.monotonic()
        await answers(fake, "/echo/slow")
        slow = time.monotonic() - started
        fake.delay("GET /echo/slow", 0)
        started = time.monotonic()
        await answers(fake, "/echo/slow", "/echo/fast")
        fast = time.monotonic() - started

    assert slow >= 0.2 > fast
