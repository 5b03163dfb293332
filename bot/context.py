"""The one typed context a command handler receives.

A handler sees who asked (``actor``, ``level``), what about (``target``), where
the answer goes (``reply_to``, via the invocation), the commands this user may
run (``catalog``) and shared services (``clock``, process start time, version).
It never sees a platform client: handlers return ``Reply`` data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.messages import Actor, Invocation, Level, Target

if TYPE_CHECKING:
    from bot.router import Command


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide dependencies shared by every handler."""

    clock: Clock
    started_at: datetime
    version: str


@dataclass(frozen=True, slots=True)
class Context:
    invocation: Invocation
    level: Level
    target: Target | None
    services: Services
    catalog: Catalog

    @property
    def actor(self) -> Actor:
        return self.invocation.actor

    @property
    def clock(self) -> Clock:
        return self.services.clock


class Catalog:
    """The commands a given user may run, for ``help``; backed by the router."""

    def __init__(self, commands: Sequence[Command[object]], level: Level) -> None:
        self._commands = commands
        self._level = level

    def allowed(self) -> list[Command[object]]:
        return [command for command in self._commands if command.level <= self._level]

    def find(self, name: str) -> Command[object] | None:
        wanted = name.strip().lower()
        for command in self._commands:
            if wanted == command.name or wanted in command.aliases:
                return command
        return None
