"""When to try a failed send again, and when to give up: a pure policy.

The sender asks ``RetryPolicy.decide(failure, attempt)`` after a send did not happen and
applies the answer; the policy knows no queue and no platform.

- ``Undeliverable``: dead at once; the platform will never take this message.
- ``RateLimited``: wait as long as asked, and the attempt is given back: a rate limit
  delays a message, it never brings it closer to the dead letters.
- any other failure (``RetryLater`` with the platform's Retry-After, a ``DeliveryError``,
  a send that timed out, a connector bug): exponential backoff with full jitter, at
  least any Retry-After, until ``max_attempts`` attempts were made; then dead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after ``delay`` seconds; ``counted=False`` gives the attempt back."""

    delay: float
    reason: str
    counted: bool = True


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Dead-letter the message with ``reason``."""

    reason: str


Decision = Retry | GiveUp


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, at least any retry-after the platform asked for."""

    base: float
    cap: float

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        jittered = rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    backoff: Backoff
    max_attempts: int

    def decide(self, failure: BaseException, attempt: int, rng: random.Random) -> Decision:
        """What to do after attempt number ``attempt`` (from 1) failed with ``failure``."""
        if isinstance(failure, Undeliverable):
            return GiveUp(failure.reason)
        if isinstance(failure, RateLimited):
            return Retry(failure.retry_after, failure.reason, counted=False)
        reason = describe(failure)
        if attempt >= self.max_attempts:
            return GiveUp(f"gave up after {attempt} attempts: {reason}")
        retry_after = failure.retry_after if isinstance(failure, RetryLater) else None
        return Retry(self.backoff.delay(attempt, rng, retry_after), reason)


def describe(failure: BaseException) -> str:
    """A failure in words for the outbox row and the log."""
    if isinstance(failure, DeliveryError):
        return failure.reason
    return f"{type(failure).__name__}: {failure}"
