"""The retry policy alone: what the sender does after each kind of failed send."""

from __future__ import annotations

import random

import pytest

from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from bot.pipeline.retry import Backoff, GiveUp, Retry, RetryPolicy

POLICY = RetryPolicy(Backoff(base=1.0, cap=8.0), max_attempts=3)


def decide(failure: BaseException, attempt: int) -> Retry | GiveUp:
    return POLICY.decide(failure, attempt, random.Random(3))


def test_a_message_the_platform_will_never_take_is_dead_at_once() -> None:
    assert decide(Undeliverable("channel_not_found"), 1) == GiveUp("channel_not_found")


def test_a_rate_limit_waits_as_asked_and_gives_the_attempt_back() -> None:
    # even at the last attempt: a rate limit never brings a message closer to the dead letters
    for attempt in (1, 3, 9):
        assert decide(RateLimited("429 from GitHub", 42.5), attempt) == Retry(
            42.5, "429 from GitHub", counted=False
        )


def test_a_failure_backs_off_with_jitter_under_a_growing_ceiling() -> None:
    for attempt, ceiling in ((1, 1.0), (2, 2.0)):
        decision = decide(DeliveryError("502 from Slack"), attempt)
        assert isinstance(decision, Retry)
        assert (decision.reason, decision.counted) == ("502 from Slack", True)
        assert 0.0 <= decision.delay <= ceiling


def test_retry_after_is_a_floor_for_the_backoff() -> None:
    assert decide(RetryLater("503, Retry-After: 30", 30.0), 1) == Retry(
        30.0, "503, Retry-After: 30"
    )


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (DeliveryError("502 from Slack"), "502 from Slack"),
        (RetryLater("503, Retry-After: 30", 30.0), "503, Retry-After: 30"),
        (KeyError("channel"), "KeyError: 'channel'"),
    ],
)
def test_the_last_attempt_gives_up_and_says_why(failure: BaseException, reason: str) -> None:
    assert decide(failure, 3) == GiveUp(f"gave up after 3 attempts: {reason}")


def test_a_connector_bug_is_retried_like_any_failure_and_named() -> None:
    decision = decide(KeyError("channel"), 1)
    assert isinstance(decision, Retry)
    assert decision.reason == "KeyError: 'channel'"
