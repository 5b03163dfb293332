"""Who may report usage: the per-repository tokens of ``POST /api/usage``.

Each configured repository (``[[secrets.usage_tokens]]``) has its own bearer token. The
handler asks two questions: does any repository have the presented token (``known``,
asked before the body is read), and which token does the named repository have
(``configured``, compared by the caller with ``hmac.compare_digest``).

Invariants: a presented token is compared against every configured token, each with
``hmac.compare_digest``, whichever matches, so timing does not tell which repository's
token it was; tokens
are held as bytes and never logged, stored or echoed; a repository configured without a
token has none here. Nothing here holds module state or does I/O.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence

from bot.messages import Forge
from bot.secrets.settings import UsageToken

__all__ = ["UsageTokens", "bearer_token"]

_BEARER = re.compile(r"Bearer +(\S+) *", re.IGNORECASE)


class UsageTokens:
    """The configured usage tokens; every comparison is constant-time."""

    def __init__(self, tokens: Sequence[UsageToken]) -> None:
        self._tokens = tuple(
            (Forge(entry.forge), entry.repo, entry.token.reveal().encode())
            for entry in tokens
            if entry.token is not None
        )

    def known(self, presented: bytes) -> bool:
        """Whether any repository has this token; compares against all of them."""
        matched = False
        for _forge, _repo, token in self._tokens:
            matched |= hmac.compare_digest(presented, token)
        return matched

    def configured(self, forge: Forge, repo: str) -> bytes | None:
        """The token configured for ``repo`` on ``forge``; None when it has none."""
        for entry_forge, entry_repo, token in self._tokens:
            if (entry_forge, entry_repo) == (forge, repo):
                return token
        return None


def bearer_token(header: str) -> bytes | None:
    """The token of an ``Authorization: Bearer`` header; None when there is none."""
    match = _BEARER.fullmatch(header)
    return None if match is None else match.group(1).encode()
