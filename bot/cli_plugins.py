"""``chatops plugins``: the features this bot runs, built-in and from plugins, with their
commands; one line each, built-in first. It loads the plugins as ``serve`` would, so a
plugin that cannot be loaded fails here the same way, and it opens nothing.
"""

from __future__ import annotations

from typing import TextIO

from bot.app import Loaded, listed
from bot.config import Config
from bot.plugins import GROUP


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
