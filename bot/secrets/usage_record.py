"""Storing a usage report: the last use of each secret, and the expiry dates CI knows.

A report records the last use of each named secret (``SecretUses.record``, source
``api``) and, for the names given an expiry date, tracks that date
(``SecretRegistry.track``, source ``usage``).

Invariants: repeating a report changes nothing (``SecretUses.record`` keeps the latest
use; an expiry date already known is not tracked again). An expiry date from CI replaces
the tracked one (CI knows the current token) but keeps its owner and rotation link. Only
names, the reporter's ``used_by`` and link are written: never a value. Nothing here holds
module state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.secrets.store import SecretRegistry, SecretUses
from bot.secrets.usage_report import UsageReport

__all__ = ["SOURCE_TRACK", "SOURCE_USE", "UsageResult", "record_report"]

SOURCE_USE = "api"
SOURCE_TRACK = "usage"


@dataclass(frozen=True, slots=True)
class UsageResult:
    """What a report changed."""

    recorded: tuple[str, ...]
    unchanged: tuple[str, ...]
    tracked: tuple[str, ...]


async def record_report(
    report: UsageReport,
    *,
    now: datetime,
    registry: SecretRegistry,
    uses: SecretUses,
) -> UsageResult:
    """Write the report to the store; repeating it changes nothing."""
    used_at = report.used_at or now
    recorded: list[str] = []
    unchanged: list[str] = []
    for name in report.secrets:
        wrote = await uses.record(
            report.forge,
            report.repo,
            name,
            used_by=report.used_by,
            url=report.url,
            used_at=used_at,
            source=SOURCE_USE,
        )
        (recorded if wrote else unchanged).append(name)
    tracked: list[str] = []
    for name, expires_on in sorted(report.expires.items()):
        known = await registry.get(report.forge, report.repo, name)
        if known is not None and known.expires_on == expires_on:
            continue
        await registry.track(
            report.forge,
            report.repo,
            name,
            expires_on=expires_on,
            owner=None if known is None else known.owner,
            rotate_url=None if known is None else known.rotate_url,
            source=SOURCE_TRACK,
            set_by=report.used_by,
            now=now,
        )
        tracked.append(name)
    return UsageResult(recorded=tuple(recorded), unchanged=tuple(unchanged), tracked=tuple(tracked))
