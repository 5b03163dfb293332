"""Text every database we support can store: no NUL, no unpaired surrogates.

Intent
    A platform payload is JSON, and JSON can carry ``\\u0000`` and lone surrogates
    (``\\ud800``). Python holds both happily and SQLite stores them, but PostgreSQL cannot:
    ``text`` refuses NUL, ``jsonb`` refuses ``\\u0000``, and a lone surrogate cannot even be
    encoded as UTF-8 for the wire. An insert that fails on one back end and not the other
    would lose a command, so every string a front door hands to the store goes through
    here first.

    Such characters are *escaped*: each one becomes U+FFFD (the replacement character, as a
    UTF-8 decoder would show it). Nothing a user could mean is lost: neither character can
    be typed into a chat box, and a command holding one reads as an unknown word, which the
    router answers with its usual usage reply.

Invariants
    - ``storable(text)`` encodes as UTF-8 and contains no NUL, for every ``str``.
    - ``storable(text) == text`` whenever ``text`` already was storable.
    - The ``*_invocation``/``*_target``/``*_reply`` helpers return equal objects for input
      that was already storable, and change nothing but the offending characters.
    - Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.messages import Invocation, Reply, ReplyTarget

REPLACEMENT = "\ufffd"
# Python strings hold code points; a surrogate code point in one is never half of a valid
# pair (JSON's "\ud83d\ude00" is decoded to one code point), so every one of them is unpaired.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    """Whether ``text`` can be written to every supported database as it is."""
    if text.isascii():
        return "\x00" not in text
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """``text`` with each NUL and unpaired surrogate replaced by U+FFFD."""
    if is_storable(text):
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_invocation(invocation: Invocation) -> Invocation:
    """The invocation with every string it holds made storable (itself if it was)."""
    data = invocation.to_dict()
    cleaned = _clean(data)
    return invocation if cleaned == data else Invocation.from_dict(cleaned)


def storable_target(target: ReplyTarget) -> ReplyTarget:
    """The reply target with every string it holds made storable (itself if it was)."""
    data = target.to_dict()
    cleaned = _clean(data)
    return target if cleaned == data else ReplyTarget.from_dict(cleaned)


def storable_reply(reply: Reply) -> Reply:
    """The reply with every string it holds made storable (itself if it was)."""
    data = reply.to_dict()
    cleaned = _clean(data)
    return reply if cleaned == data else Reply.from_dict(cleaned)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, Mapping):
        return {storable(str(key)): _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value
