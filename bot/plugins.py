"""Third-party features, found through the ``chatops_bridge.features`` entry-point group.

A plugin is an installed distribution whose metadata names a feature (``bot.features``)::

    [project.entry-points."chatops_bridge.features"]
    hello = "hello_chatops:FEATURE"

The object named is a ``Feature`` value, or a callable taking no arguments that returns
one. ``load_plugins`` imports them when the CLI asks, before it reads the configuration
(every sub-command that reads one but ``migrate``), never when this module is imported,
in entry-point name order. ``plugin_sections`` then names the settings each plugin's
feature declares (its ``section`` and ``schema``, see ``bot.features``), which the
configuration loader validates like the built-in sections.

Invariants: a plugin that cannot be imported, or whose object is not a feature, raises
``PluginError`` naming the entry point and its distribution; nothing half-loaded is kept.
So does a settings ``schema`` the loader cannot read (not a ``bot.config.Section``
dataclass, a key of a type the configuration has no syntax for, no ``section`` to read
it from), and a section that is built in or already a plugin's. This module imports no
web server: ``check-config`` loads the plugins too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from bot.config.schema import _keyed_fields, _unreadable
from bot.config.section import Section
from bot.config.settings import Config

if TYPE_CHECKING:
    from bot.features import Feature

GROUP = "chatops_bridge.features"
# a section name the overrides can spell: CHATOPS__<SECTION>__<KEY>
_SECTION_NAME = re.compile(r"[a-z][a-z0-9_]*")


class PluginError(Exception):
    """A plugin could not be loaded; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class Plugin:
    """A loaded plugin: its feature and where it came from."""

    feature: Feature
    entry_point: str  # "hello_chatops:FEATURE"
    distribution: str  # "hello-chatops 1.0", or "?" when the metadata does not say


def load_plugins(group: str = GROUP) -> list[Plugin]:
    """Import every feature the installed distributions declare in ``group``."""
    found = sorted(metadata.entry_points(group=group), key=lambda point: point.name)
    return [_load(point) for point in found]


def _load(point: metadata.EntryPoint) -> Plugin:
    origin = _distribution(point)
    where = f"plugin {point.name!r} ({point.value}, from {origin})"
    try:
        loaded: object = point.load()
    except Exception as exc:
        raise PluginError(f"{where} could not be imported: {type(exc).__name__}: {exc}") from exc
    if not _is_feature(loaded) and callable(loaded):
        factory: Callable[[], object] = loaded
        try:
            loaded = factory()
        except Exception as exc:
            raise PluginError(f"{where} failed to build its feature: {exc}") from exc
    if not _is_feature(loaded):
        raise PluginError(
            f"{where} is not a feature: it needs a 'name', a 'section' and a 'setup(host)' "
            "(see bot.features)"
        )
    problem = _schema_problem(loaded)
    if problem is not None:
        raise PluginError(f"{where}: {problem}")
    feature: Feature = loaded  # type: ignore[assignment]  # checked by _is_feature
    return Plugin(feature=feature, entry_point=point.value, distribution=origin)


def plugin_sections(plugins: Sequence[Plugin]) -> dict[str, type[Section]]:
    """The settings dataclass of each plugin section, by section name, in load order.

    ``PluginError`` when a plugin declares a built-in section or one another plugin
    declared first."""
    builtin = _keyed_fields(Config)
    owners: dict[str, Plugin] = {}
    sections: dict[str, type[Section]] = {}
    for plugin in plugins:
        schema = settings_schema(plugin.feature)
        section = plugin.feature.section
        if schema is None or section is None:
            continue
        where = f"plugin {plugin.feature.name!r} ({plugin.entry_point}, from {plugin.distribution})"
        if section in builtin:
            raise PluginError(f"{where}: its settings section [{section}] is a built-in one")
        if section in owners:
            first = owners[section]
            raise PluginError(
                f"{where}: its settings section [{section}] is already that of plugin "
                f"{first.feature.name!r} ({first.entry_point})"
            )
        owners[section] = plugin
        sections[section] = schema
    return sections


def settings_schema(feature: Feature) -> type[Section] | None:
    """The settings dataclass ``feature`` declares for its section, if any."""
    schema: object = getattr(feature, "schema", None)
    if isinstance(schema, type) and issubclass(schema, Section):
        return schema
    return None


def _schema_problem(value: object) -> str | None:
    """Why the configuration could not read the settings ``value`` declares, or None."""
    schema: object = getattr(value, "schema", None)
    if schema is None:
        return None
    if not (
        isinstance(schema, type)
        and dataclasses.is_dataclass(schema)
        and issubclass(schema, Section)
    ):
        return (
            f"its settings schema must be a dataclass deriving from bot.config.Section, "
            f"got {schema!r}"
        )
    section = getattr(value, "section", None)
    if not isinstance(section, str) or not _SECTION_NAME.fullmatch(section):
        return (
            f"its settings schema {schema.__name__} needs a section to be read from: a "
            f"lower-case word (letters, digits, _), got {section!r}"
        )
    try:
        unreadable = _unreadable(schema, section)
    except NameError as exc:
        return f"the annotations of its settings schema {schema.__name__} cannot be read: {exc}"
    if unreadable is not None:
        return (
            f"its settings schema {schema.__name__} has a key of a type the configuration "
            f"cannot read: {unreadable}"
        )
    return None


def _is_feature(value: object) -> bool:
    name = getattr(value, "name", None)
    return (
        isinstance(name, str)
        and bool(name)
        and hasattr(value, "section")
        and callable(getattr(value, "setup", None))
    )


def _distribution(point: metadata.EntryPoint) -> str:
    dist = point.dist
    if dist is None:
        return "?"
    return f"{dist.metadata['Name']} {dist.version}"
