"""GitHub rate limits and credentials under a stream of commands, through the real app.

Each test drives the real application (webhook, workers, outbox, the rate gate in the
store) against the fake GitHub and counts what reaches the fake: writes, replies,
minted tokens. Rate-limit windows use the fake clock (the test moves it past the
window); the pacing test uses the real clock, since pacing is about real seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import builtin_features, create_app
from bot.clock import SystemClock
from bot.features import commands_feature
from bot.store.models import InboxItem, InboxStatus, OutboxItem, OutboxStatus
from connectors.github.integration import GitHubIntegration
from connectors.github.protocol import sign
from connectors.markdown import marker_comment
from tests.connectors.github.test_github_app_mode import app_fake, app_settings, real_time_clock
from tests.connectors.github.test_github_webhook import bot_comments, invocation_ids, pong_body
from tests.fakes.github import Call, FakeGitHub
from tests.fakes.waiting import wait_until
from tests.github_stack import (
    DEPLOY,
    INSTALLATION,
    SECRET,
    TOKEN,
    Stack,
    app_key,
    comment_payload,
    github_config,
    github_stack,
    migrate,
)

REPO = "Codertocat/Hello-World"
AUTHOR = "Codertocat"
MUTATING = {"POST", "PATCH", "PUT", "DELETE"}
TOKEN_MINT = "apps/create-installation-access-token"


def writes(calls: list[Call]) -> list[Call]:
    """Mutating requests made as the bot (minting a token is the App's own request)."""
    return [c for c in calls if c.method in MUTATING and c.operation_id != TOKEN_MINT]


async def count(status: OutboxStatus) -> int:
    counted: int = await OutboxItem.filter(status=status).count()
    return counted


async def commands_done(expected: int) -> bool:
    return await InboxItem.filter(status=InboxStatus.DONE).count() >= expected


async def test_a_429_window_stops_every_write_to_the_installation_until_it_ends(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.fail_next("issues/create-comment", 429, headers={"retry-after": "10"})
        first = await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        assert first.status == 202
        await wait_until(lambda: _answered(stack, "issues/create-comment", 429))
        before = len(writes(stack.github.calls))

        # more commands arrive during the window: each is handled, none is written
        for _ in range(4):
            await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: commands_done(5))
        await wait_until(_all_put_back)  # every sender saw the closed gate
        await asyncio.sleep(0.3)  # the senders keep polling; nothing may go out
        assert len(writes(stack.github.calls)) == before

        stack.clock.advance(10)
        await wait_until(lambda: _replies(stack, 5))
        await wait_until(_settled)

        ids = await invocation_ids()
        assert sorted(bot_comments(stack)) == sorted(pong_body(i) for i in ids)
        statuses = [c.status for c in writes(stack.github.calls)]
        assert statuses[before:] == [201] * (len(statuses) - before)  # each once, no 429
        assert statuses.count(429) == 1
        assert await count(OutboxStatus.DEAD) == 0
        assert stack.github.violations == []


async def test_a_long_run_of_429s_never_makes_a_dead_letter(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        # more 429s in a row than the outbox's max_attempts (8)
        stack.github.fail_next("issues/create-comment", 429, headers={"retry-after": "5"}, times=10)
        await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        for answered in range(1, 11):
            await wait_until(lambda n=answered: _answered(stack, "issues/create-comment", 429, n))
            await wait_until(lambda: _waiting_for_later(stack))
            stack.clock.advance(5)
        await wait_until(lambda: _replies(stack, 1))
        await wait_until(_settled)

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [pong_body(invocation_id)]
        statuses = [c.status for c in stack.github.calls_to("issues/create-comment")]
        assert statuses == [429] * 10 + [201]
        assert await count(OutboxStatus.DEAD) == 0


async def test_writes_of_one_installation_are_a_second_apart_across_two_replicas(
    database_url: str,
) -> None:
    clock = SystemClock()
    await migrate(database_url)
    async with FakeGitHub(clock=clock.now) as github, replicas(database_url, github, 2) as apps:
        github.add_token(TOKEN)
        for app in [*apps, apps[0]]:  # commands through both replicas: a 👀 and a reply each
            payload = comment_payload("@chatops ping")
            payload["comment"]["id"] = github.seed_comment(REPO, 1, "@chatops ping", AUTHOR)
            body = json.dumps(payload).encode()
            response = await app.post("/webhooks/github", data=body, headers=_headers(body))
            assert response.status == 202
        await wait_until(lambda: _replies_at(github, 3), within=20)
        await wait_until(_settled)

        arrived = sorted(c.arrived for c in writes(github.calls))
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrived)]
        # three replies, and the 👀 of each command whose reply had not gone yet
        assert len(arrived) >= 3
        # one second apart as sent, less only by how much longer one request took to
        # reach the fake than the next one: loopback latency, which on a loaded 2-core
        # machine reached 100 ms (without the gate the gaps would be a few milliseconds)
        assert min(gaps) >= 0.8, gaps
        ids = await invocation_ids()
        replies = [c.body for c in github.world.thread(REPO, 1) if c.author == "chatops-bot"]
        assert sorted(replies) == sorted(pong_body(i) for i in ids)
        assert github.violations == []


