"""Splitting one command line into words, and joining words back into a line.

Intent
    ``split_args`` splits a command line into words with shell-like quoting,
    accepting the typographic quotes chat apps substitute for ASCII ones;
    ``join_args`` is its exact inverse.

Deliberately not done
    - No I/O: both functions are pure.
    - No shell features beyond quoting: no variables, globs, pipes, comments or
      line continuations.

Invariants
    - ``split_args(join_args(words)) == words`` for every sequence of strings.
    - ``join_args`` never raises; ``split_args`` raises only ``UnclosedQuote`` or
      ``TrailingEscape`` (``bot.parse_errors``), positioned at the offending character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.parse_errors import TrailingEscape, UnclosedQuote

__all__ = ["join_args", "split_args"]


@dataclass(frozen=True, slots=True)
class _Quote:
    """How a quoted span that starts with a given character is read."""

    closers: str  # characters that end the span
    escapable: str  # characters a backslash escapes inside the span ("" = no escapes)
    anywhere: bool  # opens mid-word too, not only at the start of a word
    apostrophes: bool = False  # a closer between two letters or digits is literal: an apostrophe


_QUOTES: dict[str, _Quote] = {
    "'": _Quote(closers="'", escapable="", anywhere=True),
    '"': _Quote(closers='"', escapable='\\"', anywhere=True),
    "\u201c": _Quote(closers="\u201d\u201c", escapable="\\\u201d\u201c", anywhere=True),
    "\u201d": _Quote(closers="\u201d\u201c", escapable="\\\u201d\u201c", anywhere=False),
    "\u2018": _Quote(closers="\u2019\u2018", escapable="", anywhere=False, apostrophes=True),
    "\u2019": _Quote(closers="\u2019\u2018", escapable="", anywhere=False, apostrophes=True),
}


def split_args(line: str) -> list[str]:
    """Split ``line`` into words, honouring quotes and backslash escapes.

    Raises ``UnclosedQuote`` or ``TrailingEscape``, positioned at the offending character.
    """
    words: list[str] = []
    word: list[str] | None = None  # the parts of the word being read; None between words
    index = 0
    while index < len(line):
        char = line[index]
        if char.isspace():
            if word is not None:
                words.append("".join(word))
                word = None
            index += 1
            continue
        quote = _QUOTES.get(char)
        if quote is not None and (quote.anywhere or word is None):
            part, index = _read_quoted(line, index, quote)
        elif char == "\\":
            part, index = _read_escape(line, index)
        else:
            part, index = char, index + 1
        if word is None:
            word = []
        word.append(part)
    if word is not None:
        words.append("".join(word))
    return words


def _read_escape(line: str, start: int) -> tuple[str, int]:
    if start + 1 == len(line):
        raise TrailingEscape(start)
    return line[start + 1], start + 2


def _read_quoted(line: str, start: int, quote: _Quote) -> tuple[str, int]:
    """Read the quoted span opening at ``start``; return its text and the index after it."""
    text: list[str] = []
    index = start + 1
    while index < len(line):
        char = line[index]
        following = line[index + 1 : index + 2]
        if char == "\\" and following and following in quote.escapable:
            text.append(following)
            index += 2
        elif char in quote.closers and not (quote.apostrophes and _within_word(line, index)):
            return "".join(text), index + 1
        else:
            text.append(char)
            index += 1
    raise UnclosedQuote(line[start], start)


def _within_word(line: str, index: int) -> bool:
    return 0 < index < len(line) - 1 and line[index - 1].isalnum() and line[index + 1].isalnum()


def join_args(args: Sequence[str]) -> str:
    """Join ``args`` into one line that ``split_args`` reads back as the same list."""
    return " ".join(_quote_word(arg) for arg in args)


_ALWAYS_QUOTED = frozenset("'\"\\\u201c")  # special wherever they appear in a word
_QUOTED_AT_START = frozenset("\u201d\u2018\u2019")  # special only as a word's first character


def _quote_word(word: str) -> str:
    if _is_bare(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_bare(word: str) -> bool:
    return (
        bool(word)
        and word[0] not in _QUOTED_AT_START
        and not any(char.isspace() or char in _ALWAYS_QUOTED for char in word)
    )
