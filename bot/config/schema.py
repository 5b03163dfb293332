"""How settings dataclasses map onto TOML; shared by the loader, overrides and renderer.

A settings dataclass is a table; its fields are its keys, except those whose rules say
``key=False``. A field's type hint says what it holds: a table (``_is_table``), an array of
tables (``_is_table_array``), an array (``_tuple_item``), an optional value
(``_optional_inner``) or a scalar. Key paths are dotted, with array indexes in brackets
(``permissions.grants[1].level``), and built with ``_join``. ``_kind``, ``_describe`` and
``_unknown_key`` phrase values and keys for error messages. ``_unreadable`` finds a field
whose type the loader cannot read, so that a plugin's settings schema is refused when it is
loaded, not when a user first sets that key.

Invariants
----------
- ``_describe`` may quote the value, so it is only for values that are not secrets; where a
  secret belongs, use ``_kind``, which never quotes.
- Pure functions; no module state: importing this module only defines things.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from bot.config.rules import _rules_of
from bot.config.secret_values import Secret
from bot.messages import Level

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def _keyed_fields(cls: type[DataclassInstance]) -> dict[str, dataclasses.Field[Any]]:
    """The fields of ``cls`` that are TOML keys, by name, in declaration order."""
    return {f.name: f for f in fields(cls) if _rules_of(f).key}


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _is_table(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _tuple_item(hint: Any) -> Any | None:
    """``X`` for ``tuple[X, ...]``, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _is_table_array(hint: Any) -> bool:
    item = _tuple_item(hint)
    return item is not None and _is_table(item)


def _optional_inner(hint: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if typing.get_origin(hint) not in (types.UnionType, typing.Union):
        return None
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return args[0] if len(args) == 1 else None


def _join(path: str, name: str) -> str:
    if not name:
        return path
    if not path or name.startswith("["):
        return f"{path}{name}"
    return f"{path}.{name}"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return type(value).__name__


def _describe(value: object) -> str:
    """A short, TOML-flavoured rendering of a (non-secret) value for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return _kind(value)


def _close_key(name: str, known: Collection[str]) -> str | None:
    """The one of ``known`` that ``name`` looks like a typo of, if any."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return close[0] if close else None


def _unknown_key(name: str, known: Collection[str]) -> str:
    close = _close_key(name, known)
    if close is not None:
        return f"unknown key (did you mean {close!r}?)"
    return f"unknown key; expected one of {', '.join(known)}"


_SCALARS = (bool, int, float, str, Level, Secret)


def _unreadable(cls: type[DataclassInstance], path: str = "") -> str | None:
    """The first key of ``cls`` whose type the loader cannot read, as ``path: type``, or
    None. Raises ``NameError`` when an annotation names something not importable at run time.
    """
    hints = typing.get_type_hints(cls)
    for name in _keyed_fields(cls):
        found = _unreadable_hint(hints[name], _join(path, name))
        if found is not None:
            return found
    return None


def _unreadable_hint(hint: Any, path: str) -> str | None:
    if hint in _SCALARS:
        return None
    if _is_table(hint):
        return _unreadable(hint, path)
    inner = _tuple_item(hint)
    if inner is None:
        inner = _optional_inner(hint)
    if inner is not None:
        return _unreadable_hint(inner, path)
    return f"{path}: {hint!r}"
