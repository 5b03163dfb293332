"""Map GitHub API failures onto the outbox's delivery errors.

- ``Retry-After`` (any status) → ``RetryLater`` for that many seconds.
- 403 or 429 with ``x-ratelimit-remaining: 0`` → ``RetryLater`` until ``x-ratelimit-reset``.
- 403 or 429 that mentions a rate limit without saying when → ``RetryLater`` for a minute,
  as GitHub's guidance on secondary rate limits asks.
- 401 → ``DeliveryError`` (an installation token may have just expired: retry).
- Other 4xx (404 thread gone, 403 locked or no access, 410, 422) → ``Undeliverable``.
- 5xx, timeouts and connection errors → ``DeliveryError``.

Sources: docs.github.com "Rate limits for the REST API" (primary and secondary limits,
``retry-after``, ``x-ratelimit-reset``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import gidgethub

from bot.delivery import DeliveryError, RetryLater, Undeliverable

SECONDARY_LIMIT_WAIT = 60.0


def retry_after(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """Seconds GitHub asks us to wait, from its headers; None if it does not say."""
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if lowered.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in lowered:
        try:
            return max(0.0, float(lowered["x-ratelimit-reset"]) - now_epoch)
        except ValueError:
            return None
    return None


def delivery_error(exc: BaseException, now_epoch: float) -> DeliveryError:
    if isinstance(exc, gidgethub.HTTPException):
        status = int(exc.status_code)
        reason = f"GitHub answered {status}: {exc}"
        wait = retry_after(exc.headers, now_epoch)
        if wait is not None:
            return RetryLater(reason, wait)
        if status in (403, 429) and "rate limit" in str(exc).lower():
            return RetryLater(reason, SECONDARY_LIMIT_WAIT)
        if status == 429:
            return RetryLater(reason, SECONDARY_LIMIT_WAIT)
        if 400 <= status < 500 and status != 401:
            return Undeliverable(reason)
        return DeliveryError(reason)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return DeliveryError(f"GitHub unreachable: {type(exc).__name__}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")
