"""What ``secrets track|untrack|ack|snooze`` accept as words, checked. Pure; no I/O.

Secret names are letters, digits and ``_`` (as both forges allow). Dates are
``YYYY-MM-DD``, or ``30d`` / ``2w`` for that many days or weeks from a given today.
Snooze lengths are ``12h``, ``3d`` or ``1w``: more than nothing, at most 90 days. An
owner is at most 255 characters; a rotation link is an http(s) URL of at most 1024.
Anything else is a ``UsageError`` that says what was expected; an empty owner or link
means none.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

from bot.errors import UsageError

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
RELATIVE_DATE = re.compile(r"(\d{1,4})([dw])")
DURATION = re.compile(r"(\d{1,4})([hdw])")
UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
MAX_SNOOZE = timedelta(days=90)
MAX_OWNER = 255
MAX_URL = 1024


def check_name(name: str) -> str:
    """The secret's name as given, if it is one; a ``UsageError`` otherwise."""
    if NAME_PATTERN.fullmatch(name) is None:
        raise UsageError(f"NAME must be a secret's name (letters, digits and _), not {name!r}")
    return name


def parse_expiry(text: str, today: date) -> date:
    """``YYYY-MM-DD``, or ``30d`` / ``2w`` from ``today``; a ``UsageError`` otherwise."""
    relative = RELATIVE_DATE.fullmatch(text.strip().lower())
    if relative is not None:
        amount, unit = int(relative.group(1)), relative.group(2)
        return today + timedelta(days=amount * (7 if unit == "w" else 1))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"DATE must be a date such as 2027-01-31, or 30d / 2w from today, not {text!r}"
        ) from None


def parse_duration(text: str) -> timedelta:
    """``12h``, ``3d``, ``1w``: more than nothing and at most 90 days; a ``UsageError`` else."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise UsageError(
            f"DURATION must be hours, days or weeks such as 12h, 3d or 1w, not {text!r}"
        )
    length = timedelta(hours=int(found.group(1)) * UNIT_HOURS[found.group(2)])
    if not timedelta(0) < length <= MAX_SNOOZE:
        raise UsageError(f"DURATION must be more than 0 and at most 90 days, not {text}")
    return length


def owner(text: str | None) -> str | None:
    """The owner as given, stripped; ``None`` for none or blank."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_OWNER:
        raise UsageError(f"--owner must be at most {MAX_OWNER} characters")
    return text.strip()


def rotate_url(text: str | None) -> str | None:
    """The rotation link as given, stripped, if http(s); ``None`` for none or blank."""
    if text is None or not text.strip():
        return None
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > MAX_URL:
        raise UsageError(f"--rotate-url must be an http(s) URL, not {text!r}")
    return text.strip()
