"""A claim takes at most ``limit`` rows, whatever the planner believes about the tables.

PostgreSQL once planned the claim's ``LIMIT ... FOR UPDATE SKIP LOCKED`` sub-select to run
again for every pending row when its statistics said the queue was empty, and one claim of
16 took the whole backlog. The statistics here are taken of empty queues on purpose.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from bot.messages import Actor, Invocation, Outgoing, OutgoingKind, Platform, Reply, ReplyTarget
from bot.store.database import Database
from bot.store.queues import ClaimScope, InboxQueue, OutboxQueue
from tests.fakes.clock import FakeClock

BACKLOG = 200
LIMIT = 16
LEASE = timedelta(seconds=60)


async def test_claims_take_at_most_their_limit_after_statistics_of_empty_queues(
    database: Database,
) -> None:
    clock = FakeClock()
    inbox, outbox = InboxQueue(database), OutboxQueue(database)
    await database.connection.execute_script("ANALYZE")  # both queues are empty now
    target = ReplyTarget(platform=Platform.GITHUB, channel="acme/web#1")
    for n in range(BACKLOG):
        invocation = Invocation(
            id=uuid.uuid4().hex,
            platform=Platform.GITHUB,
            actor=Actor(platform=Platform.GITHUB, id="1", name="octocat"),
            text="ping",
            reply_to=target,
            delivery_key=f"comment-{n}",
            received_at=clock.now(),
        )
        assert await inbox.submit(invocation, clock.now())
        kind = OutgoingKind.ACKNOWLEDGEMENT if n % 2 else OutgoingKind.MESSAGE
        message = Outgoing(target=target, reply=Reply(title=f"{n}"), key=f"m-{n}", kind=kind)
        assert await outbox.enqueue(message, clock.now())

    scope = ClaimScope(platforms=frozenset({"github"}))
    inbox_sizes = [len(await inbox.claim(clock.now(), LEASE, LIMIT)) for _ in range(3)]
    outbox_claims = [await outbox.claim(clock.now(), LEASE, LIMIT, scope) for _ in range(3)]

    assert inbox_sizes == [LIMIT] * 3
    assert [len(claims) for claims in outbox_claims] == [LIMIT] * 3
    # messages first, oldest first: the first 48 claimed are the 100 messages' first 48
    keys = [claim.message.key for claims in outbox_claims for claim in claims]
    assert keys == [f"m-{n}" for n in range(0, 2 * 3 * LIMIT, 2)]
