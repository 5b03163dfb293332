"""The settings dataclasses and ``Config``, the tree the rest of the service receives.

Each ``[section]`` of the TOML file is a frozen dataclass deriving from ``_Section``
(``bot.config.section``), and ``Config`` has one field per section; the sections of
plugins' features are kept apart, in ``Config.plugin_sections``. The platforms' sections
(``[github]``, ``[slack]``...) live in ``bot.config.platforms``, one module each. Adding a
section means adding a dataclass and a field on ``Config``; the loader, the overrides,
``Config.config_secrets()`` and ``render_config`` need no change.

Invariants
----------
- A settings object is valid once it exists: field checks (``field(metadata=_rules(...))``)
  and cross-field checks (``_check``) run in ``__post_init__``, for loaded and hand-built
  objects alike. They raise ``ConfigError`` with a path relative to the object.
- Field types are those the loader understands: ``str``, ``int``, ``float``, ``bool``,
  ``Level``, ``tuple[str, ...]``, nested settings dataclasses, tuples of them, ``Secret``,
  ``tuple[Secret, ...]`` and ``Secret | None``.
- Every name used in a field annotation is imported at run time, not only for type
  checking: the loader and the renderer resolve annotations with ``typing.get_type_hints``,
  in this module's namespace.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from bot.ci.settings import CiSettings
from bot.config.errors import ConfigError
from bot.config.platforms import (
    DiscordSettings,
    GitHubSettings,
    GitLabSettings,
    SlackSettings,
)
from bot.config.rules import (
    _at_least,
    _between,
    _cron,
    _database_url_problem,
    _http_url,
    _no_blank_items,
    _non_empty,
    _num,
    _one_of,
    _positive,
    _rules,
    _time_zone,
)
from bot.config.secret_values import Secret
from bot.config.section import _Section
from bot.messages import Level, Platform
from bot.secrets.settings import SecretsSettings


@dataclass(frozen=True, slots=True)
class BotSettings(_Section):
    name: str = field(default="chatops", metadata=_rules(_non_empty))
    public_url: str = field(default="http://127.0.0.1:8080", metadata=_rules(_http_url))
    # the budget of one comment or message (``connectors.budget``): commands taken from it,
    # and the length of one command line
    max_commands_per_event: int = field(default=10, metadata=_rules(_between(1, 100)))
    max_command_chars: int = field(default=4000, metadata=_rules(_between(100, 100_000)))


@dataclass(frozen=True, slots=True)
class ServerSettings(_Section):
    host: str = field(default="127.0.0.1", metadata=_rules(_non_empty))
    port: int = field(default=8080, metadata=_rules(_between(0, 65535)))
    shutdown_timeout: float = field(default=10.0, metadata=_rules(_positive))
    # slow clients: seconds for a request's headers (and for an idle keep-alive connection),
    # and for a webhook body once its headers are in
    header_timeout: float = field(default=10.0, metadata=_rules(_positive))
    body_timeout: float = field(default=10.0, metadata=_rules(_positive))
    # request bodies whose signature is not yet checked, read at once per front door
    max_unverified_bodies: int = field(default=4, metadata=_rules(_between(1, 256)))
    # what `chatops serve` runs (bot.loops): "all", "web" (front doors, no workers or
    # scheduler) or "worker" (workers and scheduler); --role overrides it
    role: str = field(default="all", metadata=_rules(_one_of("all", "web", "worker")))


@dataclass(frozen=True, slots=True)
class DatabaseSettings(_Section):
    """Where the inbox, outbox and schedule live.

    Exactly one of ``url`` (a literal URL without a password) and ``secret`` (the URL read
    from a reference) is set; ``resolved_url()`` returns whichever it is.
    """

    url: str = field(default="sqlite://chatops.sqlite3", metadata=_rules(secret_into="secret"))
    secret: Secret | None = field(default=None, metadata=_rules(key=False))
    # a front door that cannot store a command within this many seconds answers 503, so
    # the platform redelivers (well inside Slack's and Discord's 3 s, GitHub's 10 s)
    intake_deadline: float = field(default=2.0, metadata=_rules(_between(0.1, 2.5)))
    # /readyz says 503 when the database does not answer a ping within this many seconds
    ping_timeout: float = field(default=0.5, metadata=_rules(_between(0.05, 0.9)))

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
    # /readyz says 503 when the inbox worker or the sender has not finished a cycle for
    # this many seconds while it has work
    stalled_after: float = field(default=30.0, metadata=_rules(_positive))

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
    # seconds a forge command waits before its message gets an acknowledgement (a 👀
    # reaction); an answer sent sooner makes it pointless, so a fast command costs the
    # forge one write, not two. 0 acknowledges at once.
    acknowledge_after: float = field(default=2.0, metadata=_rules(_between(0, 60)))

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
    # the audit log is kept longer than the queues' history: who ran what, and why not
    audit_retention_days: int = field(default=90, metadata=_rules(_at_least(1)))


@dataclass(frozen=True, slots=True)
class LoggingSettings(_Section):
    level: str = field(
        default="INFO",
        metadata=_rules(_one_of("DEBUG", "INFO", "WARNING", "ERROR"), normalize=str.upper),
    )
    # "auto": text on a terminal, JSON otherwise (bot.logs decides from the stream)
    format: str = field(default="auto", metadata=_rules(_one_of("auto", "json", "text")))


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
    ci: CiSettings = field(default_factory=CiSettings)
    secrets: SecretsSettings = field(default_factory=SecretsSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)
    gitlab: GitLabSettings = field(default_factory=GitLabSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    # the sections of the loaded plugins' features, by name, in load order: each parsed by
    # the feature's own settings dataclass (``bot.features``); read with ``plugin_section``
    plugin_sections: tuple[tuple[str, _Section], ...] = field(
        default=(), metadata=_rules(key=False)
    )
    source: str | None = field(default=None, metadata=_rules(key=False))

    def plugin_section(self, name: str) -> _Section | None:
        """The settings a plugin's ``[name]`` section was loaded into, if it was."""
        return next((value for key, value in self.plugin_sections if key == name), None)

    def config_secrets(self) -> tuple[Secret, ...]:
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
