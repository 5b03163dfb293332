"""The answers of ``secrets audit``, ``secrets expiring`` and ``secrets usage``, as ``Reply`` data.

Pure builders, no I/O:

- ``audit_reply``: one table row per secret, most urgent first, with a ``class`` column
  (``expiring (7d)``, ``expired (2d ago)``), where it is defined, its expiry, when it was
  last set and last used, and the CI files and jobs that reference it; the title counts
  the classes; CI files that could not be read are named in a paragraph.
- ``expiring_reply``: tracked secrets of the channel's subscribed repositories whose expiry
  date is within the window (or already past), soonest first.
- ``usage_reply``: the secrets a change's CI files reference, per file and job, with
  the last known use of each.

Invariants: names, dates and links only, never a secret value; dates are shown as
``YYYY-MM-DD`` (UTC for moments); text is plain (renderers escape it); a missing value
is ``-``; CI files are named by file name (``ci.yml``), and a job as ``ci.yml: build``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.forge import CiRun, SecretScope
from bot.messages import Reply, Status, Table
from bot.secrets.audit import URGENCY, AuditRow, SecretClass, last_used
from bot.secrets.references import FileProblem, Reference, References
from bot.secrets.store import Tracked, Use

NONE = "-"
AUDIT_HEADERS = ("class", "secret", "scope", "expires", "rotated", "last used", "used by")
ALARMING = frozenset({SecretClass.EXPIRED, SecretClass.UNDEFINED})
WORRYING = frozenset({SecretClass.EXPIRING, SecretClass.STALE})


def audit_reply(repo: str, rows: Sequence[AuditRow], problems: Sequence[FileProblem]) -> Reply:
    """The audit of ``repo``: every secret under its class, most urgent first."""
    classes = {row.secret_class for row in rows}
    counts = [
        f"{sum(1 for row in rows if row.secret_class is kind)} {kind}"
        for kind in URGENCY
        if kind in classes
    ]
    title = f"Secrets audit for {repo}: " + (", ".join(counts) if counts else "no secrets")
    if classes & ALARMING:
        tone = Status.ERROR
    elif classes & WORRYING or problems:
        tone = Status.WARNING
    else:
        tone = Status.OK if rows else Status.INFO
    paragraphs = [_unreadable(problem) for problem in problems]
    if not rows:
        paragraphs.insert(0, f"{repo} defines no CI secrets and its CI files reference none.")
    table = Table(headers=AUDIT_HEADERS, rows=tuple(_audit_row(row) for row in rows))
    return Reply(
        title=title, status=tone, paragraphs=tuple(paragraphs), table=table if rows else None
    )


def _audit_row(row: AuditRow) -> tuple[str, ...]:
    return (
        _class_cell(row),
        row.name,
        _scope(row),
        NONE if row.expires_on is None else row.expires_on.isoformat(),
        _day(row.last_rotated),
        _day(row.last_used),
        _used_by(row.references),
    )


def _class_cell(row: AuditRow) -> str:
    if row.days_left is None or row.secret_class not in (SecretClass.EXPIRING, SecretClass.EXPIRED):
        return str(row.secret_class)
    if row.days_left < 0:
        return f"{row.secret_class} ({-row.days_left}d ago)"
    return f"{row.secret_class} ({row.days_left}d)"


def _scope(row: AuditRow) -> str:
    if row.scope is None:
        return NONE
    if row.scope in (SecretScope.ENVIRONMENT, SecretScope.ORGANIZATION):
        return f"{row.scope} {row.scope_name}"
    return str(row.scope)


def _used_by(references: Sequence[Reference]) -> str:
    """``ci.yml: build, test; deploy.yml``: files, each with its jobs (none: the whole file)."""
    jobs: dict[str, list[str]] = {}
    for reference in references:
        listed = jobs.setdefault(_file_name(reference.path), [])
        if reference.job and reference.job not in listed:
            listed.append(reference.job)
    if not jobs:
        return NONE
    return "; ".join(
        f"{name}: {', '.join(names)}" if names else name for name, names in sorted(jobs.items())
    )


def _unreadable(problem: FileProblem) -> str:
    return f"{problem.path} could not be read for references: {problem.reason}."


@dataclass(frozen=True, slots=True)
class Expiring:
    """A tracked secret of a subscribed repository, and its days left (negative: expired)."""

    tracked: Tracked
    days_left: int


def expiring_reply(found: Sequence[Expiring], within_days: int, repos: Sequence[str]) -> Reply:
    """Tracked secrets expiring within ``within_days`` across ``repos``, soonest first."""
    if not repos:
        return Reply(
            title="This channel is not subscribed to any repository",
            paragraphs=(
                "Say `subscribe OWNER/REPO` here, then `secrets expiring` lists the tracked "
                "secrets of the repositories this channel follows.",
            ),
        )
    window = f"within {within_days} day{'s' if within_days != 1 else ''}"
    scanned = f"Repositories: {', '.join(repos)}."
    if not found:
        return Reply(
            title=f"No tracked secret expires {window}",
            status=Status.OK,
            paragraphs=(scanned,),
        )
    ordered = sorted(found, key=lambda e: (e.days_left, e.tracked.repo, e.tracked.name))
    expired = any(entry.days_left < 0 for entry in ordered)
    rows = tuple(
        (
            entry.tracked.name,
            entry.tracked.repo,
            entry.tracked.expires_on.isoformat() if entry.tracked.expires_on else NONE,
            _days_left(entry.days_left),
            entry.tracked.owner or NONE,
            entry.tracked.rotate_url or NONE,
        )
        for entry in ordered
    )
    return Reply(
        title=f"{len(ordered)} tracked secret{'s' if len(ordered) != 1 else ''} expiring {window}",
        status=Status.ERROR if expired else Status.WARNING,
        paragraphs=(scanned,),
        table=Table(headers=("secret", "repo", "expires", "left", "owner", "rotate"), rows=rows),
    )


def _days_left(days: int) -> str:
    if days < 0:
        return f"expired {-days}d ago"
    if days == 0:
        return "today"
    return f"{days}d"


def usage_reply(
    label: str,
    references: References,
    uses: Mapping[str, Use],
    latest_runs: Mapping[str, CiRun],
) -> Reply:
    """The secrets ``label``'s CI files reference, per file and job, with their last use."""
    by_name = references.by_name()
    paragraphs = [_unreadable(problem) for problem in references.problems]
    if not by_name:
        paragraphs.insert(0, f"The CI files of {label} reference no secrets.")
        return Reply(title=f"Secrets used by {label}: none", paragraphs=tuple(paragraphs))
    rows: list[tuple[str, ...]] = []
    for name, refs in sorted(by_name.items()):
        used = last_used(uses.get(name), refs, latest_runs)
        for reference in refs:
            rows.append((name, _file_name(reference.path), reference.job or NONE, _day(used)))
    count = len(by_name)
    return Reply(
        title=f"Secrets used by {label}: {count}",
        status=Status.WARNING if references.problems else Status.INFO,
        paragraphs=tuple(paragraphs),
        table=Table(headers=("secret", "file", "job", "last used"), rows=tuple(rows)),
    )


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _day(moment: datetime | date | None) -> str:
    if moment is None:
        return NONE
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).date().isoformat()
    return moment.isoformat()
