"""The outbox sender: hands claimed messages to their platform's connector.

``OutboxSender`` claims messages for the platforms it has connectors for and sends each.
A send that returned is marked sent (and the acknowledgement its answer made pointless is
dropped, in the same transaction); a send that failed is retried or dead-lettered as the
retry policy (``bot.pipeline.retry``) decides.

Invariants:
- A send that raised is never marked sent; a send that returned is marked sent before
  anything else happens to that row.
- A sender claims only messages for platforms it has a connector for; the others wait in
  the outbox for a process that can send them.
- A send that does not end within half the lease is abandoned and retried, so a hung
  platform call cannot outlive the claim it was made under.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Collection, Mapping
from datetime import timedelta

from bot.clock import Clock
from bot.messages import OutgoingKind, Platform
from bot.metrics import Metrics
from bot.pipeline.delivery import Connector, DeliveryError, RateLimited
from bot.pipeline.keys import acknowledgement_key
from bot.pipeline.retry import GiveUp, RetryPolicy, describe
from bot.store.queues import Audit, ClaimScope, LeaseLost, OutboxClaim, OutboxQueue

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


class OutboxSender:
    def __init__(
        self,
        *,
        queue: OutboxQueue,
        connectors: Mapping[Platform, Connector],
        clock: Clock,
        lease: timedelta,
        policy: RetryPolicy,
        concurrency: int,
        metrics: Metrics,
        log: Log,
        rng: random.Random | None = None,
    ) -> None:
        self._queue = queue
        self._connectors = connectors
        self._clock = clock
        self._lease = lease
        self._policy = policy
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
            platforms=self.platforms, keys=frozenset(keys) if keys is not None else None
        )
        claims = await self._queue.claim(self._clock.now(), self._lease, limit, scope)
        return await self._without_superseded(claims)

    async def _without_superseded(self, claims: list[OutboxClaim]) -> list[OutboxClaim]:
        """Drop the acknowledgements whose command's reply is in the same batch."""
        answered = {
            acknowledgement_key(claim.message.invocation_id): claim.message.key
            for claim in claims
            if claim.message.kind is OutgoingKind.REPLY and claim.message.invocation_id
        }
        kept = []
        for claim in claims:
            reply = answered.get(claim.message.key)
            if reply is not None:
                await _ignore_lost(self._queue.drop(claim, f"superseded by {reply}"), self._log, {})
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
        ids = {"outbox_key": message.key, "invocation_id": message.invocation_id or "-"}
        connector = self._connectors[message.target.platform]
        try:
            async with asyncio.timeout(self._send_timeout):
                await connector.send(message)
        except TimeoutError:
            failure: BaseException = DeliveryError(f"no answer within {self._send_timeout:g}s")
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:
            self._log.exception("connector failed unexpectedly", extra=ids)
            failure = exc
        else:
            await self._sent(claim, ids)
            return
        await self._failed(claim, failure, ids)

    async def _sent(self, claim: OutboxClaim, ids: Mapping[str, str]) -> None:
        now = self._clock.now()
        platform = claim.message.target.platform.value
        audit = self._audit(claim, "sent", f"attempt {claim.attempts}")
        message = claim.message
        # once a command is answered, its pending acknowledgement has nothing left to say
        supersedes = (
            acknowledgement_key(message.invocation_id)
            if message.kind is OutgoingKind.REPLY and message.invocation_id is not None
            else None
        )
        try:
            await self._queue.mark_sent(claim, now, audit, supersedes=supersedes)
        except LeaseLost as exc:
            self._log.warning("sent, but %s", exc, extra=ids)
            return
        self._metrics.deliveries.inc(platform=platform, outcome="sent")
        if claim.received_at is not None:
            # never negative: a time read back from the store may be a microsecond off
            seconds = max(0.0, (now - claim.received_at).total_seconds())
            self._metrics.end_to_end_seconds.observe(seconds, platform=platform)
        self._log.info("sent (attempt %d)", claim.attempts, extra=ids)

    async def _failed(
        self, claim: OutboxClaim, failure: BaseException, ids: Mapping[str, str]
    ) -> None:
        platform = claim.message.target.platform.value
        decision = self._policy.decide(failure, claim.attempts, self._rng)
        if isinstance(decision, GiveUp):
            audit = self._audit(claim, "dead", decision.reason)
            now = self._clock.now()
            step = self._queue.mark_dead(claim, now, decision.reason, audit)
            await _ignore_lost(step, self._log, ids)
            self._metrics.deliveries.inc(platform=platform, outcome="dead")
            self._log.error("dead letter: %s", decision.reason, extra=ids)
            return
        available_at = self._clock.now() + timedelta(seconds=decision.delay)
        step = self._queue.retry_later(
            claim, available_at, decision.reason, counted=decision.counted
        )
        await _ignore_lost(step, self._log, ids)
        if isinstance(failure, RateLimited):
            self._metrics.deliveries.inc(platform=platform, outcome="rate_limited")
            self._log.info(
                "rate limited, retrying in %.1fs: %s", decision.delay, decision.reason, extra=ids
            )
            return
        self._metrics.deliveries.inc(platform=platform, outcome="retry")
        self._log.warning(
            "send failed (attempt %d), retrying in %.1fs: %s",
            claim.attempts,
            decision.delay,
            describe(failure),
            extra=ids,
        )

    def _audit(self, claim: OutboxClaim, decision: str, detail: str) -> Audit:
        return Audit(
            platform=claim.message.target.platform.value,
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
