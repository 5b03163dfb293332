"""Loading: parsed TOML plus environment overrides in, a validated ``Config`` out.

``load_config`` reads the TOML file; ``parse_config`` takes already-parsed data. Both apply
the environment overrides, then ``_Loader`` walks ``Config`` by its fields' type hints:
it checks each value's TOML type, resolves secret references and constructs each settings
object, which checks itself.

Sections owned by features other than the built-in ones (``sections``: a plugin's
``[greetings]``, say) are walked the same way, each by its own settings dataclass, and kept
on ``Config.plugin_sections``; a section present in ``sections`` but absent from the file
takes its defaults. A top-level table that neither ``Config`` nor ``sections`` names is an
unknown section, and the error says no loaded feature owns it.

Invariants
----------
- Unknown keys and missing required keys are errors; nothing is silently ignored.
- Every problem is reported: the walk goes on past a bad key and raises them all at the
  end (``ConfigErrors``), in the order of the sections and keys, the built-in sections'
  first, then those of ``sections`` in their order. An object whose fields
  are wrong is not constructed, so its cross-field checks wait for the fields' fixes.
- Every failure is a ``ConfigError`` with the full dotted key path, suffixed with
  ``(from VARIABLE)`` when an environment override supplied the value.
- Secret values are read once, here, at load time: ``env:NAME`` from the mapping passed in
  (never ``os.environ``), ``file:PATH`` from the file, a relative path taken against
  ``base_dir``. Errors never quote a secret's value, nor a literal written where a
  reference belongs.
- A ``str`` field that is not a secret's slot refuses ``env:``/``file:`` values, so a
  reference is never taken for a literal.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config.errors import ConfigError, combine, each
from bot.config.overrides import ENV_PREFIX, _apply_overrides
from bot.config.rules import _rules_of
from bot.config.schema import (
    _close_key,
    _describe,
    _is_required,
    _is_table,
    _join,
    _keyed_fields,
    _kind,
    _optional_inner,
    _tuple_item,
    _unknown_key,
)
from bot.config.secret_values import _ENV_NAME, _MASK, Secret, _is_reference
from bot.config.section import _Section
from bot.config.settings import Config
from bot.messages import Level

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


D = TypeVar("D", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class _Loader:
    """Turns parsed TOML (with overrides applied) into settings dataclasses.

    ``origins`` maps a dotted path to the environment variable that supplied its value, so
    errors about overridden values say where the value came from.
    """

    environ: Mapping[str, str] = field(repr=False)  # holds secrets: never print it
    base_dir: Path
    origins: Mapping[str, str]
    # the sections of features beyond the built-in ones: accepted at the top level
    sections: Mapping[str, type[_Section]] = field(default_factory=dict, repr=False)

    def error(self, path: str, reason: str) -> ConfigError:
        for key, variable in self.origins.items():
            if path == key or path.startswith((f"{key}.", f"{key}[")):
                return ConfigError(f"{path} (from {variable})", reason)
        return ConfigError(path, reason)

    def table(self, cls: type[D], raw: object, path: str) -> D:
        if not isinstance(raw, Mapping):
            raise self.error(path, f"expected a table, got {_describe(raw)}")
        keyed = _keyed_fields(cls)
        errors = [
            self.error(_join(path, str(name)), self.unknown(str(name), raw[name], keyed, path))
            for name in raw
            if name not in keyed and not (not path and name in self.sections)
        ]
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for name, f in keyed.items():
            here = _join(path, name)
            if name not in raw:
                if _is_required(f):
                    errors.append(self.error(here, "missing required key"))
                continue
            value = raw[name]
            secret_slot = _rules_of(f).secret_into
            try:
                if secret_slot is not None and isinstance(value, str) and _is_reference(value):
                    kwargs[secret_slot] = self.secret(value, here)
                    kwargs[name] = ""
                else:
                    kwargs[name] = self.value(hints[name], value, here)
            except ConfigError as err:
                errors.append(err)  # already has its full path
                continue
            reason = _rule_problem(f, kwargs[name])
            if reason is not None:  # said here, in key order, as construction would
                errors.append(self.error(here, reason))
        if errors:  # the object's cross-field checks assume valid fields: not run
            raise combine(errors)
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise combine(
                [self.error(_join(path, single.path), single.reason) for single in each(err)]
            ) from None

    def unknown(self, name: str, raw: object, keyed: Mapping[str, object], path: str) -> str:
        """Why ``name`` is not a key here: at the top level a table is a section that no
        loaded feature owns, unless its name is close to one that is known."""
        if path or not isinstance(raw, Mapping):
            return _unknown_key(name, [*keyed, *(self.sections if not path else ())])
        known = [*keyed, *self.sections]
        if _close_key(name, known) is not None:
            return _unknown_key(name, known)
        return (
            "unknown section: neither a built-in section nor one of a loaded plugin's "
            f"(is its plugin installed?); expected one of {', '.join(known)}"
        )

    def sections_of(self, merged: Mapping[str, Any]) -> tuple[tuple[str, _Section], ...]:
        """Each of ``sections`` read from ``merged`` (its defaults when absent), in order."""
        parsed, errors = [], []
        for name, schema in self.sections.items():
            try:
                parsed.append((name, self.table(schema, merged.get(name, {}), name)))
            except ConfigError as err:
                errors.append(err)
        if errors:
            raise combine(errors)
        return tuple(parsed)

    def value(self, hint: Any, raw: object, path: str) -> Any:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            raise self.error(path, f"expected true or false, got {_describe(raw)}")
        if hint is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            raise self.error(path, f"expected an integer, got {_describe(raw)}")
        if hint is float:
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                raise self.error(path, f"expected a number, got {_describe(raw)}")
            if not math.isfinite(raw):
                raise self.error(path, f"expected a finite number, got {_describe(raw)}")
            return float(raw)
        if hint is str:
            if not isinstance(raw, str):
                raise self.error(path, f"expected a string, got {_describe(raw)}")
            if _is_reference(raw):
                raise self.error(
                    path, "is not a secret, so it cannot be given by reference (env:/file:)"
                )
            return raw
        if hint is Level:
            if not isinstance(raw, str):
                raise self.error(path, f"expected read, write or admin, got {_describe(raw)}")
            try:
                return Level.parse(raw)
            except ValueError as err:
                raise self.error(path, str(err)) from None
        if hint is Secret:
            return self.secret(raw, path)
        if _is_table(hint):
            return self.table(hint, raw, path)
        item = _tuple_item(hint)
        if item is not None:
            if not isinstance(raw, list | tuple):
                raise self.error(path, f"expected an array, got {_describe(raw)}")
            items, errors = [], []
            for i, element in enumerate(raw):
                try:
                    items.append(self.value(item, element, f"{path}[{i}]"))
                except ConfigError as err:
                    errors.append(err)
            if errors:
                raise combine(errors)
            return tuple(items)
        inner = _optional_inner(hint)
        if inner is not None:
            return None if raw is None else self.value(inner, raw, path)
        raise TypeError(f"{path}: unsupported settings field type {hint!r}")

    def secret(self, raw: object, path: str) -> Secret:
        """Resolve a reference. Never quotes the value, nor a literal written in its place."""
        if not isinstance(raw, str):
            raise self.error(path, f"expected env:NAME or file:PATH, got {_kind(raw)}")
        if raw.endswith(_MASK):
            raise self.error(
                path, "is a masked value printed by render_config; write the reference alone"
            )
        if not _is_reference(raw):
            raise self.error(path, "secrets are given by reference: write env:NAME or file:PATH")
        kind, _, rest = raw.partition(":")
        if kind == "env":
            return self._env_secret(rest, path)
        return self._file_secret(rest, path)

    def _env_secret(self, name: str, path: str) -> Secret:
        if not _ENV_NAME.fullmatch(name):
            raise self.error(
                path, f"env:{name} does not name an environment variable (letters, digits, _)"
            )
        value = self.environ.get(name)
        if value is None:
            raise self.error(path, f"refers to environment variable {name}, which is not set")
        if not value:
            raise self.error(path, f"refers to environment variable {name}, which is empty")
        return Secret(f"env:{name}", value)

    def _file_secret(self, name: str, path: str) -> Secret:
        file = Path(name)
        if not file.is_absolute():
            file = self.base_dir / file
        try:
            text = file.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise self.error(path, f"refers to file {file}, which does not exist") from None
        except UnicodeDecodeError:
            raise self.error(path, f"refers to file {file}, which is not UTF-8 text") from None
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise self.error(
                path, f"refers to file {file}, which cannot be read: {reason}"
            ) from None
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        if not text:
            raise self.error(path, f"refers to file {file}, which is empty")
        return Secret(f"file:{file}", text)


def _rule_problem(f: dataclasses.Field[Any], value: object) -> str | None:
    """The first of ``f``'s rules that ``value`` breaks, as ``_Section`` checks them."""
    rules = _rules_of(f)
    if rules.normalize is not None:
        value = rules.normalize(value)
    return next((reason for check in rules.checks if (reason := check(value))), None)


