"""``ConfigError``: the one exception for an invalid configuration.

Invariants
----------
- Every configuration problem, found anywhere in this package, is a ``ConfigError``.
- ``path`` is the dotted key path (``permissions.grants[1].level``; ``""`` for file-level
  problems), suffixed with ``(from VARIABLE)`` when an environment override supplied the
  value. Settings objects raise it with a path relative to themselves; the loader prefixes
  its own.
- ``reason`` never contains a secret's value.
- Every problem found is reported, not only the first: a configuration with several is
  one ``ConfigErrors`` (a ``ConfigError`` whose ``errors`` are the single ones, in the
  order of the file's sections and keys); ``combine`` builds it, ``each`` takes it apart.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

from collections.abc import Sequence


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


class ConfigErrors(ConfigError):
    """Several configuration problems at once; ``path`` and ``reason`` are the first's.

    Printed as a count, then one ``path: reason`` line per problem.
    """

    errors: tuple[ConfigError, ...]

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        super().__init__(errors[0].path, errors[0].reason)
        self.errors = tuple(errors)

    def __str__(self) -> str:
        lines = "".join(f"\n  {ConfigError.__str__(error)}" for error in self.errors)
        return f"{len(self.errors)} errors:{lines}"


def each(error: ConfigError) -> tuple[ConfigError, ...]:
    """The single problems in ``error``."""
    return error.errors if isinstance(error, ConfigErrors) else (error,)


def combine(errors: Sequence[ConfigError]) -> ConfigError:
    """One error for ``errors`` (not empty): itself when alone, else a ``ConfigErrors``."""
    flat = [single for error in errors for single in each(error)]
    return flat[0] if len(flat) == 1 else ConfigErrors(flat)
