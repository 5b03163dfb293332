"""Handing the commands of one forge comment to the pipeline: one 👀, notices once.

Intent
    A forge comment (GitHub comment, GitLab note) decodes into invocations, already cut to
    the event's budget, and notices (the usage error of a command line that is too long,
    the one "only the first N were taken" reply). ``submit_comment`` persists them:

    - each invocation through ``Pipeline.submit``; only the first asks for the
      acknowledgement, so a comment gets one 👀 (or award emoji), not one per command;
    - each notice straight into the outbox, keyed by the comment, so a second delivery of
      the same comment queues nothing new.

Invariants
    - Every write is idempotent by a key derived from the comment, never the delivery.
    - ``Pipeline.submit`` errors (``IntakeUnavailable`` past its write deadline) propagate:
      the front door's middleware answers 503 so the platform redelivers.
    - Strings reaching the store are storable (``bot.storable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.messages import Invocation, Outgoing
from bot.pipeline import Pipeline
from bot.storable import storable_invocation, storable_reply, storable_target


@dataclass(frozen=True, slots=True)
class Taken:
    accepted: int
    duplicates: int
    notices: int  # notices newly queued

    def as_json(self) -> dict[str, int]:
        """The webhook's answer body; ``notices`` appears only when some were queued."""
        answer = {"accepted": self.accepted, "duplicates": self.duplicates}
        if self.notices:
            answer["notices"] = self.notices
        return answer


async def submit_comment(
    pipeline: Pipeline,
    invocations: Sequence[Invocation],
    notices: Sequence[Outgoing],
    now: datetime,
) -> Taken:
    accepted = 0
    for position, invocation in enumerate(invocations):
        accepted += await pipeline.submit(
            storable_invocation(invocation), acknowledge=position == 0
        )
    queued = 0
    for notice in notices:
        stored = Outgoing(
            target=storable_target(notice.target),
            reply=storable_reply(notice.reply),
            key=notice.key,
            kind=notice.kind,
        )
        queued += await pipeline.outbox.enqueue(stored, now)
    if queued:
        pipeline.outbox_wake.set()
    return Taken(accepted=accepted, duplicates=len(invocations) - accepted, notices=queued)
