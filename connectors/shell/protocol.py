"""What a line typed into ``chatops shell`` means, before the pipeline sees it. Pure.

The README shows commands as a chat user types them (``@chatops ping``, ``/chatops ping``);
the shell accepts those forms as well as the bare command, so every example can be pasted.
``exit`` and ``quit`` (alone on the line, any case) end the session.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_WORDS = frozenset({"exit", "quit"})


def is_exit(line: str) -> bool:
    return line.strip().lower() in EXIT_WORDS


def command_text(line: str, prefixes: Iterable[str]) -> str:
    """``line`` without a leading ``@name`` or ``/name`` prefix (any case), stripped.

    A prefix counts only as a whole word: ``@chatopsy ping`` keeps its text.
    """
    text = line.strip()
    lowered = text.lower()
    for prefix in prefixes:
        wanted = prefix.lower()
        if lowered == wanted:
            return ""
        if lowered.startswith(wanted) and text[len(wanted)].isspace():
            return text[len(wanted) :].strip()
    return text


def prefixes_for(bot_name: str, slash_command: str) -> tuple[str, ...]:
    """``@name``, ``/name`` and the Slack slash command, without repeats."""
    seen: dict[str, None] = dict.fromkeys((f"@{bot_name}", f"/{bot_name}", slash_command))
    return tuple(seen)
