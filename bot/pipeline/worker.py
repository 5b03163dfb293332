"""The inbox worker: runs accepted commands and queues their answers.

``InboxWorker`` claims accepted invocations under a lease, runs them through the router,
and completes each in one transaction that marks it done and enqueues its reply (kind
``REPLY``, key ``bot.pipeline.keys.reply_key``), its follow-ups and its audit entry. The
replies are then the outbox sender's (``bot.pipeline.sender``).

Invariants:
- A command whose worker died mid-way is picked up again when its lease expires; one
  that keeps killing its worker is answered with an error after ``max_attempts`` instead
  of being retried forever. Either way it gets exactly one reply (the outbox key is
  derived from the invocation id).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Reply, Status
from bot.metrics import Metrics
from bot.pipeline.keys import reply_key
from bot.router import Outcome, Router
from bot.store.queues import Audit, ClaimScope, InboxClaim, InboxQueue, LeaseLost

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


class InboxWorker:
    def __init__(
        self,
        *,
        queue: InboxQueue,
        router: Router,
        clock: Clock,
        lease: timedelta,
        max_attempts: int,
        concurrency: int,
        metrics: Metrics,
        log: Log,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._queue = queue
        self._router = router
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts
        self._concurrency = concurrency
        self._metrics = metrics
        self._log = log
        self._on_enqueued = on_enqueued

    @property
    def concurrency(self) -> int:
        return self._concurrency

    async def claim(self, limit: int, keys: Collection[str] | None = None) -> list[InboxClaim]:
        """Claim up to ``limit`` invocations (only these delivery keys, if given)."""
        scope = ClaimScope(keys=frozenset(keys)) if keys is not None else None
        return await self._queue.claim(self._clock.now(), self._lease, limit, scope)

    async def run_once(self, keys: Collection[str] | None = None) -> int:
        """Claim one batch, process it, and return its size."""
        claims = await self.claim(self._concurrency, keys)
        await asyncio.gather(*(self.process(claim) for claim in claims))
        return len(claims)

    async def process(self, claim: InboxClaim) -> None:
        invocation = claim.invocation
        ids = {"invocation_id": invocation.id, "delivery_key": invocation.delivery_key}
        self._log.info("claimed (attempt %d)", claim.attempts, extra=ids)
        if claim.attempts > self._max_attempts:
            outcome = _gave_up(claim)
        else:
            outcome = await self._router.dispatch(invocation)
        reply = Outgoing(
            target=invocation.reply_to,
            reply=outcome.reply,
            key=reply_key(invocation.id),
            invocation_id=invocation.id,
            kind=OutgoingKind.REPLY,
        )
        try:
            await self._queue.complete(
                claim, self._clock.now(), [reply, *outcome.followups], [outcome.audit]
            )
        except LeaseLost as exc:
            self._log.warning("not completed: %s", exc, extra=ids)
            return
        self._metrics.invocations.inc(
            platform=invocation.platform.value,
            command=outcome.command or "-",
            outcome=outcome.result,
        )
        self._log.info("done: reply queued", extra=ids)
        self._on_enqueued()


def _gave_up(claim: InboxClaim) -> Outcome:
    invocation = claim.invocation
    ref = uuid.uuid4().hex[:8]
    reply = Reply(
        title=f"Something went wrong (ref {ref})",
        status=Status.ERROR,
        paragraphs=(
            f"This command was tried {claim.attempts - 1} times and could not be completed.",
            f"The details are in the bot's log under ref {ref}.",
        ),
    )
    audit = Audit(
        platform=invocation.platform.value,
        actor=f"{invocation.actor.platform}:{invocation.actor.id}",
        decision="abandoned",
        invocation_id=invocation.id,
        detail=f"ref {ref}: {claim.attempts - 1} attempts",
    )
    return Outcome(reply=reply, audit=audit, command=None, result="abandoned")
