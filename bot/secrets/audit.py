"""Class each CI secret of a repository by what needs doing about it. Pure, no I/O.

``audit(facts, ...)`` joins what the forge says (``CiSecret``: defined secrets and when they
were set; ``CiRun``: the newest run of each CI file), what the CI files say
(``References``), and what the bot recorded (``Tracked`` expiry dates, ``Use`` reports)
into one ``AuditRow`` per defined secret (per scope: the same name at the repository and
the organization is two rows) and one per name referenced but defined nowhere.

Classes, in the order of urgency that picks a row's one primary class (the first that
applies) and sorts the rows:

1. ``expired``: the tracked expiry date is before today;
2. ``expiring``: it is today or within ``expiring_within_days`` (``days_left`` says when);
3. ``undefined``: CI references the name but no scope defines it (CI gets an empty string);
4. ``stale``: not set (rotated) for ``stale_after_days`` or more; unknown dates are not stale;
5. ``unused``: defined, but no CI file references it;
6. ``untracked``: no expiry date is known to the bot;
7. ``ok``: none of the above.

Rows sort by class, then days left (soonest first, unknown last), then name, then scope.
``last_used`` is the later of a use reported to the bot and the start of the newest run
of a CI file that references the name. Names match exactly, then case-insensitively (a
tracked ``npm_token`` is GitHub's ``NPM_TOKEN``).

Invariants: no values anywhere, only names and dates; the result depends only on the
arguments; ``GITHUB_TOKEN`` is never undefined (``references`` never lists it).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

from bot.forge import CiRun, CiSecret, SecretScope
from bot.secrets.references import Reference, References
from bot.secrets.store import Tracked, Use


class SecretClass(enum.StrEnum):
    EXPIRED = "expired"
    EXPIRING = "expiring"
    UNDEFINED = "undefined"
    STALE = "stale"
    UNUSED = "unused"
    UNTRACKED = "untracked"
    OK = "ok"


T = TypeVar("T")

URGENCY: tuple[SecretClass, ...] = tuple(SecretClass)
SCOPE_ORDER: tuple[SecretScope, ...] = tuple(SecretScope)


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """Everything the audit of one repository reads; gathered by ``bot.secrets.inventory``."""

    repo: str
    secrets: Sequence[CiSecret] = ()
    references: References = field(default_factory=References)
    tracked: Sequence[Tracked] = ()
    uses: Mapping[str, Use] = field(default_factory=dict)
    latest_runs: Mapping[str, CiRun] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One secret (or one undefined name) and its class; ``scope`` is None when undefined."""

    name: str
    secret_class: SecretClass
    scope: SecretScope | None = None
    scope_name: str = ""
    days_left: int | None = None
    expires_on: date | None = None
    last_rotated: datetime | None = None
    last_used: datetime | None = None
    references: tuple[Reference, ...] = ()


def audit(
    facts: AuditFacts, today: date, *, stale_after_days: int, expiring_within_days: int
) -> list[AuditRow]:
    """One row per defined secret and per undefined name, most urgent first."""
    by_name = facts.references.by_name()
    referenced = _ByName(by_name.items())
    tracked = _ByName((item.name, item) for item in facts.tracked)
    uses = _ByName((item.name, item) for item in facts.uses.values())
    defined = {secret.name.upper() for secret in facts.secrets}
    rows: list[AuditRow] = []

    def row(name: str, secret: CiSecret | None) -> AuditRow:
        refs = referenced.get(name) or ()
        expiry = tracked.get(name)
        expires_on = expiry.expires_on if expiry is not None else None
        days_left = None if expires_on is None else (expires_on - today).days
        rotated = None if secret is None else secret.updated_at or secret.created_at
        classes = _classes(
            defined=secret is not None,
            referenced=bool(refs),
            days_left=days_left,
            rotated_days_ago=None if rotated is None else (today - rotated.date()).days,
            stale_after_days=stale_after_days,
            expiring_within_days=expiring_within_days,
        )
        return AuditRow(
            name=name,
            secret_class=next(c for c in URGENCY if c in classes),
            scope=None if secret is None else secret.scope,
            scope_name="" if secret is None else secret.scope_name,
            days_left=days_left,
            expires_on=expires_on,
            last_rotated=rotated,
            last_used=last_used(uses.get(name), refs, facts.latest_runs),
            references=refs,
        )

    rows.extend(row(secret.name, secret) for secret in facts.secrets)
    rows.extend(row(name, None) for name in by_name if name.upper() not in defined)
    rows.sort(key=_urgency_key)
    return rows


def _classes(
    *,
    defined: bool,
    referenced: bool,
    days_left: int | None,
    rotated_days_ago: int | None,
    stale_after_days: int,
    expiring_within_days: int,
) -> set[SecretClass]:
    found = {SecretClass.OK}
    if days_left is None:
        found.add(SecretClass.UNTRACKED)
    elif days_left < 0:
        found.add(SecretClass.EXPIRED)
    elif days_left <= expiring_within_days:
        found.add(SecretClass.EXPIRING)
    if not defined:
        found.add(SecretClass.UNDEFINED)
    elif not referenced:
        found.add(SecretClass.UNUSED)
    if rotated_days_ago is not None and rotated_days_ago >= stale_after_days:
        found.add(SecretClass.STALE)
    return found


def last_used(
    use: Use | None, references: Sequence[Reference], latest_runs: Mapping[str, CiRun]
) -> datetime | None:
    moments = [] if use is None else [use.used_at]
    for path in {reference.path for reference in references}:
        run = latest_runs.get(path)
        moment = None if run is None else run.started_at or run.finished_at
        if moment is not None:
            moments.append(moment)
    return max(moments, default=None)


def _urgency_key(row: AuditRow) -> tuple[int, int, int, str, int, str]:
    scope = SCOPE_ORDER.index(row.scope) if row.scope is not None else -1
    unknown = row.days_left is None
    return (
        URGENCY.index(row.secret_class),
        int(unknown),
        0 if row.days_left is None else row.days_left,
        row.name,
        scope,
        row.scope_name,
    )


class _ByName(Generic[T]):
    """Entries by name: exact match first, else the one entry whose name differs in case."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, T] = {}
        folded: dict[str, list[T]] = {}
        for name, entry in entries:
            self._exact[name] = entry
            folded.setdefault(name.upper(), []).append(entry)
        self._folded = {key: values[0] for key, values in folded.items() if len(values) == 1}

    def get(self, name: str) -> T | None:
        if name in self._exact:
            return self._exact[name]
        return self._folded.get(name.upper())
