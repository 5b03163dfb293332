"""Configuration: one TOML file plus environment overrides, loaded once into frozen dataclasses.

Intent
------
``load_config`` reads the TOML file the CLI chose, applies ``CHATOPS__<SECTION>__<KEY>``
environment overrides, resolves secret references and returns a ``Config``: a tree of
frozen, typed dataclasses that the rest of the service receives as an argument.
``parse_config`` does the same for already-parsed TOML data, and ``render_config`` prints
the effective configuration back as TOML with every secret masked.

The loader is generic: it walks each dataclass's fields by their type hints (``str``,
``int``, ``float``, ``bool``, ``Level``, ``tuple[str, ...]``, nested settings dataclasses,
tuples of them, ``Secret``, ``tuple[Secret, ...]`` and ``Secret | None``). Adding a section
(a connector's ``[github]``, say) means adding a dataclass and a field on ``Config``; the
loader, the overrides, ``Config.secrets()`` and ``render_config`` need no change.

What this module does not do
----------------------------
- It does not decide which file to load (``CHATOPS_CONFIG``, command-line flags): the CLI does.
- It never reads ``os.environ``; the environment is passed in as a mapping.
- It does not watch or reload the file, open the database, resolve relative SQLite paths
  (they stay relative to the working directory at use), or check that hosts are reachable.
- It does not define the connectors' sections; they come with their connectors.

Invariants
----------
- A settings object is valid once it exists: field checks (``field(metadata=_rules(...))``)
  and cross-field checks (``_check``) run in ``__post_init__``, for loaded and hand-built
  objects alike.
- Every failure is a ``ConfigError`` whose ``path`` is the dotted key path
  (``permissions.grants[1].level``; ``""`` for file-level problems), suffixed with
  ``(from VARIABLE)`` when an environment override supplied the value.
- Unknown keys are errors; nothing is silently ignored.
- Secrets are only ever given by reference (``env:NAME`` or ``file:PATH``). Their values are
  read once, at load time, held in ``Secret`` objects, and never appear in ``repr``, ``str``,
  ``render_config`` output or error messages.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import hmac
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.messages import Level, Platform

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "ENV_PREFIX",
    "BotSettings",
    "Config",
    "ConfigError",
    "DatabaseSettings",
    "LoggingSettings",
    "OutboxSettings",
    "PermissionGrant",
    "PermissionsSettings",
    "SchedulerSettings",
    "Secret",
    "ServerSettings",
    "ShellSettings",
    "WorkerSettings",
    "load_config",
    "parse_config",
    "render_config",
]

D = TypeVar("D", bound="DataclassInstance")

ENV_PREFIX = "CHATOPS__"
_MASK = "(secret, set)"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- errors, secrets


class ConfigError(Exception):
    """An invalid configuration: which key (``path``) and what is wrong with it (``reason``)."""

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class Secret:
    """A value read from a secret reference (``env:NAME`` or ``file:/abs/path``).

    ``reference`` says where the value came from and is safe to show; ``repr`` and ``str``
    show only the reference (``env:NAME (secret, set)``). ``reveal()`` returns the value;
    call it only where the value is used. Immutable; equality compares reference and value
    in constant time.
    """

    __slots__ = ("_value", "reference")

    reference: str
    _value: str

    def __init__(self, reference: str, value: str) -> None:
        kind, _, rest = reference.partition(":")
        if kind not in ("env", "file") or not rest:
            raise ValueError("a secret reference looks like env:NAME or file:PATH")
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return f"{self.reference} {_MASK}"

    def __repr__(self) -> str:
        return f"<Secret {self}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.reference == other.reference and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self.reference)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Secret is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Secret is immutable; cannot delete {name!r}")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; pass its reference and load it again")


# --------------------------------------------------------------------------- field rules

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


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class _Section:
    """Base of every settings dataclass: runs field rules, then ``_check``, on construction.

    Errors raised here carry a path relative to the object; the loader prefixes its own.
    """

    def __post_init__(self) -> None:
        for f in fields(self):
            rules = _rules_of(f)
            value = getattr(self, f.name)
            if rules.normalize is not None:
                value = rules.normalize(value)
                object.__setattr__(self, f.name, value)
            for check in rules.checks:
                reason = check(value)
                if reason is not None:
                    raise ConfigError(f.name, reason)
        self._check()

    def _check(self) -> None:
        """Cross-field invariants: raise ``ConfigError(relative_path, reason)``."""


@dataclass(frozen=True, slots=True)
class BotSettings(_Section):
    name: str = field(default="chatops", metadata=_rules(_non_empty))
    public_url: str = field(default="http://127.0.0.1:8080", metadata=_rules(_http_url))


@dataclass(frozen=True, slots=True)
class ServerSettings(_Section):
    host: str = field(default="127.0.0.1", metadata=_rules(_non_empty))
    port: int = field(default=8080, metadata=_rules(_between(0, 65535)))
    shutdown_timeout: float = field(default=10.0, metadata=_rules(_positive))


@dataclass(frozen=True, slots=True)
class DatabaseSettings(_Section):
    """Where the inbox, outbox and schedule live.

    Exactly one of ``url`` (a literal URL without a password) and ``secret`` (the URL read
    from a reference) is set; ``resolved_url()`` returns whichever it is.
    """

    url: str = field(default="sqlite://chatops.sqlite3", metadata=_rules(secret_into="secret"))
    secret: Secret | None = field(default=None, metadata=_rules(key=False))

    def resolved_url(self) -> str:
        return self.secret.reveal() if self.secret is not None else self.url

    def _check(self) -> None:
        if self.secret is None:
            problem = _database_url_problem(self.url, literal=True)
        elif self.url:
            problem = "give either a literal URL or a secret reference, not both"
        else:
            problem = _database_url_problem(self.secret.reveal(), literal=False)
            if problem is not None:
                problem = f"{problem} (in {self.secret.reference})"
        if problem is not None:
            raise ConfigError("url", problem)


@dataclass(frozen=True, slots=True)
class WorkerSettings(_Section):
    """Inbox workers: run handlers for leased invocations."""

    concurrency: int = field(default=4, metadata=_rules(_between(1, 64)))
    lease_seconds: float = field(default=60.0, metadata=_rules(_positive))
    poll_interval: float = field(default=0.5, metadata=_rules(_positive))
    max_attempts: int = field(default=5, metadata=_rules(_at_least(1)))
    handler_timeout: float = field(default=30.0, metadata=_rules(_positive))

    def _check(self) -> None:
        if self.handler_timeout >= self.lease_seconds:
            raise ConfigError(
                "handler_timeout",
                f"must be less than lease_seconds ({_num(self.lease_seconds)}), "
                f"so a handler finishes before its lease expires; got {_num(self.handler_timeout)}",
            )


@dataclass(frozen=True, slots=True)
class OutboxSettings(_Section):
    """Outbox senders: deliver replies, retrying with capped exponential backoff."""

    concurrency: int = field(default=4, metadata=_rules(_between(1, 64)))
    lease_seconds: float = field(default=60.0, metadata=_rules(_positive))
    max_attempts: int = field(default=8, metadata=_rules(_at_least(1)))
    backoff_base: float = field(default=1.0, metadata=_rules(_positive))
    backoff_cap: float = field(default=300.0, metadata=_rules(_positive))

    def _check(self) -> None:
        if self.backoff_cap < self.backoff_base:
            raise ConfigError(
                "backoff_cap",
                f"must be at least backoff_base ({_num(self.backoff_base)}), "
                f"got {_num(self.backoff_cap)}",
            )


@dataclass(frozen=True, slots=True)
class SchedulerSettings(_Section):
    timezone: str = field(default="UTC", metadata=_rules(_time_zone))
    housekeeping_cron: str = field(default="17 3 * * *", metadata=_rules(_cron))
    retention_days: int = field(default=14, metadata=_rules(_at_least(1)))


@dataclass(frozen=True, slots=True)
class LoggingSettings(_Section):
    level: str = field(
        default="INFO",
        metadata=_rules(_one_of("DEBUG", "INFO", "WARNING", "ERROR"), normalize=str.upper),
    )
    format: str = field(default="json", metadata=_rules(_one_of("json", "text")))


@dataclass(frozen=True, slots=True)
class PermissionGrant(_Section):
    """Grants ``level`` to ``users`` and members of ``groups`` on ``platform``, for ``repos``.

    ``platform`` is a ``Platform`` value or ``"*"`` (every platform); ``"*"`` in ``users``
    means everyone on that platform; ``repos`` are repository patterns, ``"*"`` for all.
    """

    level: Level
    platform: str = field(default="*", metadata=_rules(_one_of("*", *(p.value for p in Platform))))
    users: tuple[str, ...] = field(default=(), metadata=_rules(_no_blank_items))
    groups: tuple[str, ...] = field(default=(), metadata=_rules(_no_blank_items))
    repos: tuple[str, ...] = field(default=("*",), metadata=_rules(_non_empty, _no_blank_items))

    def _check(self) -> None:
        if not self.users and not self.groups:
            raise ConfigError(
                "", 'grants to no one: list users, groups or both (users = ["*"] is everyone)'
            )


@dataclass(frozen=True, slots=True)
class PermissionsSettings(_Section):
    default_level: Level = Level.READ
    grants: tuple[PermissionGrant, ...] = ()


@dataclass(frozen=True, slots=True)
class ShellSettings(_Section):
    user: str = field(default="local", metadata=_rules(_non_empty))


@dataclass(frozen=True, slots=True)
class Config(_Section):
    """The whole configuration. ``source`` is the file it was loaded from, if any."""

    bot: BotSettings = field(default_factory=BotSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    permissions: PermissionsSettings = field(default_factory=PermissionsSettings)
    shell: ShellSettings = field(default_factory=ShellSettings)
    source: str | None = field(default=None, metadata=_rules(key=False))

    def secrets(self) -> tuple[Secret, ...]:
        """Every Secret in the configuration, in field order, for log redaction."""
        found: list[Secret] = []
        _collect_secrets(self, found)
        return tuple(found)


def _collect_secrets(value: object, found: list[Secret]) -> None:
    if isinstance(value, Secret):
        if value not in found:
            found.append(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _collect_secrets(getattr(value, f.name), found)
    elif isinstance(value, tuple):
        for item in value:
            _collect_secrets(item, found)


# --------------------------------------------------------------------------- type helpers


def _keyed_fields(cls: type[DataclassInstance]) -> dict[str, dataclasses.Field[Any]]:
    """The fields of ``cls`` that are TOML keys, by name, in declaration order."""
    return {f.name: f for f in fields(cls) if _rules_of(f).key}


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _is_table(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _tuple_item(hint: Any) -> Any | None:
    """``X`` for ``tuple[X, ...]``, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _is_table_array(hint: Any) -> bool:
    item = _tuple_item(hint)
    return item is not None and _is_table(item)


