"""The shell connector's sending half: print each reply to a text stream."""

from __future__ import annotations

from typing import TextIO

from bot.messages import Outgoing, Platform
from connectors.shell.render import render_text


class ShellConnector:
    """Writes rendered replies to ``stream``, a blank line apart, and remembers their keys."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.delivered: set[str] = set()

    @property
    def platform(self) -> Platform:
        return Platform.SHELL

    async def send(self, message: Outgoing) -> None:
        separator = "\n" if self.delivered else ""
        self._stream.write(separator + render_text(message.reply) + "\n")
        self._stream.flush()
        self.delivered.add(message.key)
