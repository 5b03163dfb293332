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
loader, the overrides, ``Config.config_secrets()`` and ``render_config`` need no change.
A plugin's section is a settings dataclass its feature declares (``bot.features``); the
loader is given those of the loaded plugins and keeps them in ``Config.plugin_sections``.

Layout
------
Import the public names from this package; the modules below are its implementation.

- ``errors``: ``ConfigError``, raised for every invalid configuration; ``ConfigErrors``
  when there are several (every problem is reported at once).
- ``secrets``: ``Secret`` and the ``env:NAME`` / ``file:PATH`` reference syntax.
- ``rules``: per-field rules (``field(metadata=_rules(...))``) and the checks they use.
  Plugins' settings use them, and ``Section``, under public names (``checks``,
  ``at_least``, ``between``, ``positive``, ``one_of``, ``non_empty``, ``http_url``).
- ``settings``: the settings dataclasses and ``Config``.
- ``ci``: ``[ci]``, the CI commands' and run tracker's settings (``CiSettings``).
- ``ci_secrets``: ``[secrets]``, the secrets commands' and expiry alerts' settings
  (``SecretsSettings``).
- ``schema``: how a settings dataclass maps onto TOML (keys, type hints, key paths).
- ``overrides``: ``CHATOPS__<SECTION>__<KEY>`` environment overrides.
- ``loader``: ``parse_config`` and ``load_config``.
- ``render``: ``render_config``.
- ``serving``: ``serve_problems``, what the web server needs beyond a valid configuration
  (the platforms' start-up conditions), for ``serve`` and ``check-config``.

Dependencies run one way: ``errors``, ``secrets`` and ``rules`` import nothing from the
package; ``settings`` builds on them; ``schema``, ``overrides``, ``loader`` and ``render`` build
on ``settings``.

What this package does not do
-----------------------------
- It does not decide which file to load (``CHATOPS_CONFIG``, command-line flags): the CLI does.
- It never reads ``os.environ``; the environment is passed in as a mapping.
- It does not watch or reload the file, open the database, resolve relative SQLite paths
  (they stay relative to the working directory at use), or check that hosts are reachable.
- It does not define the connectors' sections; they come with their connectors.

Invariants
----------
- A settings object is valid once it exists, whether loaded or built by hand (``settings``).
- Every failure is a ``ConfigError`` naming the dotted key path (``errors``, ``loader``).
- Unknown keys are errors; nothing is silently ignored (``loader``, ``overrides``).
- Secrets are only ever given by reference; their values are read once, at load time, and
  never appear in ``repr``, ``str``, ``render_config`` output or error messages (``secrets``).
- No module state: importing this package or any of its modules only defines things.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.ci.settings import CiSettings, CiWorkflow
    from bot.config.errors import ConfigError, ConfigErrors
    from bot.config.loader import load_config, parse_config
    from bot.config.overrides import ENV_PREFIX
    from bot.config.render import render_config
    from bot.config.rules import (
        Check,
        at_least,
        between,
        checks,
        http_url,
        non_empty,
        one_of,
        positive,
    )
    from bot.config.secret_values import Secret
    from bot.config.section import Section
    from bot.config.settings import (
        BotSettings,
        Config,
        DatabaseSettings,
        LoggingSettings,
        OutboxSettings,
        PermissionGrant,
        PermissionsSettings,
        SchedulerSettings,
        ServerSettings,
        ShellSettings,
        WorkerSettings,
    )
    from bot.secrets.settings import SecretsSettings, TrackedSecretEntry, UsageToken

# where each re-exported name lives; imported on first use, so that importing one module of
# this package (``bot.config.errors``, say) does not import the settings of every feature,
# which import that module in turn
_EXPORTS = {
    "BotSettings": "bot.config.settings",
    "Check": "bot.config.rules",
    "CiSettings": "bot.ci.settings",
    "CiWorkflow": "bot.ci.settings",
    "Config": "bot.config.settings",
    "ConfigError": "bot.config.errors",
    "ConfigErrors": "bot.config.errors",
    "DatabaseSettings": "bot.config.settings",
    "ENV_PREFIX": "bot.config.overrides",
    "LoggingSettings": "bot.config.settings",
    "OutboxSettings": "bot.config.settings",
    "PermissionGrant": "bot.config.settings",
    "PermissionsSettings": "bot.config.settings",
    "SchedulerSettings": "bot.config.settings",
    "Secret": "bot.config.secret_values",
    "SecretsSettings": "bot.secrets.settings",
    "Section": "bot.config.section",
    "ServerSettings": "bot.config.settings",
    "ShellSettings": "bot.config.settings",
    "TrackedSecretEntry": "bot.secrets.settings",
    "UsageToken": "bot.secrets.settings",
    "WorkerSettings": "bot.config.settings",
    "at_least": "bot.config.rules",
    "between": "bot.config.rules",
    "checks": "bot.config.rules",
    "http_url": "bot.config.rules",
    "load_config": "bot.config.loader",
    "non_empty": "bot.config.rules",
    "one_of": "bot.config.rules",
    "parse_config": "bot.config.loader",
    "positive": "bot.config.rules",
    "render_config": "bot.config.render",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "ENV_PREFIX",
    "BotSettings",
    "Check",
    "CiSettings",
    "CiWorkflow",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "DatabaseSettings",
    "LoggingSettings",
    "OutboxSettings",
    "PermissionGrant",
    "PermissionsSettings",
    "SchedulerSettings",
    "Secret",
    "SecretsSettings",
    "Section",
    "ServerSettings",
    "ShellSettings",
    "TrackedSecretEntry",
    "UsageToken",
    "WorkerSettings",
    "at_least",
    "between",
    "checks",
    "http_url",
    "load_config",
    "non_empty",
    "one_of",
    "parse_config",
    "positive",
    "render_config",
]
