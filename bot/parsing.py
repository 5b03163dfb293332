"""Reading what users type: commands addressed to the bot, their arguments, and targets.

Intent
    Turn free chat text into data the router can act on, without guessing:

    - ``find_commands`` picks out the lines that start with a bot mention, skipping
      everything a reader would not see as a live instruction: fenced and indented
      code, quoted lines and HTML comments. A mention matches by ASCII comparison only
      (``@ChatOps`` yes; ``@chatop`` + U+017F, a long s, no).
    - ``split_args`` splits one command line into words with shell-like quoting,
      accepting the typographic quotes chat apps substitute for ASCII ones;
      ``join_args`` is its exact inverse.
    - ``parse_target`` reads a repository reference (``owner/repo#12``,
      ``group/sub/project!12``, ``github:owner/repo``, a pull/merge request or
      issue URL) into a ``Target``; ``looks_like_target`` is the cheap test that
      tells whether an argument was meant as one. The short forms ``#12`` and
      ``!12`` read as *relative* targets (``repo == ""``); ``place_target`` puts
      one in a repository by the same rules as the long forms.

Deliberately not done
    - No I/O, no configuration, no platform knowledge: every function is pure.
    - No shell features beyond quoting: no variables, globs, pipes, comments or
      line continuations.
    - No full Markdown parsing: only the block structure named above is honoured
      (no list containers, lazy blockquote continuations or inline code spans).
      When in doubt a line is ignored rather than run.
    - No deciding which forge an ambiguous ``owner/repo#12`` lives on (the
      resolver does, from configuration), and no keeping the host of a URL.
    - No deciding which repository ``#12`` means (``bot.targets`` does, from the
      thread or the channel); a short form takes no ``github:``/``gitlab:`` prefix.
    - No unwrapping of platform link markup such as Slack's ``<url|label>``;
      connectors hand us plain text.

Invariants
    - ``split_args(join_args(words)) == words`` for every sequence of strings.
    - ``parse_target(str(t)) == t`` for every ``t`` that ``parse_target`` returns.
    - ``looks_like_target(text)`` holds whenever ``parse_target(text)`` succeeds.
    - ``find_commands`` and ``join_args`` never raise; ``split_args`` and
      ``parse_target`` raise only ``ParseError`` subclasses.
    - ``ParseError.position`` is ``None`` or a 0-based offset into the string that
      was passed in; messages are plain text and count characters from 1.

Errors
    ValueError
    └── ParseError          .message, .position: user input we could not read
        ├── UnclosedQuote   .quote: a quote never closed          (split_args)
        ├── TrailingEscape  a backslash with nothing after it     (split_args)
        └── InvalidTarget   .text, .problem: not a target form    (parse_target, place_target)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.messages import Forge, Target, TargetKind

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


# --- errors -----------------------------------------------------------------------------------


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


# --- finding commands -------------------------------------------------------------------------

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


# --- splitting arguments ----------------------------------------------------------------------


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


# --- targets ----------------------------------------------------------------------------------

_PREFIXES = {"github": Forge.GITHUB, "gitlab": Forge.GITLAB}
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SIGIL = re.compile("[#!]")
_SHORT = re.compile("[#!][0-9]")  # how a short target (#12, !12) begins
_DIGITS = re.compile(r"[0-9]+")
_MAX_NUMBER = 2**31 - 1
_URL = re.compile(
    r"(?i:https?)://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?P<path>/[^?#]*)(?:[?#].*)?"
)
_URL_TAB = re.compile(r"[a-z]+")  # a page of a pull/merge request: /files, /diffs, /commits
_GITHUB_PAGES = {"pull": TargetKind.PULL_REQUEST, "issues": TargetKind.PULL_REQUEST}
_GITLAB_PAGES = {"merge_requests": TargetKind.MERGE_REQUEST, "issues": TargetKind.ISSUE}


def looks_like_target(text: str) -> bool:
    """Whether ``text`` has the shape of a target (it may still be an invalid one)."""
    candidate = text.strip()
    if not candidate or any(char.isspace() for char in candidate):
        return False
    head, colon, _ = candidate.partition(":")
    return (
        "/" in candidate
        or (bool(colon) and head.lower() in _PREFIXES)
        or _SHORT.match(candidate) is not None
    )


def parse_target(text: str) -> Target:
    """Read a repository, pull/merge request or issue reference; raise ``InvalidTarget``."""
    candidate = text.strip()
    if not candidate:
        raise InvalidTarget(candidate, "it is empty")
    if any(char.isspace() for char in candidate):
        raise InvalidTarget(candidate, "it contains whitespace")
    if "://" in candidate:
        return _parse_url(candidate)
    if candidate[0] in "#!":
        return _parse_short(candidate)
    forge, reference = _split_prefix(candidate)
    return _parse_reference(candidate, forge, reference)


def place_target(short: Target, repo: str, forge: Forge | None) -> Target:
    """Put the relative ``short`` (``#12``, ``!12``) in ``repo`` on ``forge``.

    The result is what ``parse_target`` reads from ``forge:repo#12`` (``repo#12`` when
    ``forge`` is None): ``#12`` is an issue on GitLab, ``!12`` a merge request, which
    GitHub has none of (``InvalidTarget``).
    """
    if not short.relative or short.number is None:
        raise ValueError(f"{short} is not a short target")
    reference = f"{repo}{'!' if short.kind is TargetKind.MERGE_REQUEST else '#'}{short.number}"
    text = f"{forge}:{reference}" if forge else reference
    return _parse_reference(text, forge, reference)


def _parse_short(text: str) -> Target:
    """Read ``#N`` or ``!N``: a number in a repository the context will supply."""
    sigil, number = text[0], _parse_number(text, text[1:])
    if sigil == "!":
        return Target("", TargetKind.MERGE_REQUEST, number, Forge.GITLAB)
    return Target("", TargetKind.PULL_REQUEST, number, None)


