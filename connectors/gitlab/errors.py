"""GitLab API failures read for ``connectors.forge_errors``, which decides what they mean.

gidgetlab raises ``HTTPException`` subclasses that carry the status and GitLab's
``message`` but not the response headers; ``RateLimitExceeded`` (a 403 with
``RateLimit-Remaining: 0``) carries the parsed limit. A client that keeps the headers of a
failed response (``connectors.gitlab.api.failed_response_headers``) passes them as
``headers``; without them a rate limit waits a minute, the window GitLab's limits are
counted in.

``answer`` reads the exception (docs.gitlab.com "Rate limits": 429 "Retry later",
``RateLimit-*`` and ``Retry-After`` headers): 429, a ``RateLimitExceeded``, or a 403 with
``Retry-After`` is a rate limit (for ``Retry-After``, until ``RateLimit-Reset``, else a
minute); GitLab's message is text or, for validation errors, fields and reasons.

What only GitLab has: a 401 on a send is final (``Undeliverable``, naming the setting to
fix), as the bot cannot mint another GitLab token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gidgetlab.exceptions import HTTPException, RateLimitExceeded

from bot.forge import ForgeError, NotFound
from bot.pipeline.delivery import DeliveryError, RateLimited
from connectors import forge_errors
from connectors.forge_errors import Answer
from connectors.rate_limits import retry_after

PLATFORM = "GitLab"

RATE_LIMIT_WAIT = 60.0
TOO_MANY_REQUESTS = 429


def rate_limit_wait(
    exc: BaseException, now_epoch: float, headers: Mapping[str, str] | None = None
) -> float | None:
    """How long to wait if ``exc`` is a rate limit (GitLab's or the closed gate's); None if
    it is not one."""
    if isinstance(exc, RateLimited):
        return exc.retry_after
    if not isinstance(exc, HTTPException):
        return None
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


def answer(
    exc: BaseException, now_epoch: float, headers: Mapping[str, str] | None = None
) -> Answer | None:
    """``exc`` as an ``Answer``; None if it is no answer from GitLab."""
    if not isinstance(exc, HTTPException):
        return None
    return Answer(
        status=int(exc.status_code),
        text=str(exc),
        message=_message(exc),
        rate_limit=rate_limit_wait(exc, now_epoch, headers),
        retry_after=None if headers is None else retry_after(headers, now_epoch),
    )


def delivery_error(
    exc: BaseException, now_epoch: float, headers: Mapping[str, str] | None = None
) -> DeliveryError:
    """What a failed send means for the outbox."""
    read = answer(exc, now_epoch, headers)
    unauthorized = None
    if read is not None:
        unauthorized = f"GitLab refused the bot's token ({read.status}: {exc}); check gitlab.token"
    return forge_errors.delivery_error(PLATFORM, exc, read, unauthorized=unauthorized)


def forge_error(
    exc: BaseException,
    now: datetime,
    *,
    repo: str,
    missing: NotFound,
    headers: Mapping[str, str] | None = None,
) -> ForgeError | None:
    """What a failed API call on project ``repo`` means for the user; None if it is not one.

    ``missing`` is what a 404 means for this call (GitLab answers 404 also for a private
    project the token may not see).
    """
    read = answer(exc, now.timestamp(), headers)
    return forge_errors.forge_error(PLATFORM, exc, read, now, missing=missing)


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
