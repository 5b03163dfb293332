"""Reading what users type: commands addressed to the bot, their arguments, and targets.

Intent
    The one module callers import for parsing; each job lives in a module of its own,
    and this one only gathers their names:

    - ``find_commands`` (``bot.command_lines``) picks out the lines of free text that
      start with a bot mention, skipping code, quoted lines and HTML comments.
    - ``split_args`` and ``join_args`` (``bot.quoting``) split one command line into
      words with shell-like quoting, and join words back so they split the same.
    - ``parse_target``, ``looks_like_target`` and ``place_target``
      (``bot.target_syntax``) read repository, pull/merge request and issue references.
    - The errors (``bot.parse_errors``) form one tree under ``ParseError``.

Deliberately not done
    - No I/O, no configuration, no platform knowledge: every function is pure.
    - No logic of its own: a rule lives in exactly one of the modules above.

Invariants
    - ``split_args(join_args(words)) == words`` for every sequence of strings.
    - ``parse_target(str(t)) == t`` for every ``t`` that ``parse_target`` returns.
    - ``looks_like_target(text)`` holds whenever ``parse_target(text)`` succeeds.
    - ``find_commands`` and ``join_args`` never raise; ``split_args`` and
      ``parse_target`` raise only ``ParseError`` subclasses.

Errors
    ValueError
    └── ParseError          .message, .position: user input we could not read
        ├── UnclosedQuote   .quote: a quote never closed          (split_args)
        ├── TrailingEscape  a backslash with nothing after it     (split_args)
        └── InvalidTarget   .text, .problem: not a target form    (parse_target, place_target)
"""

from __future__ import annotations

from bot.command_lines import find_commands
from bot.parse_errors import InvalidTarget, ParseError, TrailingEscape, UnclosedQuote
from bot.quoting import join_args, split_args
from bot.target_syntax import looks_like_target, parse_target, place_target

__all__ = [
    "InvalidTarget",
    "ParseError",
    "TrailingEscape",
    "UnclosedQuote",
    "find_commands",
    "join_args",
    "looks_like_target",
    "parse_target",
    "place_target",
    "split_args",
]
