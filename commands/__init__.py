"""Command handlers, one module per family, all platform-blind.

Each module exports ``commands()``; ``builtin_commands`` lists them
explicitly. Nothing registers itself when imported.
"""

from __future__ import annotations

from typing import Any

from bot.router import Command
from commands import help, ping, rescan, secret_tracking, secrets_audit, status, subscribe


def builtin_commands() -> list[Command[Any]]:
    """Every command family, one line each: basics first, then CI, then channels."""
    return [
        *ping.commands(),
        *help.commands(),
        *status.commands(),
        *rescan.commands(),
        *subscribe.commands(),
        *secret_tracking.commands(),
        *secrets_audit.commands(),
    ]
