"""``_Section``: the base of every settings dataclass.

Construction runs each field's rules (``bot.config.rules``) and reports every field that
breaks one (the first broken rule of each), then, when all fields pass, the class's
cross-field ``_check``, which may raise a ``ConfigErrors`` for several problems.
Errors carry a path relative to the object; the loader prefixes its own.
``Section`` is the same class under the name plugins use (``bot.config.Section``): a
plugin's settings derive from it like the built-in sections.
No module state: importing this module only defines things.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from bot.config.errors import ConfigError, combine
from bot.config.rules import _rules_of


@dataclass(frozen=True, slots=True)
class _Section:
    """Base of every settings dataclass: runs field rules, then ``_check``, on construction.

    Errors raised here carry a path relative to the object; the loader prefixes its own.
    """

    def __post_init__(self) -> None:
        errors: list[ConfigError] = []
        for f in fields(self):
            rules = _rules_of(f)
            value = getattr(self, f.name)
            if rules.normalize is not None:
                value = rules.normalize(value)
                object.__setattr__(self, f.name, value)
            reason = next((r for check in rules.checks if (r := check(value))), None)
            if reason is not None:
                errors.append(ConfigError(f.name, reason))
        if errors:  # the cross-field checks assume valid fields
            raise combine(errors)
        self._check()

    def _check(self) -> None:
        """Cross-field invariants: raise ``ConfigError(relative_path, reason)``."""


# the public name, for plugins' settings (``bot.features``, README "Extending")
Section = _Section
