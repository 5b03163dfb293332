"""Field rules: what a settings field needs checked beyond its type, and the checks.

A settings field declares its rules as ``field(metadata=_rules(check, ..., normalize=...))``.
``_Section.__post_init__`` applies ``normalize`` and ``checks`` on construction; the loader,
the overrides and the renderer read ``secret_into`` and ``key`` through ``_rules_of``. Besides
that machinery this module holds the checks the settings use: generic ones (ranges,
choices, non-empty), URLs and time zones, 5-field crontab lines and database URLs.

Invariants
----------
- A check returns the reason a value is invalid, phrased to follow the key's path
  (``must be at least 1, got 0``), or None. It has no side effects.
- Rules live in field metadata under the key ``_RULES`` (``"chatops.config.rules"``); a
  field without them has no checks and is a TOML key.
- A reason never quotes a value read from a secret: ``_database_url_problem`` quotes only a
  literal URL's scheme, and rejects a literal URL that embeds a password.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Check = Callable[[Any], str | None]  # returns the reason a value is invalid, or None


@dataclass(frozen=True, slots=True)
class _Rules:
    """What the loader and ``__post_init__`` need to know about one field beyond its type.

    ``checks`` validate the (normalized) value; ``normalize`` rewrites it first (e.g.
    ``str.upper``). ``secret_into`` names a sibling ``Secret | None`` field: when the TOML
    value is a reference, the loader stores the Secret there and ``""`` here. ``key=False``
    marks a field that is not read from TOML (derived or bookkeeping).
    """

    checks: tuple[Check, ...] = ()
    normalize: Callable[[Any], Any] | None = None
    secret_into: str | None = None
    key: bool = True


_RULES = "chatops.config.rules"


def _rules(
    *checks: Check,
    normalize: Callable[[Any], Any] | None = None,
    secret_into: str | None = None,
    key: bool = True,
) -> dict[str, _Rules]:
    return {_RULES: _Rules(checks, normalize, secret_into, key)}


def _rules_of(f: dataclasses.Field[Any]) -> _Rules:
    rules = f.metadata.get(_RULES)
    return rules if isinstance(rules, _Rules) else _Rules()


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _between(low: int, high: int) -> Check:
    def check(value: int) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {low} and {high}, got {_num(value)}"

    return check


def _at_least(low: int) -> Check:
    def check(value: int) -> str | None:
        return None if value >= low else f"must be at least {low}, got {_num(value)}"

    return check


def _positive(value: float) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {_num(value)}"


def _one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        return f"must be one of {', '.join(choices)}; got {value!r}"

    return check


def _non_empty(value: Collection[object]) -> str | None:
    return None if len(value) else "must not be empty"


def _no_blank_items(values: tuple[str, ...]) -> str | None:
    return "must not contain empty strings" if any(not v.strip() for v in values) else None


def _http_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    return f"expected an http:// or https:// URL, got {value!r}"


def _time_zone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'"
    return None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# name, lowest, highest, accepted names. Day-of-week stops at 6: APScheduler, which runs the
# schedule, rejects 7 (and counts 0 as Monday, unlike crontab).
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _WEEKDAYS),
)
_CRON_ITEM = re.compile(r"(\*|\d+|[A-Za-z]{3})(?:-(\d+|[A-Za-z]{3}))?(?:/(\d+))?")


def _cron(value: str) -> str | None:
    """Check a 5-field crontab line: shape, numeric ranges and names.

    The scheduler parses it again at start-up; this catches mistakes at load time, with the
    key's name in the message.
    """
    parts = value.split()
    if len(parts) != 5:
        return (
            "expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {value!r}"
        )
    for text, (name, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None:
                return (
                    f"{name} field {text!r} is not valid: use digits, *, ranges (a-b), "
                    "steps (/n), lists (a,b) or 3-letter names"
                )
            start, stop, step = match[1], match[2], match[3]
            for atom in (start, stop):
                if atom is None or atom == "*":
                    continue
                if atom.isdigit() and not low <= int(atom) <= high:
                    return f"{name} field {text!r}: {atom} is outside {low}-{high}"
                if atom.isalpha() and atom.lower() not in names:
                    expected = f"one of {', '.join(names)}" if names else "numbers only"
                    return f"{name} field {text!r}: unknown name {atom!r}; expected {expected}"
            if start == "*" and stop is not None:
                return f"{name} field {text!r}: * cannot start a range"
            if start.isdigit() and stop is not None and stop.isdigit() and int(start) > int(stop):
                return f"{name} field {text!r}: the range {start}-{stop} runs backwards"
            if step is not None and int(step) == 0:
                return f"{name} field {text!r}: a step must be at least 1"
    return None


# --------------------------------------------------------------------------- database URLs

_DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql")
_PASSWORD_IN_URL = "embeds a password; put the URL in an environment variable and write env:NAME"
_URL_EXAMPLE = "sqlite://chatops.sqlite3 or postgres://user@host:5432/db"


def _has_password(after_scheme: str) -> bool:
    authority = re.split(r"[/?#]", after_scheme, maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    if at and ":" in userinfo:
        return True
    query = after_scheme.partition("?")[2].partition("#")[0]
    return any(key.lower() == "password" for key, _ in parse_qsl(query))


def _database_url_problem(url: str, *, literal: bool) -> str | None:
    """Why ``url`` is not a usable database URL, or None.

    Only a literal URL may be quoted back, and only its scheme: a URL read from a secret is
    never shown, and a literal one may hold a password we are about to reject.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        return f"expected a URL such as {_URL_EXAMPLE}"
    if literal and _has_password(rest):
        return _PASSWORD_IN_URL
    scheme = scheme.lower()
    if scheme not in _DATABASE_SCHEMES:
        shown = f" {scheme!r}" if literal else ""
        return f"unsupported scheme{shown}; expected one of {', '.join(_DATABASE_SCHEMES)}"
    if scheme == "sqlite":
        return None if rest else "a sqlite URL needs a path: sqlite://PATH or sqlite://:memory:"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "has an invalid host or port"
    if not host:
        return "a postgres URL needs a host: postgres://user@host:5432/db"
    if not parts.path.strip("/"):
        return "a postgres URL needs a database name: postgres://user@host:5432/db"
    return None
