"""``chatops shell`` on a terminal: a banner, line editing and history (GNU readline).

Only for an interactive session: a pipe is read line by line by ``inbound.read_lines``.
``readline`` is imported when a terminal session starts, not when this module is imported
(importing it changes how ``input()`` behaves for the whole process). History is kept in
one file, loaded at the start and written back at the end, capped at ``HISTORY_LENGTH``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

HISTORY_LENGTH = 1000


def banner(version: str, user: str, bot_name: str) -> str:
    return (
        f"chatops-bridge {version}, shell as {user}. Type `help` for the commands, "
        f"`exit` or Ctrl-D to leave; @{bot_name} and /{bot_name} in front are optional."
    )


@contextlib.contextmanager
def history(path: Path) -> Iterator[None]:
    """Line editing for ``input()``, with the history in ``path`` kept across sessions."""
    import readline  # here, not at the top: see the module docstring

    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)


async def terminal_lines(prompt: str) -> AsyncIterator[str]:
    """Non-blank lines typed at ``prompt`` until Ctrl-D.

    ``input()`` blocks the event loop on purpose, as ``read_lines`` does: between lines the
    session has nothing else to run.
    """
    while True:
        try:
            line = input(prompt)  # noqa: ASYNC250 -- blocking on purpose (docstring)
        except EOFError:
            print()
            return
        if line.strip():
            yield line
