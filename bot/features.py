"""What a feature is: one value that, given its dependencies, says what it adds.

A feature (``bot.ci``, ``bot.secrets``, ``bot.channels``, a plugin's package...) exports
one value with a ``name``, the settings ``section`` it owns, and ``setup(host)``. The
composition root (``bot.app``) hands every feature the same typed ``FeatureHost`` and
collects what each returns as ``Provided``: commands, scheduled jobs, HTTP routes, a
start-up step, and where forge CI events go.

Invariants:
- ``setup`` only builds values: no I/O, no awaiting, no global state. So the commands of
  every feature can be listed without a database or a network (the Discord slash
  definitions, ``help``, ``chatops plugins``), and a feature set up twice is harmless.
- A feature's commands receive their dependencies when ``setup`` builds them (stores,
  settings, the run tracker); at run time a handler sees only the core ``Context``.
- The host's queues resolve their database connection when they run; the pipeline
  context opens that database before any handler, job, route or start-up step runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from bot.clock import Clock
from bot.config import Config
from bot.forge import CiEventSink, Forges
from bot.platforms import ScheduledJob
from bot.router import Command
from bot.store.queues import OutboxQueue

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class FeatureHost:
    """What every feature may depend on; nothing else reaches it."""

    config: Config
    clock: Clock
    log: logging.Logger  # the feature's own logger (``chatops.<name>``)
    outbox: OutboxQueue  # messages a feature sends on its own (run results, alerts)
    wake: Callable[[], None]  # tells the sender the outbox has new work
    forges: Forges  # filled as the platforms start, before any command runs


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP endpoint a feature serves (``POST /api/usage``, say)."""

    method: str
    path: str
    handler: RouteHandler


@dataclass(frozen=True, slots=True)
class Provided:
    """What one feature adds to the application."""

    commands: tuple[Command[Any], ...] = ()
    jobs: tuple[ScheduledJob, ...] = ()
    routes: tuple[Route, ...] = ()
    # run once when the application starts, after the database opens, before the workers
    startup: Callable[[], Awaitable[None]] | None = None
    # where the forges' webhooks hand CI run updates (at most one feature provides it)
    ci_events: CiEventSink | None = None


class Feature(Protocol):
    """One feature, as the composition root sees it."""

    @property
    def name(self) -> str:
        """A short lower-case word, unique among the features of a process."""
        ...

    @property
    def section(self) -> str | None:
        """The configuration section it owns (``ci``, ``secrets``), if any."""
        ...

    def setup(self, host: FeatureHost) -> Provided:
        """What it adds, built from ``host``; no I/O (see the module docstring)."""
        ...


@dataclass(frozen=True, slots=True)
class CommandsFeature:
    """A feature made of commands that need nothing but the handler's ``Context``."""

    name: str
    commands: tuple[Command[Any], ...]
    section: str | None = None

    def setup(self, host: FeatureHost) -> Provided:
        return Provided(commands=self.commands)


def commands_feature(name: str, commands: Sequence[Command[Any]]) -> CommandsFeature:
    return CommandsFeature(name=name, commands=tuple(commands))
