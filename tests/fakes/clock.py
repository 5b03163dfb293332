"""A clock that moves only when a test moves it.

It starts from the real time (to the second) unless told otherwise, so that what a
test does with it agrees with anything that reads the wall clock: another process's
leases, signed timestamps, App JWTs, APScheduler. A test that needs a particular
moment (an expiry date, a weekday) passes ``start`` and then never mixes that clock
with the wall clock. Move it with ``advance``; never sleep to let time pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


def utc_minute(moment: datetime) -> str:
    """A moment the way replies show it, to the minute: ``2026-11-21 12:02 UTC``."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
