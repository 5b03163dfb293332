"""Map GitHub API failures onto the outbox's delivery errors, and onto the forge's errors.

``delivery_error`` (sending replies):

- a closed rate gate (``bot.pipeline.delivery.RateLimited`` from
  ``bot.pipeline.rate_gate``) stays as it is;
- 429, or a 403 that is a rate limit → ``RateLimited`` for ``Retry-After`` seconds, or
  until ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else for a minute, as
  GitHub's guidance on secondary rate limits asks;
- ``Retry-After`` on any other status → ``RetryLater`` for that many seconds;
- ``CredentialsRejected`` (a 401 that a new token did not cure, or a 401 to the fixed
  token: the client already retried) → ``Undeliverable`` with GitHub's answer;
- another 401 (on a read) → ``DeliveryError`` (an installation token may have just
  expired: retry).
- Other 4xx (404 thread gone, 403 locked or no access, 410, 422) → ``Undeliverable``.
- 5xx, timeouts and connection errors → ``DeliveryError``.

``forge_error`` (commands and the run tracker acting on a repository), messages written
for users, never carrying a token:

- 404 → the ``NotFound`` the caller names (what it asked for); a repository the GitHub App
  is not installed on is a ``NotFound`` repository too (the bot cannot see it);
- 403 or 429 that is a rate limit, or a closed rate gate → ``ForgeError`` "try again after
  HH:MM UTC" (when ``Retry-After`` or ``x-ratelimit-reset`` says; a minute from now when
  neither does);
- ``CredentialsRejected`` → ``Forbidden`` with its message;
- other 401/403 → ``Forbidden`` with GitHub's own message;
- 5xx → ``ForgeError`` with the status; other 4xx → ``ForgeError`` with GitHub's message;
- timeouts and connection errors → ``ForgeError`` "GitHub could not be reached (...)".

Sources: docs.github.com "Rate limits for the REST API" (primary and secondary limits,
``retry-after``, ``x-ratelimit-reset``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import gidgethub

from bot.forge import Forbidden, ForgeError, NotFound
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from connectors.github.auth import CredentialsRejected, MissingInstallation
from connectors.rate_limits import retry_after

PLATFORM = "GitHub"

SECONDARY_LIMIT_WAIT = 60.0


def delivery_error(exc: BaseException, now_epoch: float) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, CredentialsRejected):
        return Undeliverable(str(exc))
    if isinstance(exc, gidgethub.HTTPException):
        status = int(exc.status_code)
        reason = f"GitHub answered {status}: {exc}"
        wait = retry_after(exc.headers, now_epoch, prefix="x-ratelimit-")
        if is_rate_limit(exc):
            return RateLimited(reason, SECONDARY_LIMIT_WAIT if wait is None else wait)
        if wait is not None:
            return RetryLater(reason, wait)
        if 400 <= status < 500 and status != 401:
            return Undeliverable(reason)
        return DeliveryError(reason)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return DeliveryError(f"GitHub unreachable: {type(exc).__name__}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def is_rate_limit(exc: gidgethub.HTTPException) -> bool:
    """A 429, or a 403 that GitHub's headers or message say is a (secondary) rate limit."""
    status = int(exc.status_code)
    if status == 429:
        return True
    if status != 403:
        return False
    lowered = {key.lower(): value for key, value in exc.headers.items()}
    return (
        isinstance(exc, gidgethub.RateLimitExceeded)
        or lowered.get("x-ratelimit-remaining") == "0"
        or "retry-after" in lowered
        or "rate limit" in str(exc).lower()
    )


def forge_error(
    exc: BaseException, now: datetime, *, repo: str, missing: NotFound
) -> ForgeError | None:
    """What a failed API call on ``repo`` means for the user; None if it is not one.

    ``missing`` is what a 404 means for this call.
    """
    if isinstance(exc, MissingInstallation):
        return NotFound(PLATFORM, "repository", repo)
    if isinstance(exc, RateLimited):
        return _rate_limited(now + timedelta(seconds=exc.retry_after), 429)
    if isinstance(exc, CredentialsRejected):
        return Forbidden(PLATFORM, str(exc), 401)
    if isinstance(exc, gidgethub.HTTPException):
        status = int(exc.status_code)
        message = str(exc).strip()
        if status == 404:
            return missing
        if is_rate_limit(exc):
            wait = retry_after(exc.headers, now.timestamp(), prefix="x-ratelimit-")
            until = now + timedelta(seconds=SECONDARY_LIMIT_WAIT if wait is None else wait)
            return _rate_limited(until, status)
        if status in (401, 403):
            return Forbidden(PLATFORM, message or f"GitHub refused the request ({status}).", status)
        if status >= 500:
            return ForgeError(
                PLATFORM, f"GitHub had an error ({status}); try again in a few minutes.", status
            )
        return ForgeError(PLATFORM, message or f"GitHub answered {status}.", status)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return ForgeError(PLATFORM, f"GitHub could not be reached ({type(exc).__name__}).", None)
    return None


def _rate_limited(until: datetime, status: int) -> ForgeError:
    when = _minute_after(until).strftime("%H:%M")
    return ForgeError(
        PLATFORM, f"GitHub is rate limiting the bot; try again after {when} UTC.", status
    )


def _minute_after(moment: datetime) -> datetime:
    """``moment`` in UTC, rounded up to the whole minute (so "after HH:MM" is never early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(second=0, microsecond=0)
    return whole if whole == utc else whole + timedelta(minutes=1)
