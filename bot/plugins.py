"""Third-party features, found through the ``chatops_bridge.features`` entry-point group.

A plugin is an installed distribution whose metadata names a feature (``bot.features``)::

    [project.entry-points."chatops_bridge.features"]
    hello = "hello_chatops:FEATURE"

The object named is a ``Feature`` value, or a callable taking no arguments that returns
one. ``load_plugins`` imports them when the composition root asks (``chatops serve``,
``shell`` and ``plugins``), never when this module is imported, in entry-point name order.

Invariants: a plugin that cannot be imported, or whose object is not a feature, raises
``PluginError`` naming the entry point and its distribution; nothing half-loaded is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from bot.features import Feature

GROUP = "chatops_bridge.features"


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
    feature: Feature = loaded  # type: ignore[assignment]  # checked by _is_feature
    return Plugin(feature=feature, entry_point=point.value, distribution=origin)


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
