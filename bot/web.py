"""The HTTP edge of the application: its typed state, operator endpoints, serving.

The application itself is built by ``bot.app`` (the composition root), which stores its
resources under the ``AppKey``s below. Platforms never read them: they get what they need
from their ``bot.platforms.PlatformHost``.
``version`` (from ``bot.version``) is also importable from here, as the home page uses it.

Endpoints:
- ``GET /healthz``: 200 while the process serves requests.
- ``GET /readyz``: 200 when the database answers within ``database.ping_timeout``
  and has no unapplied migrations, neither worker loop is stalled while it has work
  (in the roles that run them, ``bot.loops``), and every platform connection is
  up; else 503 with the reasons (``bot.readiness``). It answers within a second
  whatever the database does.
- ``GET /metrics``: Prometheus text (see ``bot.metrics``).
Features add their own routes (``POST /api/usage``: ``bot.secrets.feature``).

Shutdown (SIGTERM through aiohttp's runner): the workers stop claiming, the
batch in flight gets ``server.shutdown_timeout`` seconds to finish, and
anything still running is cancelled; its lease expires and another process
(or the next start) picks it up.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.clock import Clock
from bot.config import Config, ServerSettings
from bot.forge import CiEventSink
from bot.home import documentation_url, home_handler
from bot.metrics import Metrics
from bot.pipeline.assembly import IntakeUnavailable, Pipeline
from bot.platforms import Registry
from bot.readiness import Readiness
from bot.store.database import Database
from bot.version import version as version  # also read from here by the tests

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
LOG = web.AppKey("log", logging.Logger)
METRICS = web.AppKey("metrics", Metrics)
DATABASE = web.AppKey("database", Database)
HTTP = web.AppKey("http", aiohttp.ClientSession)
PIPELINE = web.AppKey("pipeline", Pipeline)
READINESS = web.AppKey("readiness", Readiness)
REGISTRY = web.AppKey("registry", Registry)
# where forge webhooks hand CI run updates: the feature that follows CI (``bot.ci.feature``)
CI_EVENTS = web.AppKey("ci_events", CiEventSink)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def add_endpoints(app: web.Application) -> None:
    """The operator endpoints: home page, liveness, readiness and metrics."""
    app.router.add_get("/", home_handler(version(), documentation_url()))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def serve(app: web.Application, *, host: str, port: int, log: logging.Logger) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully.

    Port 0 binds a free port; the address actually bound is logged, so tests and
    operators can find it. Slow clients are dropped: see ``server_options``.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, handle_signals=False, **server_options(app[CONFIG].server))
    try:
        await runner.setup()
    except BaseException:
        await app.cleanup()  # close what the contexts that did start opened
        raise
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for address in runner.addresses:
            log.info("listening on http://%s:%d", address[0], address[1])
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")


def server_options(settings: ServerSettings) -> dict[str, Any]:
    """The ``AppRunner`` options of ``serve``.

    aiohttp has no separate header-read timeout, but its keep-alive timer starts when a
    connection opens and closes it if no complete request has arrived by then; so
    ``keepalive_timeout`` = ``header_timeout`` drops a client that trickles its headers
    (and an idle keep-alive connection). Bodies are timed by the front doors themselves
    (``server.body_timeout``, ``connectors.webhook_body``).
    """
    return {
        "shutdown_timeout": settings.shutdown_timeout,
        "keepalive_timeout": settings.header_timeout,
    }


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    problems = await request.app[READINESS].problems()
    if problems:
        request.app[LOG].warning("not ready: %s", "; ".join(problems))
        body = {"status": "unavailable", "reason": problems[0], "problems": problems}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ready"})


@web.middleware
async def intake_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A front door that could not store a command answers 503, so the platform resends it."""
    try:
        return await handler(request)
    except IntakeUnavailable as exc:
        return web.json_response(
            {"error": "not stored; try again", "reason": str(exc)},
            status=503,
            headers={"Retry-After": "1"},
        )


async def metrics(request: web.Request) -> web.Response:
    depths = await request.app[PIPELINE].queue_depths()
    body = request.app[METRICS].render(depths)
    return web.Response(body=body.encode(), headers={"Content-Type": PROMETHEUS_TEXT})
