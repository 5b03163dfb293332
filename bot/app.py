"""The one composition root: database, platforms, features and pipeline, in one order.

``chatops serve`` (``create_app``), ``chatops shell`` (``open_shell``), the tests and the
benchmarks all build the bot here. The features are values (``bot.features``): the
built-in ones are listed in ``builtin_features``, and ``load_features`` adds the plugins
(``bot.plugins``) when a command asks for them, at start-up, never at import.

``create_app(config)`` does no I/O. It sets every feature up (their commands, jobs,
routes and start-up steps exist from then on), installs the platforms, and adds one
``cleanup_ctx`` per resource, entered at start-up in this order and left in reverse:

1. the database (``bot.store.database``), refusing unapplied migrations;
2. the HTTP client session;
3. the platforms (``bot.platforms``): each is started on its own ``PlatformHost`` and
   what it provides (connector, authorizer, forge client, jobs, readiness check) goes
   into ``REGISTRY``, its routes into the router (which aiohttp freezes only once every
   start-up context has run);
4. the pipeline: the features' jobs join the registry, the feature that follows CI
   becomes ``CI_EVENTS``, each start-up step runs, then the pipeline is built with every
   feature's commands and the platforms' connectors and authorizers, and the platforms'
   ``Intake`` is bound to it;
5. the workers (inbox worker and outbox sender);
6. the scheduler, with the housekeeping jobs and every registered job.

Steps 5 and 6 belong to the ``worker`` and ``all`` roles (``bot.loops``): a ``web``
process stores commands and leaves them to the workers of another.

The features' queues resolve the database connection when they run, so building them
before step 1 is safe; nothing they build runs before step 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.feature import ChannelsFeature
from bot.ci.feature import CiFeature
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import Services
from bot.features import Feature, FeatureHost, Provided
from bot.forge import CiEventSink, Forges
from bot.loops import ROLE, Role, add_loops, as_role, pool_size, readiness
from bot.messages import Platform
from bot.metrics import Metrics
from bot.parts import ScheduledJob
from bot.permissions import ConfigAuthorizer
from bot.pipeline.assembly import Pipeline, build_pipeline
from bot.pipeline.delivery import Connector
from bot.pipeline.intake import PipelineIntake
from bot.platforms import CombinedAuthorizer, Integration, PlatformHost, Registry
from bot.plugins import Plugin, PluginError, load_plugins
from bot.router import Command
from bot.secrets.feature import SecretsFeature
from bot.store.database import Database, dialect_of, open_database
from bot.store.queues import OutboxQueue
from bot.version import version
from bot.web import (
    CI_EVENTS,
    CLOCK,
    CONFIG,
    DATABASE,
    HTTP,
    LOG,
    METRICS,
    PIPELINE,
    READINESS,
    REGISTRY,
    add_endpoints,
    intake_unavailable,
)
from commands import core_feature
from connectors.enabled import enabled_integrations, open_forges


def builtin_features() -> tuple[Feature, ...]:
    """The features every bot has, in the order ``help`` lists their commands."""
    return (core_feature(), CiFeature(), ChannelsFeature(), SecretsFeature())


@dataclass(frozen=True, slots=True)
class Loaded:
    """The features of this process: the built-in ones, then the plugins'."""

    features: tuple[Feature, ...]
    plugins: tuple[Plugin, ...] = ()


def load_features(plugins: Callable[[], list[Plugin]] = load_plugins) -> Loaded:
    """The built-in features and every installed plugin's; ``PluginError`` names a plugin
    that cannot be loaded or whose name is taken."""
    loaded = plugins()
    builtin = builtin_features()
    taken = {feature.name for feature in builtin}
    for plugin in loaded:
        if plugin.feature.name in taken:
            raise PluginError(
                f"plugin {plugin.feature.name!r} ({plugin.entry_point}, from "
                f"{plugin.distribution}): a feature with that name is already loaded"
            )
        taken.add(plugin.feature.name)
    return Loaded(features=(*builtin, *(p.feature for p in loaded)), plugins=tuple(loaded))


