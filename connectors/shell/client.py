"""The shell connector's sending half: print each reply to a text stream.

Replies are printed a blank line apart. A ``heading`` set by the session (``While you were
away:``) is printed once, before the next reply, so a batch of waiting messages is
introduced only when there is one. A terminal has nothing to mark as seen, so an
acknowledgement is taken (and so marked sent) without printing anything.
"""

from __future__ import annotations

from typing import TextIO

from bot.messages import Outgoing, OutgoingKind, Platform
from connectors.shell.render import render_text


class ShellConnector:
    """Writes rendered replies to ``stream`` and remembers their keys."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.printed = 0  # replies written so far
        self.heading: str | None = None
        self.delivered: set[str] = set()

    @property
    def platform(self) -> Platform:
        return Platform.SHELL

    async def send(self, message: Outgoing) -> None:
        if message.kind is not OutgoingKind.ACKNOWLEDGEMENT:
            parts = ["\n"] if self.printed else []
            if self.heading is not None:
                parts += [self.heading, "\n\n"]
                self.heading = None
            parts += [render_text(message.reply), "\n"]
            self._stream.write("".join(parts))
            self._stream.flush()
            self.printed += 1
        self.delivered.add(message.key)
