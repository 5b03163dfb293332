"""How long a forge asks us to wait, read from its response headers; and asking again after it.

GitHub and GitLab both send ``Retry-After`` (seconds) on secondary limits, and a
"remaining / reset" pair on their primary limits: ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` on GitHub, ``RateLimit-Remaining`` and ``RateLimit-Reset`` on
GitLab, the reset being a Unix time. ``retry_after`` reads either shape.

Invariants: header names are matched case-insensitively; a wait is never negative; a
value that is not a number means "not said" (None), never an error. ``retry_after_seconds``
and ``exhausted_until`` read the two shapes apart, for the rate gates (``bot.pipeline.rate_gate``),
which close writes for the first and reads and writes for the second. These are pure.

``ask_through_limits`` asks a read again after each rate limit, for the wait the limit
names, within a budget of seconds and a number of asks (the forges' permission lookups
use it). It waits only through the sleep it is given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def retry_after(
    headers: Mapping[str, str], now_epoch: float, *, prefix: str = "ratelimit-"
) -> float | None:
    """Seconds to wait before trying again, from ``Retry-After`` or the exhausted limit's
    reset time (``<prefix>remaining`` is 0 and ``<prefix>reset`` is set); None if neither
    says."""
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    reset = lowered.get(f"{prefix}reset")
    if lowered.get(f"{prefix}remaining") == "0" and reset is not None:
        try:
            return max(0.0, float(reset) - now_epoch)
        except ValueError:
            return None
    return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (never negative); None if absent or not a number."""
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def exhausted_until(headers: Mapping[str, str], *, prefix: str = "ratelimit-") -> datetime | None:
    """When an exhausted limit resets: ``<prefix>reset`` if ``<prefix>remaining`` is 0;
    None if the limit is not exhausted or the reset time is not a number."""
    lowered = {key.lower(): value for key, value in headers.items()}
    reset = lowered.get(f"{prefix}reset")
    if lowered.get(f"{prefix}remaining") != "0" or reset is None:
        return None
    try:
        return datetime.fromtimestamp(float(reset), UTC)
    except (ValueError, OverflowError, OSError):
        return None


async def ask_through_limits(
    ask: Callable[[], Awaitable[T]],
    *,
    wait_of: Callable[[Exception], float | None],
    budget: float,
    max_asks: int,
    sleep: Callable[[float], Awaitable[None]],
    give_up: Callable[[Exception, float], Exception],
) -> T:
    """``ask()``'s answer. A failure ``wait_of`` reads as a rate limit (seconds to wait, not
    None) is slept through and asked again, while the waits add up to no more than
    ``budget`` and for at most ``max_asks`` asks; past either, ``give_up(failure, wait)``
    is raised from it. Any other failure propagates at once."""
    waited = 0.0
    for asked in range(1, max_asks + 1):
        try:
            return await ask()
        except Exception as exc:
            wait = wait_of(exc)
            if wait is None:
                raise
            if asked == max_asks or waited + wait > budget:
                raise give_up(exc, wait) from exc
        await sleep(wait)
        waited += wait
    raise AssertionError("unreachable: the last ask returns or raises")