async def test_a_permission_lookup_answered_429_then_200_runs_the_command(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.set_permission(REPO, AUTHOR, "write")
        stack.github.fail_next(
            "repos/get-collaborator-permission-level", 429, headers={"retry-after": "1"}
        )
        await stack.deliver("issue_comment", stack.comment("@chatops deploy"))
        await wait_until(lambda: commands_done(1))
        stack.clock.advance(1)  # the 429 closed writes for a second
        await wait_until(lambda: _replies(stack, 1))

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [
            "> @&#8203;chatops deploy\n\n✅ **deployed**\n\n"
            f"{marker_comment('reply:' + invocation_id)}"
        ]
        lookups = stack.github.calls_to("repos/get-collaborator-permission-level")
        assert [c.status for c in lookups] == [429, 200]


async def test_a_permission_lookup_rate_limited_beyond_the_budget_says_so(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.set_permission(REPO, AUTHOR, "write")
        stack.github.fail_next(
            "repos/get-collaborator-permission-level", 429, headers={"retry-after": "40"}
        )
        await stack.deliver("issue_comment", stack.comment("@chatops deploy"))
        await wait_until(lambda: commands_done(1))
        stack.clock.advance(40)
        await wait_until(lambda: _replies(stack, 1))

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [
            "> @&#8203;chatops deploy\n\n❌ **Permission could not be checked**\n\n"
            f"Could not check your permission on {REPO}: GitHub rate limit; "
            "try again in 40 s.\n\n"
            f"{marker_comment('reply:' + invocation_id)}"
        ]
        lookups = stack.github.calls_to("repos/get-collaborator-permission-level")
        assert [c.status for c in lookups] == [429]  # 40 s is more than the budget: no wait


async def test_a_401_on_a_write_mints_one_new_token_and_replies_once(database_url: str) -> None:
    private, public = app_key()
    clock = real_time_clock()
    fake = app_fake(clock, public)
    async with github_stack(database_url, fake=fake, clock=clock, **app_settings(private)) as stack:
        stack.github.add_installation(INSTALLATION, "Codertocat", [REPO])
        stack.github.fail_next("issues/create-comment", 401, body={"message": "Bad credentials"})
        await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: _app_replies(stack, 1))
        await wait_until(_settled)

        [invocation_id] = await invocation_ids()
        replies = [c.body for c in stack.github.world.thread(REPO, 1) if c.author.endswith("[bot]")]
        assert replies == [pong_body(invocation_id)]
        assert stack.github.tokens_minted == {INSTALLATION: 2}
        statuses = [c.status for c in stack.github.calls_to("issues/create-comment")]
        assert statuses == [401, 201]
        assert stack.github.violations == []


async def test_a_second_401_on_a_write_is_a_dead_letter_with_the_reason(
    database_url: str,
) -> None:
    private, public = app_key()
    clock = real_time_clock()
    fake = app_fake(clock, public)
    async with github_stack(database_url, fake=fake, clock=clock, **app_settings(private)) as stack:
        stack.github.add_installation(INSTALLATION, "Codertocat", [REPO])
        stack.github.fail_next(
            "issues/create-comment", 401, body={"message": "Bad credentials"}, times=2
        )
        await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: _dead(1))

        [invocation_id] = await invocation_ids()
        row = await OutboxItem.get(key=f"reply:{invocation_id}")
        assert (row.status, row.attempts, row.last_error) == (
            OutboxStatus.DEAD,
            1,
            f"GitHub refused a newly minted token of installation {INSTALLATION} "
            "(401: Bad credentials); check that the App is still installed",
        )
        assert stack.github.tokens_minted == {INSTALLATION: 2}
        statuses = [c.status for c in stack.github.calls_to("issues/create-comment")]
        assert statuses == [401, 401]


async def _answered(stack: Stack, operation: str, status: int, times: int = 1) -> bool:
    return [c.status for c in stack.github.calls_to(operation)].count(status) >= times


async def _all_put_back() -> bool:
    """Every message not sent was tried and put back: none is claimed or untried."""
    untried = await OutboxItem.filter(status=OutboxStatus.PENDING, last_error__isnull=True)
    claimed = await count(OutboxStatus.CLAIMED)
    return not untried and claimed == 0


async def _waiting_for_later(stack: Stack) -> bool:
    """Every message not sent was put back until later (so moving the clock is safe)."""
    later = await OutboxItem.filter(status=OutboxStatus.PENDING, available_at__gt=stack.clock.now())
    return bool(later) and await count(OutboxStatus.CLAIMED) == 0


async def _settled() -> bool:
    """Nothing is left to send."""
    return await count(OutboxStatus.PENDING) + await count(OutboxStatus.CLAIMED) == 0


async def _replies(stack: Stack, expected: int) -> bool:
    return len(bot_comments(stack)) >= expected


async def _replies_at(github: FakeGitHub, expected: int) -> bool:
    return len([c for c in github.world.thread(REPO, 1) if c.author == "chatops-bot"]) >= expected


async def _app_replies(stack: Stack, expected: int) -> bool:
    thread = stack.github.world.thread(REPO, 1)
    return len([c for c in thread if c.author.endswith("[bot]")]) >= expected


async def _dead(expected: int) -> bool:
    return await count(OutboxStatus.DEAD) >= expected


@asynccontextmanager
async def replicas(
    database_url: str, github: FakeGitHub, count: int
) -> AsyncIterator[list[TestClient[Any, Any]]]:
    """``count`` copies of the application on one database, pacing writes as in production."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            config = github_config(database_url, github.url)
            app = create_app(
                config,
                features=[*builtin_features(), commands_feature("tests", [DEPLOY])],
                integrations=[GitHubIntegration(config.github, config.bot)],
                clock=SystemClock(),
            )
            server = TestServer(app, host="127.0.0.1", port=0)
            clients.append(await stack.enter_async_context(TestClient(server)))
        yield clients


def _headers(body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(body, SECRET),
    }
