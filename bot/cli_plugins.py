"""``chatops plugins``: the features this bot runs, built-in and from plugins, with their
commands and the settings section each owns; one line each, built-in first. It loads the
plugins as ``serve`` would, so a plugin that cannot be loaded fails here the same way,
and it opens nothing. ``loaded_features`` is that loading, shared with ``serve`` and
``shell``: the plugins the CLI loaded before the configuration (``args.plugins``), with
the built-in features.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.app import Loaded, listed, load_features
from bot.config import Config
from bot.plugins import GROUP, Plugin, PluginError, load_plugins

EXIT_OK = 0
EXIT_ERROR = 1


def plugins(config: Config, args: argparse.Namespace) -> int:
    loaded = loaded_features(sys.stderr, getattr(args, "plugins", None))
    if loaded is None:
        return EXIT_ERROR
    describe_features(config, loaded, sys.stdout)
    return EXIT_OK


def loaded_features(stderr: TextIO, plugins: Sequence[Plugin] | None = None) -> Loaded | None:
    """The built-in features and the ``plugins`` (those installed when None), as ``serve``,
    ``shell`` and ``plugins`` load them first; ``None`` once a plugin that cannot be loaded,
    or whose name is taken, is named on ``stderr``."""
    try:
        return load_features(load_plugins if plugins is None else lambda: list(plugins))
    except PluginError as exc:
        print(f"chatops: {exc}", file=stderr)
        return None


def describe_features(config: Config, loaded: Loaded, out: TextIO) -> None:
    origins = {plugin.feature.name: plugin for plugin in loaded.plugins}
    for feature, provided in listed(loaded.features, config).parts:
        names = ", ".join(command.name for command in provided.commands) or "no commands"
        plugin = origins.get(feature.name)
        where = (
            "built-in"
            if plugin is None
            else f"plugin {plugin.entry_point} from {plugin.distribution}"
        )
        settings = f", settings [{feature.section}]" if feature.section else ""
        print(f"{feature.name}: {names} ({where}{settings})", file=out)
    if not loaded.plugins:
        print(f"no plugins installed (entry-point group {GROUP})", file=out)
