"""Refused requests, counted always and logged sparingly.

Intent
    Every refusal at a front door (bad signature, oversized body, malformed JSON, a name a
    payload should not hold...) is worth knowing about, but an attacker decides how many
    there are: 1,500 bad signatures a second must not become 1,500 log lines a second. So
    ``Rejections.reject(reason)``:

    - always adds one to the counter ``chatops_rejected_requests_total{door,reason}``;
    - logs a warning for the first refusal of that reason, then at most once per
      ``interval`` seconds, each time with how many were refused since the last line.

Invariants
    - ``reason`` is one of a door's fixed codes (``bad_signature``, ``too_large``...): it is
      a metric label, so free text (which would grow the series without bound) never goes
      there; details go into ``detail``, which is only logged.
    - The log lines per reason and door are bounded by the elapsed time / ``interval`` + 1,
      whatever the request rate.
    - Time comes from the injected monotonic clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.metrics import Counter


@dataclass
class _Window:
    logged_at: float
    suppressed: int = 0


@dataclass
class Rejections:
    door: str  # github, gitlab, slack, discord
    counter: Counter
    monotonic: Callable[[], float]
    log: logging.Logger
    interval: float = 60.0
    _windows: dict[str, _Window] = field(default_factory=dict, repr=False)

    def reject(self, reason: str, detail: str = "") -> None:
        """Count one refused request; log it unless this reason was logged recently."""
        self.counter.inc(door=self.door, reason=reason)
        now = self.monotonic()
        window = self._windows.get(reason)
        if window is not None and now - window.logged_at < self.interval:
            window.suppressed += 1
            return
        suppressed = window.suppressed if window is not None else 0
        self._windows[reason] = _Window(logged_at=now)
        more = f" (and {suppressed} more since the last report)" if suppressed else ""
        self.log.warning(
            "refused a %s request: %s%s%s",
            self.door,
            reason,
            f": {detail}" if detail else "",
            more,
            extra={"door": self.door, "reason": reason, "suppressed": suppressed},
        )
