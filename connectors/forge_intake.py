"""Handing the commands of one forge comment to the pipeline: one 👀, notices once.

Intent
    A forge comment (GitHub comment, GitLab note) decodes into invocations, already cut to
    the event's budget, and notices (the usage error of a command line that is too long,
    the one "only the first N were taken" reply). ``submit_comment`` persists them:

    - all of it through the intake (``Pipeline.submit_event``), within one intake deadline for the
      whole comment; only the first invocation carries the acknowledgement, so a comment
      gets one 👀 (or award emoji), not one per command;
    - each notice keyed by the comment, so a second delivery of the same comment queues
      nothing new.

Invariants
    - Every write is idempotent by a key derived from the comment, never the delivery.
    - ``Pipeline.submit_event`` errors (``IntakeUnavailable`` past its deadline) propagate:
      the front door's middleware answers 503 so the platform redelivers.
    - Strings reaching the store are storable (``bot.storable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.messages import Invocation, Outgoing
from bot.pipeline.intake import Intake
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
    intake: Intake,
    invocations: Sequence[Invocation],
    notices: Sequence[Outgoing],
) -> Taken:
    stored = [
        Outgoing(
            target=storable_target(notice.target),
            reply=storable_reply(notice.reply),
            key=notice.key,
            kind=notice.kind,
        )
        for notice in notices
    ]
    accepted, queued = await intake.submit_event(
        [storable_invocation(invocation) for invocation in invocations],
        acknowledge=True,
        notices=stored,
    )
    return Taken(accepted=accepted, duplicates=len(invocations) - accepted, notices=queued)
