"""What a forge comment decodes to, shared by the GitHub and GitLab protocols. Pure.

``positive_id`` reads an id or number out of a decoded webhook payload: a JSON integer in
``1..2**63-1`` (what both forges use and what the store's ``bigint`` columns hold), never a
bool, a float, a string of digits or zero. ``Commands`` is one comment's (GitHub) or note's
(GitLab) result: the invocations to submit, in order, the notices to queue, and on GitHub
the App installation the delivery came through.

Deliberately not here: anything about a forge's payload shape, grammar or keys (each
``protocol.py`` keeps its own), and any I/O (``connectors.forge_intake`` submits these).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import Invocation, Outgoing

MAX_ID = 2**63 - 1


def positive_id(value: object) -> int | None:
    """``value`` if it is a JSON integer a forge could use as an id or number, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


@dataclass(frozen=True, slots=True)
class Commands:
    """What one comment asks for: invocations to submit (in order) and notices to queue.

    ``installation_id`` is the GitHub App installation that delivered the comment; None for
    a repository hook and always None on GitLab.
    """

    invocations: tuple[Invocation, ...]
    notices: tuple[Outgoing, ...] = ()
    installation_id: int | None = None
