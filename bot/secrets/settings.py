"""``[secrets]``: the CI secrets commands, the expiry registry and the scheduled expiry alerts.

- ``alert_cron`` / ``timezone``: when the expiry-alert job runs (a five-field crontab line
  read in that time zone). It also runs once at start-up, to catch up after downtime.
- ``thresholds_days``: how many days before an expiry date an alert is sent, once per
  threshold (0 is the day it expires).
- ``stale_after_days``: a secret not rotated for this long is ``stale`` in ``secrets audit``.
- ``expiring_within_days``: the default window of ``secrets expiring``.
- ``[[secrets.tracked]]``: expiry dates known in advance, as ``secrets track`` would set them.
- ``[[secrets.usage_tokens]]``: the bearer token with which a repository's CI may report
  secret usage to ``POST /api/usage``; one per repository, given by reference
  (``env:NAME`` or ``file:PATH``) like every secret in the configuration.

Invariants: repository names are stored in lower case; thresholds are distinct and kept
largest first; at most one tracked entry per forge, repository and name, and one usage
token per forge and repository. No module state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.ci.settings import _repository
from bot.config.errors import ConfigError
from bot.config.rules import _at_least, _cron, _http_url, _non_empty, _one_of, _rules, _time_zone
from bot.config.secret_values import Secret
from bot.config.section import _Section
from bot.messages import Forge

_FORGES = tuple(forge.value for forge in Forge)


def _iso_date(value: str) -> str | None:
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"expected a date such as '2027-01-31', got {value!r}"
    return None


def _optional_url(value: str) -> str | None:
    return None if value == "" else _http_url(value)


def _thresholds(values: tuple[int, ...]) -> str | None:
    if not values:
        return "must name at least one threshold, such as [30, 7, 1, 0]"
    if any(value < 0 for value in values):
        return f"must be 0 or more days, got {list(values)}"
    if len(set(values)) != len(values):
        return f"must not repeat a threshold, got {list(values)}"
    return None


def _largest_first(values: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(values, reverse=True))


@dataclass(frozen=True, slots=True)
class TrackedSecretEntry(_Section):
    """An expiry date known in advance for one secret of one repository."""

    repo: str = field(metadata=_rules(_repository, normalize=str.lower))
    name: str = field(metadata=_rules(_non_empty))
    expires: str = field(metadata=_rules(_iso_date))
    owner: str = ""
    rotate_url: str = field(default="", metadata=_rules(_optional_url))
    forge: str = field(
        default=Forge.GITHUB.value, metadata=_rules(_one_of(*_FORGES), normalize=str.lower)
    )

    @property
    def expires_on(self) -> date:
        return date.fromisoformat(self.expires)


@dataclass(frozen=True, slots=True)
class UsageToken(_Section):
    """The bearer token a repository's CI presents to ``POST /api/usage``."""

    repo: str = field(metadata=_rules(_repository, normalize=str.lower))
    token: Secret | None = None
    forge: str = field(
        default=Forge.GITHUB.value, metadata=_rules(_one_of(*_FORGES), normalize=str.lower)
    )

    def _check(self) -> None:
        if self.token is None:
            raise ConfigError("token", "give the token by reference: env:NAME or file:PATH")


@dataclass(frozen=True, slots=True)
class SecretsSettings(_Section):
    alert_cron: str = field(default="0 9 * * *", metadata=_rules(_cron))
    timezone: str = field(default="UTC", metadata=_rules(_time_zone))
    thresholds_days: tuple[int, ...] = field(
        default=(30, 7, 1, 0), metadata=_rules(_thresholds, normalize=_largest_first)
    )
    stale_after_days: int = field(default=90, metadata=_rules(_at_least(1)))
    expiring_within_days: int = field(default=30, metadata=_rules(_at_least(1)))
    tracked: tuple[TrackedSecretEntry, ...] = ()
    usage_tokens: tuple[UsageToken, ...] = ()

    def _check(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        for index, entry in enumerate(self.tracked):
            key = (entry.forge, entry.repo, entry.name)
            if key in seen:
                raise ConfigError(
                    f"tracked[{index}].name",
                    f"{entry.name!r} of {entry.forge} repository {entry.repo!r} is already "
                    "tracked; give one entry per secret",
                )
            seen.add(key)
        repos: set[tuple[str, str]] = set()
        for index, usage in enumerate(self.usage_tokens):
            if (usage.forge, usage.repo) in repos:
                raise ConfigError(
                    f"usage_tokens[{index}].repo",
                    f"{usage.forge} repository {usage.repo!r} already has a usage token; "
                    "give one per repository",
                )
            repos.add((usage.forge, usage.repo))
