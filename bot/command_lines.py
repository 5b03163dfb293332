"""Finding commands in free text: the lines of a comment or chat message addressed to the bot.

Intent
    ``find_commands`` picks out the lines that start with a bot mention, skipping
    everything a reader would not see as a live instruction: fenced and indented
    code, quoted lines and HTML comments. A mention matches by ASCII comparison only
    (``@ChatOps`` yes; ``@chatop`` + U+017F, a long s, no).

Deliberately not done
    - No I/O, no configuration, no platform knowledge: every function is pure.
    - No full Markdown parsing: only the block structure named above is honoured
      (no list containers, lazy blockquote continuations or inline code spans).
      When in doubt a line is ignored rather than run.
    - No splitting of the command into words (``bot.quoting`` does).
    - No unwrapping of platform link markup such as Slack's ``<url|label>``;
      connectors hand us plain text.

Invariants
    - ``find_commands`` never raises, whatever it is given.
    - A command never contains a line break or the text of an HTML comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["find_commands"]


_INDENTED_CODE = re.compile(r" {0,3}\t| {4}")
_QUOTED = re.compile(r" {0,3}>")
_FENCE_OPEN = re.compile(r" {0,3}(?P<run>`{3,}|~{3,})(?P<info>.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(?P<run>`{3,}|~{3,})[ \t]*")
_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"


@dataclass(frozen=True, slots=True)
class _Fence:
    """An open fenced code block: closed by a run of ``char`` at least ``length`` long."""

    char: str
    length: int

    @classmethod
    def opened_by(cls, line: str) -> _Fence | None:
        match = _FENCE_OPEN.fullmatch(line)
        if match is None:
            return None
        run = match["run"]
        if run[0] == "`" and "`" in match["info"]:
            return None  # ```like this``` is inline code, not a fence
        return cls(run[0], len(run))

    def is_closed_by(self, line: str) -> bool:
        match = _FENCE_CLOSE.fullmatch(line)
        return (
            match is not None and match["run"][0] == self.char and len(match["run"]) >= self.length
        )


def find_commands(text: str, mentions: Sequence[str]) -> list[str]:
    """Return the command on each line that starts with one of ``mentions``, in order.

    A command is the rest of its line with HTML comments removed, stripped; it is
    ``""`` when the line holds only the mention. Mentions match by exact ASCII comparison,
    ignoring ASCII case only: no Unicode case folding or compatibility mapping. Text that
    is not a string (a payload's number or null) holds no commands.
    """
    pattern = _mention_pattern(mentions)
    if pattern is None or not isinstance(text, str):
        return []
    commands = []
    for line in _prose_lines(text):
        match = pattern.match(line)
        if match is not None:
            visible, _ = _strip_comments(line[match.end() :], in_comment=False)
            commands.append(visible.strip())
    return commands


def _mention_pattern(mentions: Sequence[str]) -> re.Pattern[str] | None:
    tokens = sorted({m for m in mentions if m}, key=len, reverse=True)
    if not tokens:
        return None
    alternatives = "|".join(_ascii_caseless(token) for token in tokens)
    return re.compile(rf" {{0,3}}(?:{alternatives})[:,]?(?=\s|\Z)")


def _ascii_caseless(token: str) -> str:
    """A pattern matching ``token`` with ASCII letters in either case and nothing else.

    Not ``re.IGNORECASE``: that folds Unicode too, so "@chatop" + U+017F (long s) would
    read as "@chatops", and U+212A (Kelvin sign) as "k".
    """
    return "".join(
        f"[{char.lower()}{char.upper()}]" if char.isascii() and char.isalpha() else re.escape(char)
        for char in token
    )


def _prose_lines(text: str) -> Iterator[str]:
    """Yield the lines that begin as visible prose: not code, not quoted, not in a comment."""
    fence: _Fence | None = None
    in_comment = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if in_comment:
            _, in_comment = _strip_comments(line, in_comment=True)
        elif fence is not None:
            if fence.is_closed_by(line):
                fence = None
        elif not _INDENTED_CODE.match(line):
            fence = _Fence.opened_by(line)
            if fence is None:
                _, in_comment = _strip_comments(line, in_comment=False)
                if not _QUOTED.match(line):
                    yield line


def _strip_comments(text: str, *, in_comment: bool) -> tuple[str, bool]:
    """Remove HTML comments from ``text``; return what is left and whether one is still open."""
    visible: list[str] = []
    position = 0
    while True:
        if in_comment:
            end = text.find(_COMMENT_CLOSE, position)
            if end < 0:
                return "".join(visible), True
            position, in_comment = end + len(_COMMENT_CLOSE), False
        else:
            start = text.find(_COMMENT_OPEN, position)
            if start < 0:
                visible.append(text[position:])
                return "".join(visible), False
            visible.append(text[position:start])
            # "<!-->" and "<!--->" are complete (empty) comments, as in HTML.
            position, in_comment = start + 2, True
