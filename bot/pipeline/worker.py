"""The two workers of the pipeline: one runs commands, one delivers replies.

``InboxWorker`` claims accepted invocations under a lease, runs them through
the router, and completes each in one transaction that marks it done and
enqueues its reply and audit entry. ``OutboxSender`` claims replies and hands
them to the platform's connector, retrying with exponential backoff and full
jitter, honouring a retry-after the connector reports, and dead-lettering a
message after ``max_attempts`` with the reason.

Invariants:
- A command whose worker died mid-way is picked up again when its lease
  expires; one that keeps killing its worker is answered with an error after
  ``max_attempts`` instead of being retried forever. Either way it gets exactly
  one reply (the outbox key is derived from the invocation id).
- A send that raised is never marked sent; a send that returned is marked sent
  before anything else happens to that row.
- A sender claims only messages for platforms it has a connector for; the
  others wait in the outbox for a process that can send them.
- A send that does not end within half the lease is abandoned and retried,
  so a hung platform call cannot outlive the claim it was made under.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Platform, Reply, Status
from bot.metrics import Metrics
from bot.pipeline.delivery import Connector, DeliveryError, RateLimited, RetryLater, Undeliverable
from bot.router import Outcome, Router
from bot.store.queues import (
    Audit,
    ClaimScope,
    InboxClaim,
    InboxQueue,
    LeaseLost,
    OutboxClaim,
    OutboxQueue,
)

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


def reply_key(invocation_id: str) -> str:
    """The outbox key of an invocation's reply: one reply per invocation."""
    return f"reply:{invocation_id}"


def acknowledgement_key(invocation_id: str) -> str:
    """The outbox key of the acknowledgement of one invocation's message."""
    return f"ack:{invocation_id}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, at least any retry-after the platform asked for."""

    base: float
    cap: float

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        jittered = rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)


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


