"""The one typed context a command handler receives.

A handler sees who asked (``actor``, ``level``), what about (``target``), where
the answer goes (``reply_to``, via the invocation), the commands this user may
run (``catalog``) and the core services (``clock``, process start time, version, the
forge clients). It never sees a chat platform's client: handlers return ``Reply`` data.
What a feature's handlers need beyond that (its stores, settings, the run tracker) they
receive when the feature builds them (``bot.features``), not through the context.

A handler that must also say something elsewhere (the sticky summary on a pull
request, say) calls ``also_send``; those messages are queued in the same
transaction as its reply, and only if it succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.forge import Forges
from bot.messages import Actor, Invocation, Level, Outgoing, Reply, ReplyTarget, Target
from bot.pipeline.keys import followup_key

if TYPE_CHECKING:
    from bot.router import Command


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide dependencies shared by every handler: the core's, no feature's."""

    clock: Clock
    started_at: datetime
    version: str
    forges: Forges = field(default_factory=Forges)


@dataclass(frozen=True, slots=True)
class Context:
    invocation: Invocation
    level: Level
    target: Target | None
    services: Services
    catalog: Catalog
    followups: list[Outgoing] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        return self.invocation.actor

    def also_send(self, target: ReplyTarget, reply: Reply, name: str) -> None:
        """Queue ``reply`` to ``target`` with this command's answer; ``name`` is unique per
        message within one command (it makes the outbox key, so a retry sends nothing new)."""
        key = followup_key(name, self.invocation.id)
        if any(message.key == key for message in self.followups):
            raise ValueError(f"a follow-up named {name!r} was already queued")
        self.followups.append(
            Outgoing(target=target, reply=reply, key=key, invocation_id=self.invocation.id)
        )

    @property
    def clock(self) -> Clock:
        return self.services.clock


def family_of(commands: Sequence[Command[Any]], word: str) -> list[Command[Any]]:
    """The commands of several words that start with ``word`` (``secrets audit`` ...), by
    name; empty when ``word`` is not a family."""
    wanted = word.strip().lower()
    members = [c for c in commands if len(c.words) > 1 and c.words[0] == wanted]
    return sorted(members, key=lambda c: c.name)


class Catalog:
    """The commands a given user may run, for ``help``; backed by the router."""

    def __init__(self, commands: Sequence[Command[object]], level: Level) -> None:
        self._commands = commands
        self._level = level

    def allowed(self) -> list[Command[object]]:
        return [command for command in self._commands if command.level <= self._level]

    def family(self, word: str) -> list[Command[object]]:
        """The commands of the family ``word`` names (``secrets`` ...) this user may run."""
        return [
            command for command in family_of(self._commands, word) if command.level <= self._level
        ]

    def is_family(self, word: str) -> bool:
        return bool(family_of(self._commands, word))

    def find(self, name: str) -> Command[object] | None:
        wanted = name.strip().lower()
        for command in self._commands:
            if wanted == command.name or wanted in command.aliases:
                return command
        return None
