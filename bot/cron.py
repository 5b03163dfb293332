"""Crontab lines, read once, the way crontab reads them, into APScheduler triggers.

The one parser for every ``*_cron`` setting: configuration validation calls ``parse``
(and so fails at load time, naming the key) and the scheduler calls ``trigger`` on the
same text, so what passes validation is exactly what runs.

Five fields, "minute hour day-of-month month day-of-week", each ``*``, a number, a
three-letter name (months, weekdays), a range ``a-b``, a step ``/n`` and lists ``a,b``.
Day of the week counts as crontab does: 0 and 7 are Sunday, 1 is Monday. APScheduler 3
counts 0 as Monday, so the field is handed to it as weekday names (``0 9 * * 0`` becomes
``day_of_week="sun"``), never as numbers.

Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# crontab's order: 0 (and 7) is Sunday
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, lowest, highest, accepted names
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, WEEKDAYS),
)
ITEM = re.compile(r"(\*|\d+|[A-Za-z]{3})(?:-(\d+|[A-Za-z]{3}))?(?:/(\d+))?")


class CronError(ValueError):
    """Why a crontab line cannot be read; the text is for the operator."""


@dataclass(frozen=True, slots=True)
class Crontab:
    """The five fields in APScheduler's terms (day of week as names)."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str


def parse(line: str) -> Crontab:
    parts = line.split()
    if len(parts) != len(FIELDS):
        raise CronError(
            "expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {line!r}"
        )
    for text, spec in zip(parts, FIELDS, strict=True):
        for item in text.split(","):
            _check_item(text, item, spec)
    minute, hour, day, month, weekday = parts
    return Crontab(minute, hour, day, month, _weekday_names(weekday))


def trigger(line: str, timezone: str) -> CronTrigger:
    """The trigger that runs ``line`` in ``timezone``; ``CronError`` if it cannot."""
    fields = parse(line)
    try:
        return CronTrigger(
            minute=fields.minute,
            hour=fields.hour,
            day=fields.day,
            month=fields.month,
            day_of_week=fields.day_of_week,
            timezone=timezone,
        )
    except ValueError as exc:  # what APScheduler still refuses, such as "31 of February"
        raise CronError(f"{line!r}: {exc}") from None


def _check_item(text: str, item: str, spec: tuple[str, int, int, tuple[str, ...]]) -> None:
    name, low, high, names = spec
    match = ITEM.fullmatch(item)
    if match is None:
        raise CronError(
            f"{name} field {text!r} is not valid: use digits, *, ranges (a-b), "
            "steps (/n), lists (a,b) or 3-letter names"
        )
    start, stop, step = match[1], match[2], match[3]
    for atom in (start, stop):
        if atom is None or atom == "*":
            continue
        if atom.isdigit() and not low <= int(atom) <= high:
            raise CronError(f"{name} field {text!r}: {atom} is outside {low}-{high}")
        if atom.isalpha() and atom.lower() not in names:
            expected = f"one of {', '.join(names)}" if names else "numbers only"
            raise CronError(f"{name} field {text!r}: unknown name {atom!r}; expected {expected}")
    if start == "*" and stop is not None:
        raise CronError(f"{name} field {text!r}: * cannot start a range")
    first, last = _position(start, names), _position(stop, names)
    if first is not None and last is not None and first > last:
        raise CronError(f"{name} field {text!r}: the range {start}-{stop} runs backwards")
    if step is not None and int(step) == 0:
        raise CronError(f"{name} field {text!r}: a step must be at least 1")


def _position(atom: str | None, names: tuple[str, ...]) -> int | None:
    if atom is None or atom == "*":
        return None
    if atom.isdigit():
        return int(atom)
    offset = 1 if names is MONTHS else 0
    return names.index(atom.lower()) + offset


def _weekday_names(text: str) -> str:
    """A checked day-of-week field as APScheduler names: every day it selects, in order."""
    if text == "*":
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        match = ITEM.fullmatch(item)
        assert match is not None  # checked by _check_item
        first = _position(match[1], WEEKDAYS)
        last = _position(match[2], WEEKDAYS)
        if first is None:  # "*" or "*/n": the whole week
            first, last = 0, 6
        elif last is None:  # "a" alone, or "a/n": from a to Saturday
            last = first if match[3] is None else 6
        days.update(day % 7 for day in range(first, last + 1, int(match[3] or 1)))
    return ",".join(WEEKDAYS[day] for day in sorted(days))