class OutboxSender:
    def __init__(
        self,
        *,
        queue: OutboxQueue,
        connectors: Mapping[Platform, Connector],
        clock: Clock,
        lease: timedelta,
        max_attempts: int,
        backoff: Backoff,
        concurrency: int,
        metrics: Metrics,
        log: Log,
        rng: random.Random | None = None,
    ) -> None:
        self._queue = queue
        self._connectors = connectors
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._concurrency = concurrency
        self._metrics = metrics
        self._log = log
        self._rng = rng or random.Random()
        # a send must end well inside the lease, or another sender could take the row over
        self._send_timeout = lease.total_seconds() / 2

    @property
    def concurrency(self) -> int:
        return self._concurrency

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms this sender has a connector for."""
        return frozenset(platform.value for platform in self._connectors)

    async def claim(self, limit: int, keys: Collection[str] | None = None) -> list[OutboxClaim]:
        """Claim up to ``limit`` messages this sender can deliver (only these keys, if given)."""
        scope = ClaimScope(
            platforms=frozenset(platform.value for platform in self._connectors),
            keys=frozenset(keys) if keys is not None else None,
        )
        claims = await self._queue.claim(self._clock.now(), self._lease, limit, scope)
        return await self._without_superseded(claims)

    async def _without_superseded(self, claims: list[OutboxClaim]) -> list[OutboxClaim]:
        """Drop the acknowledgements whose command's reply is in the same batch."""
        answered = {
            acknowledgement_key(claim.message.invocation_id)
            for claim in claims
            if claim.message.kind is OutgoingKind.MESSAGE and claim.message.invocation_id
        }
        kept = []
        for claim in claims:
            if claim.message.key in answered:
                reason = f"superseded by {reply_key(claim.message.invocation_id or '')}"
                await _ignore_lost(self._queue.drop(claim, reason), self._log, {})
            else:
                kept.append(claim)
        return kept

    async def run_once(self, keys: Collection[str] | None = None) -> int:
        """Claim one batch, deliver it, and return its size."""
        claims = await self.claim(self._concurrency, keys)
        await asyncio.gather(*(self.deliver(claim) for claim in claims))
        return len(claims)

    async def deliver(self, claim: OutboxClaim) -> None:
        message = claim.message
        platform = message.target.platform
        ids = {"outbox_key": message.key, "invocation_id": message.invocation_id or "-"}
        connector = self._connectors[platform]
        try:
            async with asyncio.timeout(self._send_timeout):
                await connector.send(message)
        except TimeoutError:
            await self._retry(claim, f"no answer within {self._send_timeout:g}s", ids)
        except Undeliverable as exc:
            await self._dead(claim, exc.reason, ids)
        except RateLimited as exc:
            await self._rate_limited(claim, exc, ids)
        except RetryLater as exc:
            await self._retry(claim, exc.reason, ids, exc.retry_after)
        except DeliveryError as exc:
            await self._retry(claim, exc.reason, ids)
        except Exception as exc:
            self._log.exception("connector failed unexpectedly", extra=ids)
            await self._retry(claim, f"{type(exc).__name__}: {exc}", ids)
        else:
            await self._sent(claim, ids)

    async def _sent(self, claim: OutboxClaim, ids: Mapping[str, str]) -> None:
        now = self._clock.now()
        platform = claim.message.target.platform.value
        audit = self._audit(claim, "sent", f"attempt {claim.attempts}")
        message = claim.message
        # once a command is answered, its pending acknowledgement has nothing left to say
        supersedes = (
            acknowledgement_key(message.invocation_id)
            if message.kind is OutgoingKind.MESSAGE and message.invocation_id is not None
            else None
        )
        try:
            await self._queue.mark_sent(claim, now, audit, supersedes=supersedes)
        except LeaseLost as exc:
            self._log.warning("sent, but %s", exc, extra=ids)
            return
        self._metrics.deliveries.inc(platform=platform, outcome="sent")
        if claim.received_at is not None:
            seconds = (now - claim.received_at).total_seconds()
            self._metrics.end_to_end_seconds.observe(seconds, platform=platform)
        self._log.info("sent (attempt %d)", claim.attempts, extra=ids)

    async def _retry(
        self,
        claim: OutboxClaim,
        reason: str,
        ids: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        if claim.attempts >= self._max_attempts:
            await self._dead(claim, f"gave up after {claim.attempts} attempts: {reason}", ids)
            return
        delay = self._backoff.delay(claim.attempts, self._rng, retry_after)
        available_at = self._clock.now() + timedelta(seconds=delay)
        await _ignore_lost(self._queue.retry_later(claim, available_at, reason), self._log, ids)
        self._metrics.deliveries.inc(platform=claim.message.target.platform.value, outcome="retry")
        self._log.warning(
            "send failed (attempt %d), retrying in %.1fs: %s",
            claim.attempts,
            delay,
            reason,
            extra=ids,
        )

    async def _rate_limited(
        self, claim: OutboxClaim, exc: RateLimited, ids: Mapping[str, str]
    ) -> None:
        """Wait as the platform (or the shared gate) asks; the attempt does not count."""
        available_at = self._clock.now() + timedelta(seconds=exc.retry_after)
        await _ignore_lost(
            self._queue.retry_later(claim, available_at, exc.reason, counted=False),
            self._log,
            ids,
        )
        platform = claim.message.target.platform.value
        self._metrics.deliveries.inc(platform=platform, outcome="rate_limited")
        self._log.info(
            "rate limited, retrying in %.1fs: %s", exc.retry_after, exc.reason, extra=ids
        )

    async def _dead(self, claim: OutboxClaim, reason: str, ids: Mapping[str, str]) -> None:
        audit = self._audit(claim, "dead", reason)
        await _ignore_lost(
            self._queue.mark_dead(claim, self._clock.now(), reason, audit), self._log, ids
        )
        self._metrics.deliveries.inc(platform=claim.message.target.platform.value, outcome="dead")
        self._log.error("dead letter: %s", reason, extra=ids)

    def _audit(self, claim: OutboxClaim, decision: str, detail: str) -> Audit:
        target = claim.message.target
        return Audit(
            platform=target.platform.value,
            actor="bot",
            decision=decision,
            invocation_id=claim.message.invocation_id,
            command=None,
            detail=f"{claim.message.key}: {detail}",
        )


async def _ignore_lost(step: Awaitable[None], log: Log, ids: Mapping[str, str]) -> None:
    try:
        await step
    except LeaseLost as exc:
        log.warning("%s", exc, extra=ids)
