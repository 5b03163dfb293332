"""A forge command is acknowledged (👀) only when its answer is slower than
``outbox.acknowledge_after``: a fast command costs GitHub one write, a slow one two."""

from __future__ import annotations

import asyncio

from bot.arguments import NoArgs
from bot.context import Context
from bot.messages import Reply, Status
from bot.router import Command
from bot.store.models import OutboxItem, OutboxStatus
from tests.connectors.github.test_github_webhook import (
    AUTHOR,
    REPO,
    bot_comments,
    invocation_ids,
    pong_body,
)
from tests.fakes.github_state import Reaction
from tests.fakes.waiting import wait_until
from tests.github_stack import github_stack

DELAY = 2.0


async def test_a_fast_answer_leaves_the_acknowledgement_unsent(database_url: str) -> None:
    async with github_stack(database_url, acknowledge_after=DELAY) as stack:
        stack.github.set_permission(REPO, AUTHOR, "read")
        response = await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        assert (response.status, await response.json()) == (202, {"accepted": 1, "duplicates": 0})
        await wait_until(lambda: len(bot_comments(stack)) == 1)

        stack.clock.advance(DELAY * 3)  # long past the delay
        await asyncio.sleep(0.3)  # an acknowledgement still pending would go out now

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [pong_body(invocation_id)]
        assert stack.github.reactions == []
        acknowledgement = await OutboxItem.get(key=f"ack:{invocation_id}")
        assert (acknowledgement.status, acknowledgement.last_error) == (
            OutboxStatus.DROPPED,
            f"superseded by reply:{invocation_id}",
        )
        assert stack.github.violations == []


async def test_a_slow_answer_is_acknowledged_when_the_delay_is_up(database_url: str) -> None:
    release = asyncio.Event()

    async def slow(_ctx: Context, _args: NoArgs) -> Reply:
        await release.wait()
        return Reply(title="done", status=Status.OK)

    command = Command(
        name="slow", summary="Answers when the test says so.", handler=slow, args=NoArgs
    )
    async with github_stack(
        database_url, acknowledge_after=DELAY, extra_commands=(command,)
    ) as stack:
        stack.github.set_permission(REPO, AUTHOR, "read")
        payload = stack.comment("@chatops slow")
        response = await stack.deliver("issue_comment", payload)
        assert (response.status, await response.json()) == (202, {"accepted": 1, "duplicates": 0})

        await asyncio.sleep(0.3)  # the command runs; its acknowledgement is not due yet
        assert stack.github.reactions == []
        stack.clock.advance(DELAY)
        eyes = Reaction(REPO, "issue_comment", payload["comment"]["id"], "eyes", "chatops-bot")
        await wait_until(lambda: stack.github.reactions == [eyes])
        assert bot_comments(stack) == []

        release.set()
        await wait_until(lambda: len(bot_comments(stack)) == 1)
        assert stack.github.reactions == [eyes]
        assert stack.github.violations == []
