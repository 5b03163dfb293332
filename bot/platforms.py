"""The platform contract: what a platform is given, and what it gives back.

A platform package (``connectors/github``, ``connectors/slack``...) exports one value, an
``Integration``, built from its settings without I/O. At start-up the composition root
(``bot.app``) enters ``integration.start(host)``, an async context manager, with a typed
``PlatformHost``: the clock, the platform's own logger, the application's HTTP session and
database, its configuration, the ``Intake`` that stores what arrives, the sink for forge CI
events, and the counter of rejected requests. The platform yields ``PlatformParts``, what
it provides:

- a ``Connector`` that sends replies for it,
- an ``Authorizer`` that knows its users' levels (forge permissions, say),
- a ``ForgeClient`` that command handlers act on repositories through (forges only),
- scheduled jobs, and HTTP routes (its webhook or events endpoint),
- a readiness check, for a platform that holds a connection (``/readyz`` names it).

Leaving the context closes what the platform opened. Anything the platform starts that
feeds the pipeline on its own (a socket to Slack or Discord) waits for
``host.intake.opened()`` first: platforms start before the pipeline, which is built from
their connectors and authorizers.

Invariants: a platform never sees the application, the pipeline or another platform;
one connector and at most one authorizer per platform (``Registry`` raises on a second);
anything not registered does not exist for the pipeline, which leaves that platform's
replies waiting in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from bot.clock import Clock
from bot.config import Config
from bot.forge import CiEventSink, ForgeClient, Forges
from bot.messages import Actor, Level, Platform, Target
from bot.metrics import Counter
from bot.parts import Route, ScheduledJob
from bot.permissions import Authorizer, PermissionUnavailable
from bot.pipeline.delivery import Connector
from bot.pipeline.intake import Intake
from bot.store.database import Database

# None while the platform's connection is fine, else why not (shown by ``/readyz``)
ReadinessCheck = Callable[[], Awaitable[str | None]]


class StartupError(Exception):
    """A platform cannot start as configured; the message says what to change."""


@dataclass(frozen=True, slots=True)
class PlatformHost:
    """Everything a platform may depend on; nothing else reaches it."""

    config: Config  # its own section, and the shared [bot], [server] and [workers] limits
    clock: Clock
    log: logging.Logger  # the platform's own logger (``chatops.<name>``)
    http: aiohttp.ClientSession  # the application's session, open while the platform runs
    database: Database  # open; for the stores a platform keeps (rate gates, leases)
    intake: Intake  # where commands and front-door notices go
    ci_events: CiEventSink | None  # where forge CI run updates go, when a feature follows CI
    rejections: Counter  # requests refused at the front door, by door and reason


@dataclass(frozen=True, slots=True)
class PlatformParts:
    """What one started platform provides."""

    connector: Connector | None = None
    authorizer: Authorizer | None = None
    forge: ForgeClient | None = None
    jobs: tuple[ScheduledJob, ...] = ()
    routes: tuple[Route, ...] = ()
    readiness: ReadinessCheck | None = None


class Integration(Protocol):
    """One platform, as the composition root sees it."""

    @property
    def platform(self) -> Platform:
        """Which platform this is; its value (``github``) names its logger and readiness."""
        ...

    def start(self, host: PlatformHost) -> AbstractAsyncContextManager[PlatformParts]:
        """Open the platform's clients and yield what it provides; close them on exit."""
        ...


@dataclass
class Registry:
    """What the started platforms provide, collected by the composition root."""

    connectors: dict[Platform, Connector] = field(default_factory=dict)
    authorizers: dict[Platform, Authorizer] = field(default_factory=dict)
    jobs: list[ScheduledJob] = field(default_factory=list)
    forges: Forges = field(default_factory=Forges)
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)

    def add(self, platform: Platform, parts: PlatformParts) -> None:
        """Everything one started platform provides, except its routes."""
        if parts.connector is not None:
            self.add_connector(parts.connector)
        if parts.authorizer is not None:
            self.add_authorizer(platform, parts.authorizer)
        if parts.forge is not None:
            self.forges.add(parts.forge)
        for job in parts.jobs:
            self.add_job(job)
        if parts.readiness is not None:
            self.add_readiness_check(platform.value, parts.readiness)

    def add_connector(self, connector: Connector) -> None:
        if connector.platform in self.connectors:
            raise ValueError(f"a connector for {connector.platform.value} is already registered")
        self.connectors[connector.platform] = connector

    def add_authorizer(self, platform: Platform, authorizer: Authorizer) -> None:
        if platform in self.authorizers:
            raise ValueError(f"an authorizer for {platform.value} is already registered")
        self.authorizers[platform] = authorizer

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        if name in self.readiness:
            raise ValueError(f"a readiness check named {name!r} is already registered")
        self.readiness[name] = check

    def add_job(self, job: ScheduledJob) -> None:
        if any(existing.name == job.name for existing in self.jobs):
            raise ValueError(f"a scheduled job named {job.name!r} is already registered")
        self.jobs.append(job)


class CombinedAuthorizer:
    """The configured grants, raised by the actor's own platform authorizer, if any.

    A user's level is the higher of what the config grants and what their platform says
    (a forge's repository permission). A platform authorizer that fails counts as granting
    nothing beyond the config, so failures close rather than open; one that could not
    check (``PermissionUnavailable``) is passed on with what the config grants, so the
    router can say so instead of denying.
    """

    def __init__(self, config: Authorizer, by_platform: Mapping[Platform, Authorizer]) -> None:
        self._config = config
        self._by_platform = dict(by_platform)

    async def level_for(self, actor: Actor, target: Target | None) -> Level:
        granted = await self._config.level_for(actor, target)
        platform = self._by_platform.get(actor.platform)
        if platform is None:
            return granted
        try:
            return max(granted, await platform.level_for(actor, target))
        except PermissionUnavailable as exc:
            raise exc.with_granted(granted) from exc
        except Exception:
            return granted