def _optional_inner(hint: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if typing.get_origin(hint) not in (types.UnionType, typing.Union):
        return None
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return args[0] if len(args) == 1 else None


def _join(path: str, name: str) -> str:
    if not name:
        return path
    if not path or name.startswith("["):
        return f"{path}{name}"
    return f"{path}.{name}"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return type(value).__name__


def _describe(value: object) -> str:
    """A short, TOML-flavoured rendering of a (non-secret) value for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return _kind(value)


def _unknown_key(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key; expected one of {', '.join(known)}"


def _is_reference(text: str) -> bool:
    return text.startswith(("env:", "file:"))


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class _Loader:
    """Turns parsed TOML (with overrides applied) into settings dataclasses.

    ``origins`` maps a dotted path to the environment variable that supplied its value, so
    errors about overridden values say where the value came from.
    """

    environ: Mapping[str, str] = field(repr=False)  # holds secrets: never print it
    base_dir: Path
    origins: Mapping[str, str]

    def error(self, path: str, reason: str) -> ConfigError:
        for key, variable in self.origins.items():
            if path == key or path.startswith((f"{key}.", f"{key}[")):
                return ConfigError(f"{path} (from {variable})", reason)
        return ConfigError(path, reason)

    def table(self, cls: type[D], raw: object, path: str) -> D:
        if not isinstance(raw, Mapping):
            raise self.error(path, f"expected a table, got {_describe(raw)}")
        keyed = _keyed_fields(cls)
        for name in raw:
            if name not in keyed:
                raise self.error(_join(path, str(name)), _unknown_key(str(name), keyed))
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for name, f in keyed.items():
            here = _join(path, name)
            if name not in raw:
                if _is_required(f):
                    raise self.error(here, "missing required key")
                continue
            value = raw[name]
            secret_slot = _rules_of(f).secret_into
            if secret_slot is not None and isinstance(value, str) and _is_reference(value):
                kwargs[secret_slot] = self.secret(value, here)
                kwargs[name] = ""
            else:
                kwargs[name] = self.value(hints[name], value, here)
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise self.error(_join(path, err.path), err.reason) from None

    def value(self, hint: Any, raw: object, path: str) -> Any:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            raise self.error(path, f"expected true or false, got {_describe(raw)}")
        if hint is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            raise self.error(path, f"expected an integer, got {_describe(raw)}")
        if hint is float:
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                raise self.error(path, f"expected a number, got {_describe(raw)}")
            if not math.isfinite(raw):
                raise self.error(path, f"expected a finite number, got {_describe(raw)}")
            return float(raw)
        if hint is str:
            if not isinstance(raw, str):
                raise self.error(path, f"expected a string, got {_describe(raw)}")
            if _is_reference(raw):
                raise self.error(
                    path, "is not a secret, so it cannot be given by reference (env:/file:)"
                )
            return raw
        if hint is Level:
            if not isinstance(raw, str):
                raise self.error(path, f"expected read, write or admin, got {_describe(raw)}")
            try:
                return Level.parse(raw)
            except ValueError as err:
                raise self.error(path, str(err)) from None
        if hint is Secret:
            return self.secret(raw, path)
        if _is_table(hint):
            return self.table(hint, raw, path)
        item = _tuple_item(hint)
        if item is not None:
            if not isinstance(raw, list | tuple):
                raise self.error(path, f"expected an array, got {_describe(raw)}")
            return tuple(self.value(item, each, f"{path}[{i}]") for i, each in enumerate(raw))
        inner = _optional_inner(hint)
        if inner is not None:
            return None if raw is None else self.value(inner, raw, path)
        raise TypeError(f"{path}: unsupported settings field type {hint!r}")

    def secret(self, raw: object, path: str) -> Secret:
        """Resolve a reference. Never quotes the value, nor a literal written in its place."""
        if not isinstance(raw, str):
            raise self.error(path, f"expected env:NAME or file:PATH, got {_kind(raw)}")
        if raw.endswith(_MASK):
            raise self.error(
                path, "is a masked value printed by render_config; write the reference alone"
            )
        if not _is_reference(raw):
            raise self.error(path, "secrets are given by reference: write env:NAME or file:PATH")
        kind, _, rest = raw.partition(":")
        if kind == "env":
            return self._env_secret(rest, path)
        return self._file_secret(rest, path)

    def _env_secret(self, name: str, path: str) -> Secret:
        if not _ENV_NAME.fullmatch(name):
            raise self.error(
                path, f"env:{name} does not name an environment variable (letters, digits, _)"
            )
        value = self.environ.get(name)
        if value is None:
            raise self.error(path, f"refers to environment variable {name}, which is not set")
        if not value:
            raise self.error(path, f"refers to environment variable {name}, which is empty")
        return Secret(f"env:{name}", value)

    def _file_secret(self, name: str, path: str) -> Secret:
        file = Path(name)
        if not file.is_absolute():
            file = self.base_dir / file
        try:
            text = file.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise self.error(path, f"refers to file {file}, which does not exist") from None
        except UnicodeDecodeError:
            raise self.error(path, f"refers to file {file}, which is not UTF-8 text") from None
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise self.error(
                path, f"refers to file {file}, which cannot be read: {reason}"
            ) from None
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        if not text:
            raise self.error(path, f"refers to file {file}, which is empty")
        return Secret(f"file:{file}", text)


# --------------------------------------------------------------------------- environment overrides

_TRUE_WORDS = ("true", "1", "yes")
_FALSE_WORDS = ("false", "0", "no")


def _copy_tables(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _copy_tables(value) if isinstance(value, Mapping) else value
        for key, value in data.items()
    }


def _override_value(hint: Any, text: str, label: str) -> Any:
    """Convert an override's text by the field's type; the loader then validates it."""
    hint = _optional_inner(hint) or hint
    if hint is bool:
        word = text.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise ConfigError(label, f"expected true or false (or yes/no, 1/0), got {text!r}")
    if hint is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(label, f"expected an integer, got {text!r}") from None
    if hint is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConfigError(label, f"expected a number, got {text!r}") from None
    if _tuple_item(hint) is not None:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text  # str, Level, Secret: the loader converts and checks them


def _apply_overrides(
    data: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply ``CHATOPS__<SECTION>__<KEY>`` variables to a copy of ``data``.

    Returns the merged data and, for each overridden dotted path, the variable that set it.
    """
    merged = _copy_tables(data)
    origins: dict[str, str] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        names = variable[len(ENV_PREFIX) :].lower().split("__")
        if not all(names):
            raise ConfigError(
                "",
                f"environment variable {variable} does not name a setting; "
                "write CHATOPS__<SECTION>__<KEY>, e.g. CHATOPS__SERVER__PORT",
            )
        path = ".".join(names)
        label = f"{path} (from {variable})"
        if path in origins:
            raise ConfigError(label, f"also set by {origins[path]}")
        cls: type[DataclassInstance] = Config
        table = merged
        for depth, name in enumerate(names):
            keyed = _keyed_fields(cls)
            last = depth == len(names) - 1
            if name not in keyed:
                reason = _unknown_key(name, keyed)
                raise ConfigError(label, reason if last else f"{name!r}: {reason}")
            hint = typing.get_type_hints(cls)[name]
            if _is_table_array(hint):
                raise ConfigError(
                    label,
                    "is an array of tables, which cannot be overridden from the environment; "
                    "edit the config file",
                )
            if _is_table(hint):
                if last:
                    first = next(iter(_keyed_fields(hint)))
                    raise ConfigError(
                        label,
                        "is a table; override its keys one at a time, "
                        f"e.g. {variable}__{first.upper()}",
                    )
                nested = table.setdefault(name, {})
                if not isinstance(nested, dict):
                    here = ".".join(names[: depth + 1])
                    raise ConfigError(here, f"expected a table, got {_describe(nested)}")
                cls, table = hint, nested
            elif not last:
                raise ConfigError(label, f"{name!r} is a value, not a table")
            else:
                table[name] = _override_value(hint, environ[variable], label)
                origins[path] = variable
    return merged, origins


# --------------------------------------------------------------------------- public entry points


def parse_config(data: Mapping[str, Any], environ: Mapping[str, str], *, base_dir: Path) -> Config:
    """Build a Config from parsed TOML ``data`` plus overrides from ``environ``.

    ``base_dir`` anchors relative ``file:`` references (the config file's directory).
    ``data`` is not modified.
    """
    merged, origins = _apply_overrides(data, environ)
    return _Loader(environ, base_dir, origins).table(Config, merged, "")


def load_config(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Config:
    """Load the TOML file at ``path`` (all defaults when None) with overrides from ``environ``.

    ``Config.source`` is the file's absolute path. Without a file, relative ``file:``
    references in overrides are resolved against the current working directory.
    """
    if path is None:
        return parse_config({}, environ, base_dir=Path.cwd())
    file = Path(path)
    try:
        with file.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError("", f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("", f"{file} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"{file} is not UTF-8 text") from None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError("", f"cannot read config file {file}: {reason}") from None
    absolute = file.absolute()
    config = parse_config(data, environ, base_dir=absolute.parent)
    return dataclasses.replace(config, source=str(absolute))


# --------------------------------------------------------------------------- rendering


def render_config(config: Config) -> str:
    """The effective configuration as TOML, every section and key present, secrets masked.

    For a configuration without secrets, parsing the text back gives an equal Config
    (``source`` aside). A masked secret does not load back: the loader says so.
    """
    lines = [
        "# Effective chatops-bridge configuration.",
        f"# Source: {config.source or 'built-in defaults'} (plus environment overrides).",
        "# Secrets are masked: only their references are shown.",
    ]
    _render_table(config, "", None, lines)
    return "\n".join(lines) + "\n"


def _render_table(obj: DataclassInstance, path: str, header: str | None, lines: list[str]) -> None:
    if header is not None:
        lines.extend(("", header))
    hints = typing.get_type_hints(type(obj))
    tables: list[tuple[str, str, DataclassInstance]] = []
    for name, f in _keyed_fields(type(obj)).items():
        value = getattr(obj, name)
        here = _join(path, name)
        if _is_table(hints[name]):
            tables.append((here, f"[{here}]", value))
        elif _is_table_array(hints[name]) and value:
            tables.extend((here, f"[[{here}]]", item) for item in value)
        else:
            secret_slot = _rules_of(f).secret_into
            if secret_slot is not None and getattr(obj, secret_slot) is not None:
                value = getattr(obj, secret_slot)
            if value is None:
                lines.append(f"# {name} is not set")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
    for here, table_header, item in tables:
        _render_table(item, here, table_header, lines)


def _toml_value(value: object) -> str:
    if isinstance(value, Secret):
        return _toml_string(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Level):
        return _toml_string(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
