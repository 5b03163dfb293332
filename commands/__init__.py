"""Command handlers, one module per family, all platform-blind.

Each module exports ``commands()``; ``builtin_commands`` lists them
explicitly. Nothing registers itself when imported.
"""

from __future__ import annotations

from typing import Any

from bot.router import Command
from commands import help, ping


def builtin_commands() -> list[Command[Any]]:
    return [*ping.commands(), *help.commands()]