def _split_prefix(text: str) -> tuple[Forge | None, str]:
    head, colon, rest = text.partition(":")
    if not colon or "/" in head:
        return None, text  # no prefix; a ':' later on fails as a bad name
    forge = _PREFIXES.get(head.lower())
    if forge is None:
        raise InvalidTarget(text, f'"{head}:" is not a known prefix (use github: or gitlab:)')
    return forge, rest


def _parse_reference(text: str, forge: Forge | None, reference: str) -> Target:
    """Read ``path[#N|!N]``, the part after an optional prefix that named ``forge``."""
    path, sigil, digits = _split_sigil(reference)
    if not path and sigil:
        raise InvalidTarget(text, "a short target such as #12 or !12 takes no prefix")
    segments = _parse_path(text, path)
    number = _parse_number(text, digits) if sigil else None
    if forge is None and (sigil == "!" or len(segments) > 2):
        forge = Forge.GITLAB  # only GitLab has merge requests and nested groups
    if forge is Forge.GITHUB:
        _check_github(text, segments, sigil)
    return Target(path, _kind(forge, sigil), number, forge)


def _split_sigil(reference: str) -> tuple[str, str, str]:
    """Split ``path#N`` or ``path!N`` into path, sigil and digits ("" when absent)."""
    match = _SIGIL.search(reference)
    if match is None:
        return reference, "", ""
    return reference[: match.start()], match[0], reference[match.end() :]


def _kind(forge: Forge | None, sigil: str) -> TargetKind:
    if not sigil:
        return TargetKind.REPOSITORY
    if sigil == "!":
        return TargetKind.MERGE_REQUEST
    return TargetKind.ISSUE if forge is Forge.GITLAB else TargetKind.PULL_REQUEST


def _check_github(text: str, segments: Sequence[str], sigil: str) -> None:
    if sigil == "!":
        raise InvalidTarget(text, 'GitHub has no merge requests ("!"); use "#" for a pull request')
    if len(segments) != 2:
        raise InvalidTarget(text, "a GitHub repository is exactly owner/repo")


def _parse_path(text: str, path: str) -> list[str]:
    segments = path.split("/")
    if len(segments) < 2:
        raise InvalidTarget(text, "it needs an owner or group and a repository, as in owner/repo")
    for segment in segments:
        if not segment:
            raise InvalidTarget(text, "it has an empty path segment")
        if not _SEGMENT.fullmatch(segment):
            raise InvalidTarget(
                text,
                f'"{segment}" is not a valid name (use letters, digits, "_", "." and "-", '
                'not starting with "." or "-")',
            )
    return segments


def _parse_number(text: str, digits: str) -> int:
    if not digits:
        raise InvalidTarget(text, "the number is missing")
    if not _DIGITS.fullmatch(digits):
        raise InvalidTarget(text, f'"{digits}" is not a number')
    significant = digits.lstrip("0") or "0"
    value = int(significant) if len(significant) <= len(str(_MAX_NUMBER)) else _MAX_NUMBER + 1
    if not 1 <= value <= _MAX_NUMBER:
        raise InvalidTarget(text, f"the number must be between 1 and {_MAX_NUMBER}")
    return value


def _parse_url(text: str) -> Target:
    """Read a GitHub pull request or issue URL, or a GitLab merge request or issue URL."""
    match = _URL.fullmatch(text)
    if match is None:
        raise InvalidTarget(text, "it is not a well-formed http or https URL")
    parts = match["path"].strip("/").split("/")
    if "-" in parts:  # GitLab: /group/sub/project/-/merge_requests/12
        split = parts.index("-")
        repo, page, forge, kinds = parts[:split], parts[split + 1 :], Forge.GITLAB, _GITLAB_PAGES
    else:  # GitHub: /owner/repo/pull/12
        repo, page, forge, kinds = parts[:2], parts[2:], Forge.GITHUB, _GITHUB_PAGES
    if not _is_numbered_page(page, kinds):
        raise InvalidTarget(
            text, "the URL does not point at a pull request, merge request or issue"
        )
    path = "/".join(repo)
    _parse_path(text, path)
    return Target(path, kinds[page[0]], _parse_number(text, page[1]), forge)


def _is_numbered_page(page: Sequence[str], kinds: Mapping[str, TargetKind]) -> bool:
    """Whether ``page`` is ``[kind, number]``, optionally followed by a tab such as ``files``."""
    if len(page) not in (2, 3) or page[0] not in kinds:
        return False
    return len(page) == 2 or _URL_TAB.fullmatch(page[2]) is not None
