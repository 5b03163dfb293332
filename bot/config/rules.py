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

Plugins' settings use the same machinery under public names (``bot.config.checks``,
``bot.config.at_least``...), defined at the end of this module.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import cron

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


def _between(low: float, high: float) -> Check:
    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {_num(low)} and {_num(high)}, got {_num(value)}"

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


def _cron(value: str) -> str | None:
    """A 5-field crontab line, read by ``bot.cron``: the parser the scheduler runs it with."""
    try:
        cron.trigger(value, "UTC")
    except cron.CronError as err:
        return str(err)
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


# ------------------------------------------------------------- public names, for plugins

checks = _rules  # not ``rules``: that is this module's name in the package
at_least = _at_least
between = _between
positive = _positive
one_of = _one_of
non_empty = _non_empty
http_url = _http_url
