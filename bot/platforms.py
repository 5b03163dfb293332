"""How a platform plugs into the service: routes, a lifecycle, and what it provides.

An ``Integration`` is one platform's package (``connectors/github``, ``connectors/slack``...)
seen from the application. ``bot.app.create_app`` calls ``install(app)`` on each; one adds
its inbound routes and a ``cleanup_ctx`` that starts its clients. Those contexts run after
the database and the HTTP session exist and before the pipeline is built, so each can put
what it provides into the application's ``Registry``:

- a ``Connector`` that sends replies for its platform,
- an ``Authorizer`` that knows its users' levels (forge permissions, say),
- a ``ForgeClient`` that command handlers use to act on its repositories (forges only),
- scheduled jobs, added to the one scheduler.

The pipeline context then reads the registry once. Inbound handlers reach the pipeline at
request time through ``bot.web.PIPELINE``, so nothing is looked up at import time.
Features (``bot.features``) add scheduled jobs of their own to the same registry.

Invariants: one connector and at most one authorizer per platform (a second is a
programming error and raises); anything not registered simply does not exist for the
pipeline, which leaves that platform's replies waiting in the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.forge import ForgeClient, Forges
from bot.messages import Actor, Level, Platform, Target
from bot.permissions import Authorizer, PermissionUnavailable
from bot.pipeline.delivery import Connector


class StartupError(Exception):
    """An integration cannot start as configured; the message says what to change."""


class Integration(Protocol):
    """One platform's front door and sender, as installed into the application."""

    @property
    def name(self) -> str: ...

    def install(self, app: web.Application) -> None:
        """Add routes and ``cleanup_ctx`` entries to ``app``; do no I/O here."""
        ...


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A coroutine the scheduler runs on ``cron`` (crontab syntax), read in ``timezone``
    (an IANA name) when given, else in the scheduler's zone.

    Every replica runs every job, so a job must be idempotent (unique keys in the store).
    """

    name: str
    cron: str
    run: Callable[[], Awaitable[None]]
    run_at_start: bool = False
    timezone: str | None = None


@dataclass
class Registry:
    """What the integrations provide, filled while the application starts."""

    connectors: dict[Platform, Connector] = field(default_factory=dict)
    authorizers: dict[Platform, Authorizer] = field(default_factory=dict)
    jobs: list[ScheduledJob] = field(default_factory=list)
    forges: Forges = field(default_factory=Forges)
    # name -> a check that returns None when the platform's connection is fine, else why not
    readiness: dict[str, Callable[[], Awaitable[str | None]]] = field(default_factory=dict)

    def add_connector(self, connector: Connector) -> None:
        if connector.platform in self.connectors:
            raise ValueError(f"a connector for {connector.platform.value} is already registered")
        self.connectors[connector.platform] = connector

    def add_authorizer(self, platform: Platform, authorizer: Authorizer) -> None:
        if platform in self.authorizers:
            raise ValueError(f"an authorizer for {platform.value} is already registered")
        self.authorizers[platform] = authorizer

    def add_forge(self, client: ForgeClient) -> None:
        self.forges.add(client)

    def add_readiness_check(self, name: str, check: Callable[[], Awaitable[str | None]]) -> None:
        """A platform's own readiness (say, a live gateway session), shown by ``/readyz``."""
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
