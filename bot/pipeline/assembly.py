"""Assemble the pipeline from configuration: queues, router, workers.

``build_pipeline`` wires the parts once, for the web application and for the
shell alike, so both run the same code path. ``Pipeline.submit`` is the only
way a connector hands in work: it persists the invocation (deduplicated by its
delivery key) and wakes the local worker.

``run_workers`` drives the inbox worker and the outbox sender until asked to
stop; in-flight batches finish, nothing new is claimed. Each loop beats its
heartbeat (``inbox_heartbeat``, ``outbox_heartbeat``) as it works, for readiness.

Invariants:
- ``submit`` stores an invocation (and its acknowledgement) within
  ``intake_deadline`` seconds or raises ``IntakeUnavailable``; the front door then
  answers 503 and the platform redelivers. It is all or nothing: a submit cut off by
  the deadline either committed (and the redelivery is a duplicate) or left no row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.channels.store import ChannelDefaults
from bot.clock import Clock
from bot.config import Config
from bot.context import Services
from bot.messages import Invocation, Outgoing, OutgoingKind, Platform, Reply
from bot.metrics import Metrics
from bot.permissions import Authorizer, ConfigAuthorizer
from bot.pipeline.delivery import Connector
from bot.pipeline.keys import acknowledgement_key
from bot.pipeline.loop import Heartbeat, keep_busy
from bot.pipeline.retry import Backoff, RetryPolicy
from bot.pipeline.sender import OutboxSender
from bot.pipeline.worker import InboxWorker
from bot.router import Command, Router
from bot.store.database import Database
from bot.store.queues import InboxQueue, OutboxQueue
from bot.targets import TargetResolver


class IntakeUnavailable(Exception):
    """A command could not be stored in time; the front door answers 503 so it is resent."""


@dataclass
class Pipeline:
    database: Database
    inbox: InboxQueue
    outbox: OutboxQueue
    router: Router
    inbox_worker: InboxWorker
    sender: OutboxSender
    metrics: Metrics
    clock: Clock
    log: logging.Logger
    inbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    intake_deadline: float = 2.0
    # how long an acknowledgement waits for the answer that would make it pointless
    acknowledge_after: timedelta = timedelta(0)
    inbox_heartbeat: Heartbeat | None = None
    outbox_heartbeat: Heartbeat | None = None
    # submits given up at the deadline, still finishing (or rolling back) in the background
    _abandoned: set[asyncio.Task[tuple[int, int]]] = field(default_factory=set)

    async def submit(self, invocation: Invocation, *, acknowledge: bool = False) -> bool:
        """Persist an invocation; False (and no work) if its delivery key was seen before.

        With ``acknowledge``, an acknowledgement of the message that carried the command
        (``reply_to.message``: a 👀 reaction, say) is queued with it, atomically.
        """
        accepted, _queued = await self.submit_event(
            [invocation], acknowledge=acknowledge, notices=()
        )
        return accepted == 1

    async def submit_event(
        self,
        invocations: Sequence[Invocation],
        *,
        acknowledge: bool,
        notices: Sequence[Outgoing],
    ) -> tuple[int, int]:
        """Persist one platform event's commands and notices, all within one deadline.

        Each invocation is stored (or found a duplicate) in its own transaction, the first
        with the event's acknowledgement when ``acknowledge``; then the notices (usage
        errors, "only the first N ran") go to the outbox, idempotent by their keys.
        Returns (invocations accepted, notices newly queued). Past ``intake_deadline`` it
        raises ``IntakeUnavailable``: what was stored stays, and the redelivery stores the
        rest once.
        """
        started = self.clock.monotonic()
        first = invocations[0] if invocations else None
        ids = (
            {"invocation_id": first.id, "delivery_key": first.delivery_key}
            if first is not None
            else {"invocation_id": "-", "delivery_key": "-"}
        )

        async def store() -> tuple[int, int]:
            now = self.clock.now()
            accepted = 0
            for position, invocation in enumerate(invocations):
                acknowledgement = (
                    _acknowledgement(invocation) if acknowledge and position == 0 else None
                )
                accepted += await self.inbox.submit(
                    invocation, now, acknowledgement, now + self.acknowledge_after
                )
            queued = 0
            for notice in notices:
                queued += await self.outbox.enqueue(notice, now)
            return accepted, queued

        # the store runs in its own task: past the deadline the caller answers at once,
        # while the write finishes or rolls back behind it (a driver busy in a thread,
        # SQLite's busy wait say, cannot be interrupted mid-statement)
        task = asyncio.create_task(store())
        done, _ = await asyncio.wait({task}, timeout=self.intake_deadline)
        if not done:
            task.cancel()
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned.discard)
            self.log.warning("not stored within %gs", self.intake_deadline, extra=ids)
            raise IntakeUnavailable(f"could not store the command within {self.intake_deadline:g}s")
        try:
            accepted, queued = task.result()
        except Exception as exc:
            self.log.warning("not stored: %s: %s", type(exc).__name__, exc, extra=ids)
            raise IntakeUnavailable("the database is unavailable") from exc
        if first is not None:
            self.metrics.ack_seconds.observe(
                self.clock.monotonic() - started, platform=first.platform.value
            )
        self.log.info("accepted" if accepted else "duplicate delivery ignored", extra=ids)
        if accepted:
            self.inbox_wake.set()
        if (accepted and acknowledge and not self.acknowledge_after) or queued:
            self.outbox_wake.set()
        return accepted, queued

    async def settle(self) -> None:
        """Wait for the writes given up at their deadline to commit or roll back."""
        await asyncio.gather(*self._abandoned, return_exceptions=True)

    async def queue_depths(self) -> dict[str, dict[str, int]]:
        """Rows still to do; outbox rows no connector here can send are
        ``waiting_for_connector``, not pending work of this process."""
        served = self.sender.platforms
        return {"inbox": await self.inbox.depth(), "outbox": await self.outbox.depth(served)}


def _acknowledgement(invocation: Invocation) -> Outgoing:
    """The acknowledgement of the message that carried ``invocation`` (a 👀, say)."""
    return Outgoing(
        target=invocation.reply_to,
        reply=Reply(title=""),
        key=acknowledgement_key(invocation.id),
        invocation_id=invocation.id,
        kind=OutgoingKind.ACKNOWLEDGEMENT,
    )


def build_pipeline(
    config: Config,
    database: Database,
    *,
    commands: Iterable[Command[Any]],
    connectors: Mapping[Platform, Connector],
    services: Services,
    log: logging.Logger,
    authorizer: Authorizer | None = None,
    metrics: Metrics | None = None,
    resolver: TargetResolver | None = None,
) -> Pipeline:
    metrics = metrics or Metrics()
    clock = services.clock
    inbox = InboxQueue(database)
    outbox = OutboxQueue(database)
    router = Router(
        commands,
        authorizer=authorizer or ConfigAuthorizer(config.permissions),
        services=services,
        handler_timeout=config.workers.handler_timeout,
        log=log.getChild("router"),
        resolver=resolver or TargetResolver(ChannelDefaults()),
    )
    outbox_wake = asyncio.Event()
    inbox_worker = InboxWorker(
        queue=inbox,
        router=router,
        clock=clock,
        lease=timedelta(seconds=config.workers.lease_seconds),
        max_attempts=config.workers.max_attempts,
        concurrency=config.workers.concurrency,
        metrics=metrics,
        log=log.getChild("inbox"),
        on_enqueued=outbox_wake.set,
    )
    sender = OutboxSender(
        queue=outbox,
        connectors=connectors,
        clock=clock,
        lease=timedelta(seconds=config.outbox.lease_seconds),
        policy=RetryPolicy(
            Backoff(base=config.outbox.backoff_base, cap=config.outbox.backoff_cap),
            max_attempts=config.outbox.max_attempts,
        ),
        concurrency=config.outbox.concurrency,
        metrics=metrics,
        log=log.getChild("outbox"),
    )
    return Pipeline(
        database=database,
        inbox=inbox,
        outbox=outbox,
        router=router,
        inbox_worker=inbox_worker,
        sender=sender,
        metrics=metrics,
        clock=clock,
        log=log.getChild("pipeline"),
        outbox_wake=outbox_wake,
        intake_deadline=config.database.intake_deadline,
        acknowledge_after=timedelta(seconds=config.outbox.acknowledge_after),
        inbox_heartbeat=Heartbeat(clock.monotonic),
        outbox_heartbeat=Heartbeat(clock.monotonic),
    )


async def run_workers(pipeline: Pipeline, stop: asyncio.Event, poll_interval: float) -> None:
    """Run the inbox worker and the outbox sender until ``stop`` is set."""
    inbox, sender = pipeline.inbox_worker, pipeline.sender
    await asyncio.gather(
        keep_busy(
            inbox.claim,
            inbox.process,
            slots=inbox.concurrency,
            stop=stop,
            wake=pipeline.inbox_wake,
            poll_interval=poll_interval,
            log=pipeline.log,
            name="inbox",
            heartbeat=pipeline.inbox_heartbeat,
        ),
        keep_busy(
            sender.claim,
            sender.deliver,
            slots=sender.concurrency,
            stop=stop,
            wake=pipeline.outbox_wake,
            poll_interval=poll_interval,
            log=pipeline.log,
            name="outbox",
            heartbeat=pipeline.outbox_heartbeat,
        ),
    )