@dataclass(frozen=True, slots=True)
class Features:
    """What the features of one process provide, each feature with its part."""

    parts: tuple[tuple[Feature, Provided], ...]

    @property
    def commands(self) -> list[Command[Any]]:
        return [command for _feature, provided in self.parts for command in provided.commands]

    @property
    def jobs(self) -> list[ScheduledJob]:
        return [job for _feature, provided in self.parts for job in provided.jobs]

    @property
    def ci_events(self) -> CiEventSink | None:
        sinks = [provided.ci_events for _f, provided in self.parts if provided.ci_events]
        return sinks[0] if sinks else None


FEATURES = web.AppKey("features", Features)
INTAKE = web.AppKey("intake", PipelineIntake)


def set_up(
    features: Iterable[Feature],
    config: Config,
    *,
    clock: Clock,
    log: logging.Logger,
    outbox: OutboxQueue,
    wake: Callable[[], None],
    forges: Forges,
) -> Features:
    """Every feature set up on its own host (its own logger); no I/O. A command name (or
    alias) declared by two features, or two features that follow CI, raise
    ``PluginError`` naming both features."""
    parts = []
    owners: dict[str, str] = {}
    sink_owner: str | None = None
    for feature in features:
        host = FeatureHost(
            config=config,
            clock=clock,
            log=log.getChild(feature.name),
            outbox=outbox,
            wake=wake,
            forges=forges,
        )
        provided = feature.setup(host)
        for command in provided.commands:
            for name in (command.name, *command.aliases):
                if name in owners:
                    raise PluginError(
                        f"feature {feature.name!r} declares the command {name!r}, "
                        f"which feature {owners[name]!r} already declares"
                    )
                owners[name] = feature.name
        if provided.ci_events is not None:
            if sink_owner is not None:
                raise PluginError(
                    f"features {sink_owner!r} and {feature.name!r} both follow CI events"
                )
            sink_owner = feature.name
        parts.append((feature, provided))
    return Features(parts=tuple(parts))


def listed(features: Iterable[Feature], config: Config | None = None) -> Features:
    """The features set up only to be listed (commands, jobs, routes); nothing they built
    may run: their database is not opened."""
    config = config or Config()
    return set_up(
        features,
        config,
        clock=SystemClock(),
        log=logging.getLogger("chatops"),
        outbox=OutboxQueue(_unopened(config)),
        wake=lambda: None,
        forges=Forges(),
    )


def builtin_commands(config: Config | None = None) -> list[Command[Any]]:
    """Every command of the built-in features (help listings, slash definitions, tests
    that route commands without running CI)."""
    return listed(builtin_features(), config).commands


def _unopened(config: Config) -> Database:
    """The configured database, not yet opened: what a queue holds until it runs."""
    url = config.database.resolved_url()
    return Database(url=url, dialect=dialect_of(url))


def create_app(
    config: Config,
    *,
    features: Sequence[Feature] | None = None,
    integrations: Sequence[Integration] = (),
    configured_platforms: bool = False,
    connectors: Mapping[Platform, Connector] | None = None,
    clock: Clock | None = None,
    log: logging.Logger | None = None,
    client_max_size: int = 1024**2,
    role: Role | None = None,
) -> web.Application:
    """The application (module docstring). ``features`` defaults to the built-in ones;
    with ``configured_platforms`` every platform the configuration enables is installed
    after ``integrations``; ``connectors`` are extra senders registered as they are
    (tests). ``client_max_size`` caps request bodies; a platform whose requests are
    larger checks its own cap on its route. ``role`` (default ``server.role``) says which
    loops run (``bot.loops``)."""
    app = web.Application(client_max_size=client_max_size, middlewares=[intake_unavailable])
    app[CONFIG] = config
    app[ROLE] = role or as_role(config.server.role)
    app[CLOCK] = clock = clock or SystemClock()
    app[LOG] = log = log or logging.getLogger("chatops")
    app[METRICS] = Metrics()
    registry = Registry()
    for connector in (connectors or {}).values():
        registry.add_connector(connector)
    app[REGISTRY] = registry
    app[INTAKE] = PipelineIntake()
    provided = set_up(
        builtin_features() if features is None else features,
        config,
        clock=clock,
        log=log,
        outbox=OutboxQueue(_unopened(config)),
        # the pipeline is built at start-up; what the features queue wakes its sender
        wake=lambda: app[PIPELINE].outbox_wake.set(),
        forges=registry.forges,
    )
    app[FEATURES] = provided
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_http_ctx)
    platforms = list(integrations)
    if configured_platforms:
        platforms.extend(enabled_integrations(config, provided.commands))
    app.cleanup_ctx.append(_platforms_ctx(platforms))
    app.cleanup_ctx.append(_pipeline_ctx)
    add_loops(app, app[ROLE])
    add_endpoints(app)
    for _feature, part in provided.parts:
        for route in part.routes:
            app.router.add_route(route.method, route.path, route.handler)
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    database = await open_database(
        config.database.resolved_url(),
        require_migrated=True,
        pool_size=pool_size(config, app[ROLE]),
    )
    app[DATABASE] = database
    yield
    await database.close()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


