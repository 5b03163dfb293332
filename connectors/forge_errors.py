"""What a failed forge API call means: for the outbox, and for the user. Pure.

GitHub and GitLab fail in the same shapes, so the decisions are made once, here. Each
forge's ``errors`` module reads its client library's exception into an ``Answer`` (the
status, the forge's message, the wait a rate limit asks for, a ``Retry-After``) and handles
what only that forge has (GitHub's App installations and rejected tokens).

``delivery_error`` (sending replies):

- a ``bot.pipeline.delivery.DeliveryError`` stays as it is (a closed rate gate raises
  ``RateLimited``, one of them);
- a rate limit → ``RateLimited`` for the wait it asks;
- ``Retry-After`` on any other answer → ``RetryLater`` for that many seconds;
- 401 → ``Undeliverable`` with the forge's reason when another attempt cannot help (the
  bot has no other token), else ``DeliveryError`` (a token may have just expired: retry);
- other 4xx (the thread is gone, locked, or not ours to write to) → ``Undeliverable``;
- 5xx, timeouts and connection errors → ``DeliveryError``.

``forge_error`` (commands and the run tracker acting on a repository), messages written
for users, never carrying a token:

- 404 → the ``NotFound`` the caller names (what it asked for);
- a rate limit, or a closed rate gate → ``ForgeError`` "try again after HH:MM UTC",
  rounded up to the minute so it is never early;
- other 401/403 → ``Forbidden`` with the forge's own message;
- 5xx → ``ForgeError`` with the status; other 4xx → ``ForgeError`` with the forge's message;
- timeouts and connection errors → ``ForgeError`` "<Forge> could not be reached (...)";
- anything else is not an API failure: None, and the caller lets it propagate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.forge import Forbidden, ForgeError, NotFound
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable


@dataclass(frozen=True, slots=True)
class Answer:
    """A forge's error answer, as its ``errors`` module reads it."""

    status: int
    text: str  # the exception as text, for logs and dead letters
    message: str  # the forge's own message, for users; "" when it gave none
    rate_limit: float | None  # seconds to wait if the answer is a rate limit, else None
    retry_after: float | None  # seconds the answer asks to wait before a retry, if any


def delivery_error(
    platform: str,
    exc: BaseException,
    answer: Answer | None,
    *,
    unauthorized: str | None = None,
) -> DeliveryError:
    """What a failed send means for the outbox. ``answer`` is ``exc`` read by the forge's
    ``errors`` module (None when ``exc`` is no API answer); ``unauthorized``, when given, is
    the reason a 401 is final."""
    if isinstance(exc, DeliveryError):
        return exc
    if answer is not None:
        reason = f"{platform} answered {answer.status}: {answer.text}"
        if answer.rate_limit is not None:
            return RateLimited(reason, answer.rate_limit)
        if answer.retry_after is not None:
            return RetryLater(reason, answer.retry_after)
        if answer.status == 401:
            return DeliveryError(reason) if unauthorized is None else Undeliverable(unauthorized)
        if 400 <= answer.status < 500:
            return Undeliverable(reason)
        return DeliveryError(reason)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return DeliveryError(f"{platform} unreachable: {type(exc).__name__}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def forge_error(
    platform: str,
    exc: BaseException,
    answer: Answer | None,
    now: datetime,
    *,
    missing: NotFound,
) -> ForgeError | None:
    """What a failed API call means for the user; None if ``exc`` is not one. ``missing`` is
    what a 404 means for this call."""
    if isinstance(exc, RateLimited):
        return rate_limited(platform, now + timedelta(seconds=exc.retry_after), 429)
    if answer is not None:
        status, message = answer.status, answer.message
        if status == 404:
            return missing
        if answer.rate_limit is not None:
            return rate_limited(platform, now + timedelta(seconds=answer.rate_limit), status)
        if status in (401, 403):
            refused = message or f"{platform} refused the request ({status})."
            return Forbidden(platform, refused, status)
        if status >= 500:
            text = f"{platform} had an error ({status}); try again in a few minutes."
            return ForgeError(platform, text, status)
        return ForgeError(platform, message or f"{platform} answered {status}.", status)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError):
        return ForgeError(
            platform, f"{platform} could not be reached ({type(exc).__name__}).", None
        )
    return None


def rate_limited(platform: str, until: datetime, status: int) -> ForgeError:
    when = minute_after(until).strftime("%H:%M")
    return ForgeError(
        platform, f"{platform} is rate limiting the bot; try again after {when} UTC.", status
    )


def minute_after(moment: datetime) -> datetime:
    """``moment`` in UTC, rounded up to the whole minute (so "after HH:MM" is never early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(second=0, microsecond=0)
    return whole if whole == utc else whole + timedelta(minutes=1)
