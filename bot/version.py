"""The installed version of chatops-bridge, read from the package metadata.

Its own module so that the ``chatops`` command can answer ``--version`` and each
sub-command can name the version without importing the web stack (``bot.web``).
"""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("chatops-bridge")
    except metadata.PackageNotFoundError:
        return "0+unknown"
