"""The aiohttp application: lifecycle of every resource, and the operator endpoints.

``create_app(config)`` builds the application and does nothing else; all work
happens in ``cleanup_ctx`` contexts, entered at start-up in this order and left
in reverse: database, HTTP client session, pipeline, workers, scheduler.
Each ``Integration`` (a platform package) installs its routes and its own
context between the HTTP session and the pipeline; its context registers what it
provides (connector, authorizer, jobs) in ``REGISTRY``, which the pipeline and the
scheduler read once when they start (see ``bot.platforms``). The pipeline context
also builds the run tracker (``bot.ci.tracker``): the forge webhooks reach it as
``CI_EVENTS``, the handlers as ``Services.runs``, and when a forge is configured its
stuck-run job (``ci-reconcile``) joins the scheduler. It also records
``[[secrets.tracked]]`` in the expiry registry and adds the expiry-alert job
(``secret-expiry-alerts``, run at start-up too; see ``bot.secrets.alerts``).

Endpoints:
- ``GET /healthz``: 200 while the process serves requests.
- ``GET /readyz``: 200 when the database answers within ``database.ping_timeout``
  and has no unapplied migrations, neither worker loop is stalled while it has work,
  and every platform connection is up; else 503 with the reasons (``bot.readiness``).
  It answers within a second whatever the database does.
- ``GET /metrics``: Prometheus text (see ``bot.metrics``).
- ``POST /api/usage``: CI reports the secrets a pipeline used (see ``bot.secrets.usage_api``).

Shutdown (SIGTERM through aiohttp's runner): the workers stop claiming, the
batch in flight gets ``server.shutdown_timeout`` seconds to finish, and
anything still running is cancelled; its lease expires and another process
(or the next start) picks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from importlib import metadata
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.ci.tracker import RunTracker
from bot.clock import Clock, SystemClock
from bot.config import Config, ServerSettings
from bot.context import Services
from bot.forge import CiEventSink
from bot.home import documentation_url, home_handler
from bot.messages import Platform
from bot.metrics import Metrics
from bot.permissions import ConfigAuthorizer
from bot.pipeline.assembly import IntakeUnavailable, Pipeline, build_pipeline, run_workers
from bot.pipeline.delivery import Connector
from bot.platforms import CombinedAuthorizer, Integration, Registry, ScheduledJob
from bot.readiness import Loop, Readiness
from bot.router import Command
from bot.scheduler import HousekeepingDeps, build_scheduler
from bot.secrets.alerts import expiry_alert_schedule
from bot.secrets.store import SecretRegistry
from bot.secrets.tracked_config import sync_tracked_config
from bot.secrets.usage_api import PATH as USAGE_PATH
from bot.secrets.usage_api import build_usage_api
from bot.store.database import Database, open_database
from bot.store.queues import OutboxQueue

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
LOG = web.AppKey("log", logging.Logger)
METRICS = web.AppKey("metrics", Metrics)
DATABASE = web.AppKey("database", Database)
HTTP = web.AppKey("http", aiohttp.ClientSession)
PIPELINE = web.AppKey("pipeline", Pipeline)
READINESS = web.AppKey("readiness", Readiness)
REGISTRY = web.AppKey("registry", Registry)
# where forge webhooks hand CI run updates; set by the pipeline context (the run tracker)
CI_EVENTS = web.AppKey("ci_events", CiEventSink)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def version() -> str:
    try:
        return metadata.version("chatops-bridge")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(
    config: Config,
    *,
    commands: list[Command[Any]],
    integrations: Sequence[Integration] = (),
    connectors: Mapping[Platform, Connector] | None = None,
    clock: Clock | None = None,
    log: logging.Logger | None = None,
    client_max_size: int = 1024**2,
) -> web.Application:
    """The application; ``connectors`` are extra senders registered as they are (tests, shell).

    ``client_max_size`` caps request bodies; an integration whose platform sends larger
    bodies checks its own cap on its route.
    """
    app = web.Application(client_max_size=client_max_size, middlewares=[intake_unavailable])
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app[LOG] = log or logging.getLogger("chatops")
    app[METRICS] = Metrics()
    registry = Registry()
    for connector in (connectors or {}).values():
        registry.add_connector(connector)
    app[REGISTRY] = registry
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_http_ctx)
    for integration in integrations:
        integration.install(app)
    app.cleanup_ctx.append(_pipeline_ctx(commands))
    app.cleanup_ctx.append(_workers_ctx)
    app.cleanup_ctx.append(_scheduler_ctx)
    app.router.add_get("/", home_handler(version(), documentation_url()))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    usage = build_usage_api(config.secrets.usage_tokens, app[CLOCK], app[LOG].getChild("usage"))
    app.router.add_post(USAGE_PATH, usage.handle)
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = await open_database(app[CONFIG].database.resolved_url(), require_migrated=True)
    app[DATABASE] = database
    yield
    await database.close()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


def _pipeline_ctx(commands: list[Command[Any]]) -> Any:
    async def context(app: web.Application) -> AsyncIterator[None]:
        clock = app[CLOCK]
        config = app[CONFIG]
        registry = app[REGISTRY]
        log = app[LOG]
        tracker = RunTracker(
            forges=registry.forges,
            settings=config.ci,
            clock=clock,
            outbox=OutboxQueue(app[DATABASE]),
            log=log.getChild("ci"),
            # the pipeline is built below; messages the tracker enqueues wake its sender
            wake=lambda: app[PIPELINE].outbox_wake.set(),
        )
        services = Services(
            clock=clock,
            started_at=clock.now(),
            version=version(),
            forges=registry.forges,
            runs=tracker,
            ci=config.ci,
            secrets=config.secrets,
        )
        app[CI_EVENTS] = tracker
        if registry.forges:
            registry.add_job(
                ScheduledJob("ci-reconcile", config.ci.reconcile_cron, _reconcile_job(tracker, log))
            )
        secrets_log = log.getChild("secrets")
        await sync_tracked_config(SecretRegistry(), config.secrets, clock.now(), secrets_log)
        registry.add_job(
            expiry_alert_schedule(
                config.secrets, clock, secrets_log, lambda: app[PIPELINE].outbox_wake.set()
            )
        )
        app[PIPELINE] = build_pipeline(
            config,
            app[DATABASE],
            commands=commands,
            connectors=registry.connectors,
            services=services,
            log=app[LOG],
            metrics=app[METRICS],
            authorizer=CombinedAuthorizer(
                ConfigAuthorizer(config.permissions), registry.authorizers
            ),
        )
        app[READINESS] = _readiness(app[DATABASE], app[PIPELINE], config, registry)
        yield

    return context


def _readiness(
    database: Database, pipeline: Pipeline, config: Config, registry: Registry
) -> Readiness:
    clock, sender = pipeline.clock, pipeline.sender
    loops = []
    if pipeline.inbox_heartbeat is not None:
        loops.append(
            Loop("inbox worker", pipeline.inbox_heartbeat, lambda: pipeline.inbox.due(clock.now()))
        )
    if pipeline.outbox_heartbeat is not None:
        loops.append(
            Loop(
                "outbox sender",
                pipeline.outbox_heartbeat,
                lambda: pipeline.outbox.due(clock.now(), sender.platforms),
            )
        )
    return Readiness(
        database=database,
        ping_timeout=config.database.ping_timeout,
        stalled_after=config.workers.stalled_after,
        loops=tuple(loops),
        platforms=registry.readiness,
    )


def _reconcile_job(tracker: RunTracker, log: logging.Logger) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            await tracker.reconcile()
        except Exception:
            log.exception("CI reconciliation failed; it runs again on schedule")

    return job


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(app[PIPELINE], stop, config.workers.poll_interval))
    yield
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=config.server.shutdown_timeout)
    except TimeoutError:
        app[LOG].warning("workers did not finish in time; their leases will expire")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pipeline = app[PIPELINE]
    deps = HousekeepingDeps(
        inbox=pipeline.inbox,
        outbox=pipeline.outbox,
        retention=timedelta(days=config.scheduler.retention_days),
        log=app[LOG].getChild("scheduler"),
        database=app[DATABASE],
        audit_retention=timedelta(days=config.scheduler.audit_retention_days),
    )
    scheduler = build_scheduler(config.scheduler, deps, app[CLOCK], app[REGISTRY].jobs)
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)


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
