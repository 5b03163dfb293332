"""The errors raised when what a user typed cannot be read: one tree for all of parsing.

Intent
    Give the router one type to catch for unreadable input (``ParseError``), reported
    like a usage error, while each kind of failure keeps the details a reply needs.

Errors
    ValueError
    └── ParseError          .message, .position: user input we could not read
        ├── UnclosedQuote   .quote: a quote never closed          (split_args)
        ├── TrailingEscape  a backslash with nothing after it     (split_args)
        └── InvalidTarget   .text, .problem: not a target form    (parse_target, place_target)

Invariants
    - ``ParseError.position`` is ``None`` or a 0-based offset into the string that
      was passed in; messages are plain text and count characters from 1.
    - A message quotes at most 60 characters of the input, so a reply stays short.
    - Nothing here reads input: the parsers in ``bot.quoting`` and
      ``bot.target_syntax`` decide what is wrong; these classes only word it.
"""

from __future__ import annotations

__all__ = ["InvalidTarget", "ParseError", "TrailingEscape", "UnclosedQuote"]


class ParseError(ValueError):
    """User input we could not read; ``message`` is fit to show to that user."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class UnclosedQuote(ParseError):
    """A quote opened at ``position`` was never closed."""

    def __init__(self, quote: str, position: int) -> None:
        super().__init__(f"unclosed {quote} starting at character {position + 1}", position)
        self.quote = quote


class TrailingEscape(ParseError):
    """The text ends with a backslash, which has nothing left to escape."""

    def __init__(self, position: int) -> None:
        super().__init__(
            f"the \\ at character {position + 1} ends the text, so it escapes nothing", position
        )


_ACCEPTED_FORMS = (
    "owner/repo, owner/repo#12, group/project!12, group/subgroup/project#12, "
    "github:owner/repo#12, gitlab:group/project#12, "
    "the URL of a pull request, merge request or issue, "
    "or #12 and !12 where the repository is known"
)


class InvalidTarget(ParseError):
    """``text`` is not one of the accepted target forms; ``problem`` says why."""

    def __init__(self, text: str, problem: str) -> None:
        shown = text if len(text) <= 60 else text[:59] + "…"
        super().__init__(
            f'"{shown}" is not a valid target: {problem}. Accepted forms: {_ACCEPTED_FORMS}.'
        )
        self.text = text
        self.problem = problem
