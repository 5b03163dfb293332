"""GitHub API failures read for ``connectors.forge_errors``, which decides what they mean.

``answer`` reads a gidgethub ``HTTPException``: GitHub's message, and its rate limits
(docs.github.com "Rate limits for the REST API"): a 429, or a 403 that GitHub's headers or
message say is a (secondary) limit, waits for ``Retry-After``, or until
``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else for a minute, as GitHub's
guidance on secondary limits asks.

What only GitHub has, decided here before the shared mapping:

- ``CredentialsRejected`` (a 401 that a new token did not cure, or a 401 to the fixed
  token: the client already retried) → ``Undeliverable`` for a send, ``Forbidden`` for a
  command, with GitHub's answer; another 401 (on a read) is retried, as an installation
  token may have just expired;
- ``MissingInstallation``: a repository the GitHub App is not installed on is a
  ``NotFound`` repository (the bot cannot see it).
"""

from __future__ import annotations

from datetime import datetime

import gidgethub

from bot.forge import Forbidden, ForgeError, NotFound
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from connectors import forge_errors
from connectors.forge_errors import Answer
from connectors.github.auth import CredentialsRejected, MissingInstallation
from connectors.rate_limits import retry_after

PLATFORM = "GitHub"

# GitHub's guidance: wait at least a minute after a secondary limit that names no time
SECONDARY_LIMIT_WAIT = 60.0
RATE_LIMIT_PREFIX = "x-ratelimit-"


def answer(exc: BaseException, now_epoch: float) -> Answer | None:
    """``exc`` as an ``Answer``; None if it is no answer from GitHub."""
    if not isinstance(exc, gidgethub.HTTPException):
        return None
    wait = retry_after(exc.headers, now_epoch, prefix=RATE_LIMIT_PREFIX)
    limited = is_rate_limit(exc)
    return Answer(
        status=int(exc.status_code),
        text=str(exc),
        message=str(exc).strip(),
        rate_limit=(SECONDARY_LIMIT_WAIT if wait is None else wait) if limited else None,
        retry_after=wait,
    )


def rate_limit_wait(exc: BaseException, now_epoch: float) -> float | None:
    """Seconds to wait if ``exc`` is a rate limit (GitHub's or the closed gate's); else None."""
    if isinstance(exc, RateLimited):
        return exc.retry_after
    read = answer(exc, now_epoch)
    return None if read is None else read.rate_limit


def delivery_error(exc: BaseException, now_epoch: float) -> DeliveryError:
    if isinstance(exc, CredentialsRejected):
        return Undeliverable(str(exc))
    return forge_errors.delivery_error(PLATFORM, exc, answer(exc, now_epoch))


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
    if isinstance(exc, CredentialsRejected):
        return Forbidden(PLATFORM, str(exc), 401)
    read = answer(exc, now.timestamp())
    return forge_errors.forge_error(PLATFORM, exc, read, now, missing=missing)
