"""Rendering: the effective configuration printed back as TOML (``chatops check-config``).

Invariants
----------
- Every section and key is present, in declaration order, then the loaded plugins'
  sections (``Config.plugin_sections``) in their order; an unset optional value is
  written as a comment.
- Secrets are masked: only their references are shown, never their values.
- For a configuration without secrets, parsing the text back gives an equal ``Config``
  (``source`` aside). A masked secret does not load back: the loader says so.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING

from bot.config.rules import _rules_of
from bot.config.schema import _is_table, _is_table_array, _join, _keyed_fields
from bot.config.secret_values import Secret
from bot.config.settings import Config
from bot.messages import Level

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def render_config(config: Config) -> str:
    """The effective configuration as TOML, every section and key present, secrets masked.

    For a configuration without secrets, parsing the text back (with the same plugin
    sections) gives an equal Config (``source`` aside). A masked secret does not load
    back: the loader says so.
    """
    lines = [
        "# Effective chatops-bridge configuration.",
        f"# Source: {config.source or 'built-in defaults'} (plus environment overrides).",
        "# Secrets are masked: only their references are shown.",
    ]
    _render_table(config, "", None, lines)
    for name, settings in config.plugin_sections:
        _render_table(settings, name, f"[{name}]", lines)
    return "\n".join(lines) + "\n"


def _render_table(obj: DataclassInstance, path: str, header: str | None, lines: list[str]) -> None:
    if header is not None:
        lines.extend(("", header))
    hints = typing.get_type_hints(type(obj))
    tables: list[tuple[str, str, DataclassInstance]] = []
    for name, f in _keyed_fields(type(obj)).items():
        value = getattr(obj, name)
        here = _join(path, name)
        if _is_table(hints[name]):
            tables.append((here, f"[{here}]", value))
        elif _is_table_array(hints[name]) and value:
            tables.extend((here, f"[[{here}]]", item) for item in value)
        else:
            secret_slot = _rules_of(f).secret_into
            if secret_slot is not None and getattr(obj, secret_slot) is not None:
                value = getattr(obj, secret_slot)
            if value is None:
                lines.append(f"# {name} is not set")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
    for here, table_header, item in tables:
        _render_table(item, here, table_header, lines)


def _toml_value(value: object) -> str:
    if isinstance(value, Secret):
        return _toml_string(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Level):
        return _toml_string(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