def parse_config(
    data: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    base_dir: Path,
    sections: Mapping[str, type[_Section]] | None = None,
) -> Config:
    """Build a Config from parsed TOML ``data`` plus overrides from ``environ``.

    ``base_dir`` anchors relative ``file:`` references (the config file's directory).
    ``sections`` are the settings of the loaded features beyond the built-in ones, by
    section name (``bot.plugins.plugin_sections``). ``data`` is not modified.
    """
    sections = dict(sections or {})
    merged, origins = _apply_overrides(data, environ, sections)
    loader = _Loader(environ, base_dir, origins, sections)
    errors: list[ConfigError] = []
    try:
        config = loader.table(Config, merged, "")
    except ConfigError as err:
        errors.append(err)
    try:
        parsed = loader.sections_of(merged)
    except ConfigError as err:
        errors.append(err)
    if errors:
        raise combine(errors)
    return dataclasses.replace(config, plugin_sections=parsed) if parsed else config


def load_config(
    path: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    *,
    only: tuple[str, ...] | None = None,
    sections: Mapping[str, type[_Section]] | None = None,
) -> Config:
    """Load the TOML file at ``path`` (all defaults when None) with overrides from ``environ``.

    ``sections`` are the loaded plugins' settings by section name (see ``parse_config``).

    ``Config.source`` is the file's absolute path. Without a file, relative ``file:``
    references in overrides are resolved against the current working directory.

    ``only`` names the sections to read (``("database",)`` for ``chatops migrate``); the
    others, in the file and in ``CHATOPS__`` overrides, are left out and take their
    defaults, so a secret another section refers to need not be set.
    """
    if only is not None:
        sections = {name: schema for name, schema in (sections or {}).items() if name in only}
        environ = {
            name: value
            for name, value in environ.items()
            if not name.upper().startswith(ENV_PREFIX)
            or name.upper()[len(ENV_PREFIX) :].split("__")[0].lower() in only
        }
    if path is None:
        return parse_config({}, environ, base_dir=Path.cwd(), sections=sections)
    file = Path(path)
    try:
        with file.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError("", f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("", f"{file} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"{file} is not UTF-8 text") from None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError("", f"cannot read config file {file}: {reason}") from None
    absolute = file.absolute()
    if only is not None:
        data = {key: value for key, value in data.items() if key in only}
    config = parse_config(data, environ, base_dir=absolute.parent, sections=sections)
    return dataclasses.replace(config, source=str(absolute))


def section_defaults(schema: type[D], name: str) -> D:
    """The settings ``schema`` holds when ``[name]`` is absent from the configuration;
    ``ConfigError`` naming each of its required keys."""
    return _Loader({}, Path.cwd(), {}).table(schema, {}, name)
