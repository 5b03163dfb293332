"""``ConfigError``: the one exception for an invalid configuration.

Invariants
----------
- Every configuration problem, found anywhere in this package, is a ``ConfigError``.
- ``path`` is the dotted key path (``permissions.grants[1].level``; ``""`` for file-level
  problems), suffixed with ``(from VARIABLE)`` when an environment override supplied the
  value. Settings objects raise it with a path relative to themselves; the loader prefixes
  its own.
- ``reason`` never contains a secret's value.
- No module state: importing this module only defines things.
"""

from __future__ import annotations


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
