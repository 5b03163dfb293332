"""What a feature is: one value that, given its dependencies, says what it adds.

A feature (``bot.ci``, ``bot.secrets``, ``bot.channels``, a plugin's package...) exports
one value with a ``name``, the settings ``section`` it owns, and ``setup(host)``. The
composition root (``bot.app``) hands every feature the same typed ``FeatureHost`` and
collects what each returns as ``Provided``: commands, scheduled jobs, HTTP routes, a
start-up step, and where forge CI events go.

Settings: a built-in feature reads its typed section of ``Config`` (``host.config.ci``).
A plugin's feature also declares ``schema``, the settings dataclass of its section (a
frozen dataclass deriving from ``bot.config.Section``, its fields checked by the same
rules as the built-in sections'); the CLI gives the loaded plugins' schemas to the
configuration loader, which validates ``[section]`` like any other, and ``setup`` reads
the result with ``host.settings_for(self)`` (``Configured``).

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
from typing import Any, Protocol, TypeVar

from bot.clock import Clock
from bot.config import Config
from bot.config.loader import section_defaults
from bot.config.section import Section
from bot.forge import CiEventSink, Forges
from bot.parts import Route, ScheduledJob
from bot.router import Command
from bot.store.queues import OutboxQueue


@dataclass(frozen=True, slots=True)
class FeatureHost:
    """What every feature may depend on; nothing else reaches it."""

    config: Config
    clock: Clock
    log: logging.Logger  # the feature's own logger (``chatops.<name>``)
    outbox: OutboxQueue  # messages a feature sends on its own (run results, alerts)
    wake: Callable[[], None]  # tells the sender the outbox has new work
    forges: Forges  # filled as the platforms start, before any command runs

    def settings_for(self, feature: Configured[S]) -> S:
        """``feature``'s settings: its ``[section]`` as the configuration loader read it by
        its ``schema``, or the schema's defaults when the configuration was built without
        it (by hand, in tests); a schema with required keys then raises ``ConfigError``."""
        section, schema = feature.section, feature.schema
        if not section:
            raise TypeError(
                f"{schema.__name__} is a settings schema, but its feature has no section"
            )
        found = self.config.plugin_section(section)
        if found is None:
            return section_defaults(schema, section)
        if not isinstance(found, schema):
            raise TypeError(
                f"[{section}] was loaded as {type(found).__name__}, not {schema.__name__}"
            )
        return found


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
    """One feature, as the composition root sees it (one with settings of its own also
    has a ``schema``: see ``Configured``)."""

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


S = TypeVar("S", bound=Section)
S_co = TypeVar("S_co", bound=Section, covariant=True)


class Configured(Protocol[S_co]):
    """A feature with settings of its own: ``schema`` is the dataclass its ``[section]``
    is read into, e.g. ``schema: type[GreetingsSettings] = GreetingsSettings``."""

    @property
    def section(self) -> str | None: ...

    @property
    def schema(self) -> type[S_co]: ...


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
