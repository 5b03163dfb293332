"""How much of one message the bot takes on: the per-event command budget. Pure.

Intent
    One comment or chat message may hold any number of command lines (a 65,536-character
    GitHub comment holds about 4,700 ``@chatops ping``). Each one costs an inbox row before
    the ack and a reply after it, so the work one event can cause is capped here, before
    anything is written:

    - the first ``max_commands`` command lines are *taken*: each one becomes an invocation,
      or, when it is longer than ``max_chars``, a usage error saying so (nothing runs);
    - every further line is dropped, and the message gets ONE notice saying that only the
      first ``max_commands`` were taken (``over_budget_reply``).

    So one event produces at most ``max_commands`` answers plus one notice, whatever it
    holds, and the ack writes a bounded number of rows.

Invariants
    - ``len(plan.run) + len(plan.too_long) == min(found, max_commands)``.
    - Indexes are positions among the message's command lines (0-based), stable for the
      same text, so they can key inbox rows and notices.
    - Replies built here quote no more than ``QUOTE_CHARS`` of what the user typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.messages import Outgoing, Reply, ReplyTarget, Status
from bot.pipeline.keys import notice_key
from bot.storable import storable_target

DEFAULT_MAX_COMMANDS = 10
DEFAULT_MAX_CHARS = 4000
QUOTE_CHARS = 60


@dataclass(frozen=True, slots=True)
class Limits:
    """The budget of one event: how many command lines, and how long each may be."""

    max_commands: int = DEFAULT_MAX_COMMANDS
    max_chars: int = DEFAULT_MAX_CHARS


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with the command lines of one message."""

    run: tuple[tuple[int, str], ...]  # (index, line): becomes an invocation
    too_long: tuple[tuple[int, str], ...]  # (index, line): answered with a usage error
    found: int  # command lines in the message, taken or not

    @property
    def dropped(self) -> int:
        """Command lines beyond the budget: neither run nor answered one by one."""
        return self.found - len(self.run) - len(self.too_long)


def plan(lines: Sequence[str], limits: Limits) -> Plan:
    """Split ``lines`` (a message's command lines, in order) by the budget."""
    taken = list(enumerate(lines[: limits.max_commands]))
    return Plan(
        run=tuple((i, line) for i, line in taken if len(line) <= limits.max_chars),
        too_long=tuple((i, line) for i, line in taken if len(line) > limits.max_chars),
        found=len(lines),
    )


def shorten(line: str) -> str:
    """The start of ``line``, fit to quote in a reply."""
    return line if len(line) <= QUOTE_CHARS else line[: QUOTE_CHARS - 1] + "…"


def too_long_reply(line: str, limits: Limits) -> Reply:
    """The usage error for a command line over ``limits.max_chars``."""
    return Reply(
        title="Command too long",
        status=Status.ERROR,
        paragraphs=(
            f"This command is {len(line):,} characters long; a command may be at most "
            f"{limits.max_chars:,} characters. Nothing was run.",
            f"It starts: {shorten(line)}",
        ),
    )


def over_budget_reply(plan: Plan, limits: Limits) -> Reply:
    """The one notice for a message with more command lines than the budget."""
    return Reply(
        title="Too many commands",
        status=Status.WARNING,
        paragraphs=(
            f"This message holds {plan.found:,} commands; only the first "
            f"{limits.max_commands:,} were taken. The other {plan.dropped:,} were ignored: "
            "send them in another message.",
        ),
    )


def forge_notices(
    plan: Plan,
    limits: Limits,
    *,
    key: str,
    reply_to: ReplyTarget,
    quoting: Callable[[str], ReplyTarget],
) -> tuple[Outgoing, ...]:
    """A forge comment's notices: one usage error per over-long line (replying under a
    quote of its start) and the one "only the first N" reply, keyed by the comment ``key``
    so that a second delivery of the same comment queues none of them again."""
    notices = [
        Outgoing(
            target=storable_target(quoting(shorten(line))),
            reply=too_long_reply(line, limits),
            key=notice_key(key, index),
        )
        for index, line in plan.too_long
    ]
    if plan.dropped:
        notices.append(
            Outgoing(
                target=reply_to,
                reply=over_budget_reply(plan, limits),
                key=notice_key(key, "rest"),
            )
        )
    return tuple(notices)