def _platforms_ctx(
    platforms: Sequence[Integration],
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def started(app: web.Application) -> AsyncIterator[None]:
        registry, features = app[REGISTRY], app[FEATURES]
        async with AsyncExitStack() as stack:
            for integration in platforms:
                host = PlatformHost(
                    config=app[CONFIG],
                    clock=app[CLOCK],
                    log=app[LOG].getChild(integration.platform.value),
                    http=app[HTTP],
                    database=app[DATABASE],
                    intake=app[INTAKE],
                    ci_events=features.ci_events,
                    rejections=app[METRICS].rejections,
                )
                parts = await stack.enter_async_context(integration.start(host))
                registry.add(integration.platform, parts)
                for route in parts.routes:
                    app.router.add_route(route.method, route.path, route.handler)
            yield

    return started


async def _pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    config, clock, registry, features = app[CONFIG], app[CLOCK], app[REGISTRY], app[FEATURES]
    sink = features.ci_events
    if sink is not None:
        app[CI_EVENTS] = sink
    for job in features.jobs:
        registry.add_job(job)
    for _feature, part in features.parts:
        if part.startup is not None:
            await part.startup()
    services = Services(
        clock=clock, started_at=clock.now(), version=version(), forges=registry.forges
    )
    app[PIPELINE] = build_pipeline(
        config,
        app[DATABASE],
        commands=features.commands,
        connectors=registry.connectors,
        services=services,
        log=app[LOG],
        metrics=app[METRICS],
        authorizer=CombinedAuthorizer(ConfigAuthorizer(config.permissions), registry.authorizers),
    )
    app[READINESS] = readiness(app[DATABASE], app[PIPELINE], config, registry, app[ROLE])
    app[INTAKE].bind(app[PIPELINE])
    yield


@contextlib.asynccontextmanager
async def open_shell(
    config: Config,
    database: Database,
    connector: Connector,
    *,
    features: Sequence[Feature] | None = None,
    clock: Clock | None = None,
    log: logging.Logger | None = None,
) -> AsyncIterator[Pipeline]:
    """The pipeline of a ``chatops shell`` session on an open ``database``: the features'
    commands, over the forge clients the configuration enables (open until exit), sending
    through ``connector``. A local session is no server: the features' jobs, routes and
    start-up steps are left out."""
    clock = clock or SystemClock()
    log = log or logging.getLogger("chatops")
    async with open_forges(config, clock, log) as forges:
        wake = _Wake()
        provided = set_up(
            builtin_features() if features is None else features,
            config,
            clock=clock,
            log=log,
            outbox=OutboxQueue(database),
            wake=wake,
            forges=forges,
        )
        pipeline = build_pipeline(
            config,
            database,
            commands=provided.commands,
            connectors={connector.platform: connector},
            services=Services(
                clock=clock, started_at=clock.now(), version=version(), forges=forges
            ),
            log=log,
        )
        wake.bind(pipeline.outbox_wake)
        yield pipeline


class _Wake:
    """Wakes the sender of a pipeline that is built after the features holding this."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def bind(self, event: asyncio.Event) -> None:
        self._event = event

    def __call__(self) -> None:
        if self._event is not None:
            self._event.set()
