"""Map GitLab API failures onto the outbox's delivery errors, and onto the forge's errors.

gidgetlab raises ``HTTPException`` subclasses that carry the status and GitLab's
``message`` but not the response headers; ``RateLimitExceeded`` (a 403 with
``RateLimit-Remaining: 0``) carries the parsed limit. A client that keeps the headers
of a failed response may pass them as ``headers``; without them a rate limit waits a
minute, the window GitLab's limits are counted in.

``delivery_error`` (sending replies):

- a closed rate gate (``bot.pipeline.delivery.RateLimited`` from
  ``bot.pipeline.rate_gate``) stays as it is;
- 429, a ``RateLimitExceeded``, or a 403 with ``Retry-After`` → ``RateLimited`` (for
  ``Retry-After``, until ``RateLimit-Reset``, else a minute);
- ``Retry-After`` on any other status → ``RetryLater``;
- 401 → ``Undeliverable``: the bot cannot mint another GitLab token, so retrying with the
  same one cannot help; the reason names the setting to fix;
- other 4xx (404 note or MR gone, 403 locked discussion, 400, 422) → ``Undeliverable``;
- 5xx, timeouts and connection errors → ``DeliveryError``.

``forge_error`` (commands and the run tracker acting on a project), messages written for
users, never carrying a token:

- 404 → the ``NotFound`` the caller names (GitLab answers 404 also for a private
  project the token may not see);
- 429 or a rate-limited 403, or a closed rate gate → ``ForgeError`` "try again after
  HH:MM UTC";
- other 401/403 → ``Forbidden`` with GitLab's own message;
- 5xx → ``ForgeError`` with the status; other 4xx → ``ForgeError`` with GitLab's message;
- timeouts and connection errors → ``ForgeError`` "GitLab could not be reached (...)".

Sources: docs.gitlab.com "Rate limits" (429 "Retry later", ``RateLimit-*`` and
``Retry-After`` headers) and "REST API" status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import aiohttp
from gidgetlab.exceptions import HTTPException, RateLimitExceeded

from bot.forge import Forbidden, ForgeError, NotFound
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from connectors.rate_limits import retry_after

PLATFORM = "GitLab"

RATE_LIMIT_WAIT = 60.0
TOO_MANY_REQUESTS = 429


def rate_limit_wait(
    exc: HTTPException, now_epoch: float, headers: Mapping[str, str] | None = None
) -> float | None:
    """How long to wait if ``exc`` is a rate limit; None if it is not one."""
    status = int(exc.status_code)
    wait = None if headers is None else retry_after(headers, now_epoch)
    if isinstance(exc, RateLimitExceeded) and exc.rate_limit is not None:
        reset = exc.rate_limit.reset_datetime.timestamp()
        return wait if wait is not None else max(0.0, reset - now_epoch)
    if status == TOO_MANY_REQUESTS:
        return wait if wait is not None else RATE_LIMIT_WAIT
    if status == 403 and wait is not None:
        return wait
    return None


def delivery_error(
    exc: BaseException, now_epoch: float, headers: Mapping[str, str] | None = None
) -> DeliveryError:
    """What a failed send means for the outbox."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, HTTPException):
        status = int(exc.status_code)
        reason = f"GitLab answered {status}: {exc}"
        wait = rate_limit_wait(exc, now_epoch, headers)
        if wait is not None:
            return RateLimited(reason, wait)
        later = None if headers is None else retry_after(headers, now_epoch)
        if later is not None:
            return RetryLater(reason, later)
        if status == 401:
            return Undeliverable(
                f"GitLab refused the bot's token ({status}: {exc}); check gitlab.token"
            )
        if 400 <= status < 500:
            return Undeliverable(reason)
        return DeliveryError(reason)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return DeliveryError(f"GitLab unreachable: {type(exc).__name__}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def forge_error(
    exc: BaseException,
    now: datetime,
    *,
    repo: str,
    missing: NotFound,
    headers: Mapping[str, str] | None = None,
) -> ForgeError | None:
    """What a failed API call on project ``repo`` means for the user; None if it is not one.

    ``missing`` is what a 404 means for this call.
    """
    if isinstance(exc, RateLimited):
        when = _minute_after(now + timedelta(seconds=exc.retry_after)).strftime("%H:%M")
        return ForgeError(
            PLATFORM, f"GitLab is rate limiting the bot; try again after {when} UTC.", 429
        )
    if isinstance(exc, HTTPException):
        status = int(exc.status_code)
        message = _message(exc)
        if status == 404:
            return missing
        wait = rate_limit_wait(exc, now.timestamp(), headers)
        if wait is not None:
            when = _minute_after(now + timedelta(seconds=wait)).strftime("%H:%M")
            return ForgeError(
                PLATFORM, f"GitLab is rate limiting the bot; try again after {when} UTC.", status
            )
        if status in (401, 403):
            return Forbidden(PLATFORM, message or f"GitLab refused the request ({status}).", status)
        if status >= 500:
            return ForgeError(
                PLATFORM, f"GitLab had an error ({status}); try again in a few minutes.", status
            )
        return ForgeError(PLATFORM, message or f"GitLab answered {status}.", status)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return ForgeError(PLATFORM, f"GitLab could not be reached ({type(exc).__name__}).", None)
    return None


def _message(exc: HTTPException) -> str:
    """GitLab's ``message``, which is text or, for validation errors, fields and reasons
    (``{"base": ["Reference not found"]}`` -> ``base: Reference not found``)."""
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, Mapping):
        parts = []
        for field, reasons in detail.items():
            listed = reasons if isinstance(reasons, list) else [reasons]
            parts.append(f"{field}: {', '.join(str(reason) for reason in listed)}")
        return "; ".join(parts)
    return str(detail).strip()


def _minute_after(moment: datetime) -> datetime:
    """``moment`` in UTC, rounded up to the whole minute (so "after HH:MM" is never early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(second=0, microsecond=0)
    return whole if whole == utc else whole + timedelta(minutes=1)
