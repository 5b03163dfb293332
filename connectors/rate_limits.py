"""How long a forge asks us to wait, read from its response headers. Pure.

GitHub and GitLab both send ``Retry-After`` (seconds) on secondary limits, and a
"remaining / reset" pair on their primary limits: ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` on GitHub, ``RateLimit-Remaining`` and ``RateLimit-Reset`` on
GitLab, the reset being a Unix time. ``retry_after`` reads either shape.

Invariants: header names are matched case-insensitively; a wait is never negative; a
value that is not a number means "not said" (None), never an error. ``retry_after_seconds``
and ``exhausted_until`` read the two shapes apart, for the rate gates (``bot.pipeline.rate_gate``),
which close writes for the first and reads and writes for the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime


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
