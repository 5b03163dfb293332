"""Environment overrides: ``CHATOPS__<SECTION>__<KEY>=value`` replaces one key of the file.

The part after ``ENV_PREFIX`` names a key of the ``Config`` tree, one ``__``-separated
part per level, case-insensitively (``CHATOPS__SERVER__PORT`` sets ``server.port``). The
text is converted by the field's type (booleans accept true/false, yes/no, 1/0; arrays are
comma-separated); the loader then checks the result like any value from the file.

Invariants
----------
- The environment is passed in as a mapping; ``os.environ`` is never read.
- The parsed TOML data is not modified: overrides apply to a copy of its tables.
- The sections of loaded plugins (``sections``) are overridden like the built-in ones.
- Every overridden dotted path is recorded with its variable, so that errors about the
  value name the variable.
- A variable under the prefix that does not name a single key (unknown names, a table, an
  array of tables) is a ``ConfigError``; nothing is silently ignored.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.config.errors import ConfigError
from bot.config.schema import (
    _describe,
    _is_table,
    _is_table_array,
    _keyed_fields,
    _optional_inner,
    _tuple_item,
    _unknown_key,
)
from bot.config.section import _Section
from bot.config.settings import Config

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


ENV_PREFIX = "CHATOPS__"
_TRUE_WORDS = ("true", "1", "yes")
_FALSE_WORDS = ("false", "0", "no")


def _copy_tables(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _copy_tables(value) if isinstance(value, Mapping) else value
        for key, value in data.items()
    }


def _override_value(hint: Any, text: str, label: str) -> Any:
    """Convert an override's text by the field's type; the loader then validates it."""
    hint = _optional_inner(hint) or hint
    if hint is bool:
        word = text.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise ConfigError(label, f"expected true or false (or yes/no, 1/0), got {text!r}")
    if hint is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(label, f"expected an integer, got {text!r}") from None
    if hint is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConfigError(label, f"expected a number, got {text!r}") from None
    if _tuple_item(hint) is not None:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text  # str, Level, Secret: the loader converts and checks them


def _apply_overrides(
    data: Mapping[str, Any],
    environ: Mapping[str, str],
    sections: Mapping[str, type[_Section]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply ``CHATOPS__<SECTION>__<KEY>`` variables to a copy of ``data``; ``sections``
    are the loaded plugins' settings by section name, overridden like built-in sections.

    Returns the merged data and, for each overridden dotted path, the variable that set it.
    """
    sections = sections or {}
    merged = _copy_tables(data)
    origins: dict[str, str] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        names = variable[len(ENV_PREFIX) :].lower().split("__")
        if not all(names):
            raise ConfigError(
                "",
                f"environment variable {variable} does not name a setting; "
                "write CHATOPS__<SECTION>__<KEY>, e.g. CHATOPS__SERVER__PORT",
            )
        path = ".".join(names)
        label = f"{path} (from {variable})"
        if path in origins:
            raise ConfigError(label, f"also set by {origins[path]}")
        cls: type[DataclassInstance] = Config
        table = merged
        for depth, name in enumerate(names):
            every_hint = typing.get_type_hints(cls)
            hints: dict[str, Any] = {key: every_hint[key] for key in _keyed_fields(cls)}
            if depth == 0:
                hints.update(sections)
            last = depth == len(names) - 1
            if name not in hints:
                reason = _unknown_key(name, hints)
                raise ConfigError(label, reason if last else f"{name!r}: {reason}")
            hint = hints[name]
            if _is_table_array(hint):
                raise ConfigError(
                    label,
                    "is an array of tables, which cannot be overridden from the environment; "
                    "edit the config file",
                )
            if _is_table(hint):
                if last:
                    first = next(iter(_keyed_fields(hint)), "key")
                    raise ConfigError(
                        label,
                        "is a table; override its keys one at a time, "
                        f"e.g. {variable}__{first.upper()}",
                    )
                nested = table.setdefault(name, {})
                if not isinstance(nested, dict):
                    here = ".".join(names[: depth + 1])
                    raise ConfigError(here, f"expected a table, got {_describe(nested)}")
                cls, table = hint, nested
            elif not last:
                raise ConfigError(label, f"{name!r} is a value, not a table")
            else:
                table[name] = _override_value(hint, environ[variable], label)
                origins[path] = variable
    return merged, origins
