"""The intake: how a platform's front door hands the pipeline what arrived.

A platform starts before the pipeline exists (its connector and authorizer are part of
the pipeline), so it is given an ``Intake``, not the pipeline. ``PipelineIntake`` is the
one implementation: the composition root binds it to the pipeline once that is built.

- ``submit`` and ``submit_event`` persist commands (``Pipeline.submit_event``);
- ``notify`` queues a message the front door answers with on its own (a usage error, a
  "this takes a moment"), idempotent by its key, and wakes the sender;
- ``opened`` waits until the pipeline exists: a platform whose events arrive over a socket
  it opens (Slack's Socket Mode, Discord's gateway) connects only after it, so the first
  event already has somewhere to go.

Invariants: before ``bind`` every write raises ``IntakeUnavailable`` (an HTTP front door
answers 503 and the platform resends); after it the intake stays bound for the life of
the application, so an event that arrives while the workers stop is still stored, and
runs at the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from bot.messages import Invocation, Outgoing
from bot.pipeline.assembly import IntakeUnavailable, Pipeline


class Intake(Protocol):
    """What a front door may do with the pipeline."""

    async def submit(self, invocation: Invocation, *, acknowledge: bool = False) -> bool:
        """Persist one command; False if its delivery key was seen before."""
        ...

    async def submit_event(
        self,
        invocations: Sequence[Invocation],
        *,
        acknowledge: bool,
        notices: Sequence[Outgoing],
    ) -> tuple[int, int]:
        """Persist one event's commands and notices: (commands accepted, notices queued)."""
        ...

    async def notify(self, notice: Outgoing) -> bool:
        """Queue one message for the sender; False if its key was queued before."""
        ...

    async def opened(self) -> None:
        """Return once commands can be stored."""
        ...


class PipelineIntake:
    """The ``Intake`` of one application, bound to its pipeline when that is built."""

    def __init__(self) -> None:
        self._pipeline: Pipeline | None = None
        self._bound = asyncio.Event()

    def bind(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._bound.set()

    async def opened(self) -> None:
        await self._bound.wait()

    async def submit(self, invocation: Invocation, *, acknowledge: bool = False) -> bool:
        return await self._current().submit(invocation, acknowledge=acknowledge)

    async def submit_event(
        self,
        invocations: Sequence[Invocation],
        *,
        acknowledge: bool,
        notices: Sequence[Outgoing],
    ) -> tuple[int, int]:
        return await self._current().submit_event(
            invocations, acknowledge=acknowledge, notices=notices
        )

    async def notify(self, notice: Outgoing) -> bool:
        pipeline = self._current()
        queued = await pipeline.outbox.enqueue(notice, pipeline.clock.now())
        if queued:
            pipeline.outbox_wake.set()
        return queued

    def _current(self) -> Pipeline:
        if self._pipeline is None:
            raise IntakeUnavailable("the bot is still starting")
        return self._pipeline
