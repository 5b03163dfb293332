"""Target syntax: reading a repository, pull/merge request or issue reference.

Intent
    ``parse_target`` reads a repository reference (``owner/repo#12``,
    ``group/sub/project!12``, ``github:owner/repo``, a pull/merge request or
    issue URL) into a ``Target``; ``looks_like_target`` is the cheap test that
    tells whether an argument was meant as one. The short forms ``#12`` and
    ``!12`` read as *relative* targets (``repo == ""``); ``place_target`` puts
    one in a repository by the same rules as the long forms.

Deliberately not done
    - No I/O, no configuration, no platform knowledge: every function is pure.
    - No deciding which forge an ambiguous ``owner/repo#12`` lives on (the
      resolver does, from configuration), and no keeping the host of a URL.
    - No deciding which repository ``#12`` means (``bot.targets`` does, from the
      thread or the channel); a short form takes no ``github:``/``gitlab:`` prefix.

Invariants
    - ``parse_target(str(t)) == t`` for every ``t`` that ``parse_target`` returns.
    - ``looks_like_target(text)`` holds whenever ``parse_target(text)`` succeeds.
    - ``looks_like_target`` never raises; ``parse_target`` and ``place_target`` raise
      only ``InvalidTarget`` (``bot.parse_errors``) for what the user typed
      (``place_target`` raises ``ValueError`` when handed a target that is not short).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.messages import Forge, Target, TargetKind
from bot.parse_errors import InvalidTarget

__all__ = ["looks_like_target", "parse_target", "place_target"]


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
