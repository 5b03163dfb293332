"""Errors a command handler may raise, and what the user is told for each.

Error tree (the router maps every branch to a reply; nothing escapes as a
traceback)::

    CommandError                    user-visible; message is plain text
    ├── UsageError                  bad or missing arguments -> usage and examples
    ├── PermissionDenied            level too low -> which level is needed
    └── UpstreamError               a platform API failed -> platform and status
    (anything else)                 a crash -> "something went wrong (ref ID)",
                                    traceback in the log only

``bot.parsing.ParseError`` (unreadable quoting, bad target syntax) is reported
like a ``UsageError``. Messages never include secret values; renderers escape
them so they cannot ping anyone.
"""

from __future__ import annotations


class CommandError(Exception):
    """A failure the user should read about, with a message written for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CommandError):
    """The arguments do not fit the command."""


class PermissionDenied(CommandError):
    """The user's level is below what the command needs."""


class UpstreamError(CommandError):
    """A platform API answered with an error or could not be reached."""

    def __init__(self, platform: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.platform = platform
        self.status = status
