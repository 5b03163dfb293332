"""Hostile and odd input at GitHub's front door, through the real app and the fake GitHub.

Each test sends what an attacker or an unlucky user would, then compares whole answers and
counts the writes the fake saw: replies, reactions, rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from bot.app import create_app
from bot.config import ServerSettings
from bot.store.models import AuditEntry, InboxItem, OutboxItem, OutboxStatus
from bot.web import version
from connectors.github.integration import GitHubIntegration
from connectors.github.protocol import sign
from connectors.markdown import marker_comment
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Reaction
from tests.fakes.waiting import wait_until
from tests.fuzzing import FUZZ_SETTINGS, fuzzed, json_bodies, json_values
from tests.github_stack import SECRET, TOKEN, Stack, github_config, github_stack, migrate

REPO = "Codertocat/Hello-World"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@asynccontextmanager
async def server_stack(database_url: str, server: ServerSettings) -> AsyncIterator[Stack]:
    """``github_stack`` with other ``[server]`` settings (body timeout, unverified bodies)."""
    clock = FakeClock()
    await migrate(database_url)
    async with FakeGitHub(clock=clock.now) as fake:
        fake.add_token(TOKEN)
        config = dataclasses.replace(github_config(database_url, fake.url), server=server)
        app = create_app(
            config,
            integrations=[GitHubIntegration(config.github, config.bot)],
            clock=clock,
        )
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield Stack(client=client, github=fake, clock=clock, config=config)


def writes(stack: Stack) -> list[str]:
    """The operations of every write the fake GitHub answered, in order."""
    return [str(call.operation_id) for call in stack.github.calls if call.method in WRITES]


def bot_comments(stack: Stack) -> list[str]:
    return [c.body for c in stack.github.world.thread(REPO, 1) if c.author == "chatops-bot"]


async def sent(count: int) -> bool:
    return await OutboxItem.filter(status=OutboxStatus.SENT).count() >= count


async def invocation_ids() -> list[str]:
    return [row.invocation["id"] for row in await InboxItem.all().order_by("id")]


def pong(invocation_id: str) -> str:
    return (
        f"> @&#8203;chatops ping\n\n✅ **pong**\n\n- **version**: {version()}\n- **uptime**: 0s"
        f"\n\n{marker_comment('reply:' + invocation_id)}"
    )


async def test_a_full_comment_of_4680_commands_is_acked_fast_and_costs_ten_replies_one_notice_and_one_reaction(  # noqa: E501
    database_url: str,
) -> None:
    body = "\n".join(["@chatops ping"] * 4680)
    assert len(body) < 65536  # fits in one GitHub comment
    async with github_stack(database_url) as stack:
        payload = stack.comment(body)
        comment_id = payload["comment"]["id"]

        started = time.monotonic()
        response = await stack.deliver("issue_comment", payload)
        acked_in = time.monotonic() - started

        assert (response.status, await response.json()) == (
            202,
            {"accepted": 10, "duplicates": 0, "notices": 1},
        )
        assert acked_in < 1.0, f"acked in {acked_in:.3f}s"
        await wait_until(lambda: sent(12))
        await asyncio.sleep(0.2)  # time for a wrongly queued extra write to show up
        ids = await invocation_ids()
        notice_key = f"notice:github:issue_comment:{comment_id}:rest"
        notice = (
            "⚠️ **Too many commands**\n\n"
            "This message holds 4,680 commands; only the first 10 were taken. "
            "The other 4,670 were ignored: send them in another message."
            f"\n\n{marker_comment(notice_key)}"
        )
        assert sorted(bot_comments(stack)) == sorted([*(pong(i) for i in ids), notice])
        assert stack.github.reactions == [
            Reaction(REPO, "issue_comment", comment_id, "eyes", "chatops-bot")
        ]
        assert sorted(writes(stack)) == sorted(
            ["issues/create-comment"] * 11 + ["reactions/create-for-issue-comment"]
        )
        assert await InboxItem.all().count() == 10
        assert stack.github.violations == []


async def test_the_same_comment_under_a_second_delivery_id_runs_once(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops ping")

        first = await stack.deliver("issue_comment", payload, delivery="hook-delivery")
        second = await stack.deliver("issue_comment", payload, delivery="app-delivery")

        assert (first.status, await first.json()) == (202, {"accepted": 1, "duplicates": 0})
        assert (second.status, await second.json()) == (202, {"accepted": 0, "duplicates": 1})
        await wait_until(lambda: sent(2))
        await asyncio.sleep(0.2)
        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [pong(invocation_id)]
        assert sorted(writes(stack)) == [
            "issues/create-comment",
            "reactions/create-for-issue-comment",
        ]
        [row] = await InboxItem.all()
        assert row.delivery_key == f"github:issue_comment:{payload['comment']['id']}:0"
        assert dict(row.invocation["reply_to"]["extra"])["delivery"] == "hook-delivery"
        # the audit log keeps the delivery that carried the command
        [ran] = await AuditEntry.filter(invocation_id=invocation_id, decision="ok")
        assert (ran.command, ran.detail) == ("ping", "delivery hook-delivery")


@pytest.mark.parametrize(
    ("line", "stored"),
    [
        ("ping \x00", "ping \ufffd"),
        ("ping \ud800", "ping \ufffd"),
        ("ping \x00\udfff", "ping \ufffd\ufffd"),
    ],
    ids=["nul", "lone high surrogate", "nul and lone low surrogate"],
)
async def test_nul_and_lone_surrogates_are_escaped_and_answered_on_every_database(
    database_url: str, line: str, stored: str
) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops " + line)
        body = json.dumps(payload).encode()  # json escapes them: "\u0000", "\ud800"

        response = await stack.deliver("issue_comment", body)

        assert (response.status, await response.json()) == (
            202,
            {"accepted": 1, "duplicates": 0},
        )
        [row] = await InboxItem.all()
        assert row.invocation["text"] == stored
        await wait_until(lambda: sent(2))
        [reply] = bot_comments(stack)
        assert reply.split("\n\n")[1] == "❌ **Wrong arguments for `ping`**"


async def test_a_command_line_over_the_limit_gets_a_usage_error_saying_so(
    database_url: str,
) -> None:
    long_line = "ping " + "x" * 100_000
    async with github_stack(database_url) as stack:
        payload = stack.comment(f"@chatops {long_line}")
        comment_id = payload["comment"]["id"]

        response = await stack.deliver("issue_comment", payload)

        assert (response.status, await response.json()) == (
            202,
            {"accepted": 0, "duplicates": 0, "notices": 1},
        )
        await wait_until(lambda: sent(1))
        await asyncio.sleep(0.2)
        assert bot_comments(stack) == [
            "> @&#8203;chatops ping " + "x" * 54 + "…\n\n"
            "❌ **Command too long**\n\n"
            "This command is 100,005 characters long; a command may be at most 4,000 "
            "characters. Nothing was run.\n\n"
            "It starts: ping " + "x" * 54 + "…\n\n"
            f"{marker_comment(f'notice:github:issue_comment:{comment_id}:0')}"
        ]
        assert writes(stack) == ["issues/create-comment"]
        assert await InboxItem.all().count() == 0


async def test_two_signature_headers_are_refused_even_when_the_first_is_good(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        body = json.dumps(stack.comment("@chatops ping")).encode()
        headers = CIMultiDict(
            [
                ("X-GitHub-Event", "issue_comment"),
                ("X-GitHub-Delivery", "d-two-signatures"),
                ("Content-Type", "application/json"),
                ("X-Hub-Signature-256", sign(body, SECRET)),
                ("X-Hub-Signature-256", sign(body, "not the secret")),
            ]
        )

        response = await stack.client.post("/webhooks/github", data=body, headers=headers)

        assert (response.status, await response.json()) == (401, {"error": "invalid signature"})
        assert await InboxItem.all().count() == 0
        assert stack.github.calls == []


async def test_an_unsigned_request_is_refused_before_its_body_is_sent(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        server = stack.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(
                b"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-GitHub-Event: issue_comment\r\nX-GitHub-Delivery: d-unsigned\r\n"
                b"Content-Type: application/json\r\nContent-Length: 25000000\r\n\r\n"
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), timeout=2)  # no body sent
        finally:
            writer.close()
        assert status == b"HTTP/1.1 401 Unauthorized\r\n"


async def test_badly_signed_bodies_beyond_the_bound_wait_then_get_503(database_url: str) -> None:
    from bot.config import ServerSettings

    async with server_stack(database_url, ServerSettings(max_unverified_bodies=1)) as stack:
        server = stack.client.server
        _reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(
                b"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-GitHub-Event: issue_comment\r\nX-GitHub-Delivery: d-slow\r\n"
                b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
            await writer.drain()
            await asyncio.sleep(0.1)  # the first request holds the only slot
            second = await stack.deliver(
                "issue_comment", b"{}", headers={"X-Hub-Signature-256": "sha256=" + "1" * 64}
            )
        finally:
            writer.close()
        assert (second.status, await second.json()) == (503, {"error": "busy; try again"})
        assert second.headers["Retry-After"] == "1"


async def test_a_body_that_does_not_arrive_in_time_gets_408(database_url: str) -> None:
    async with server_stack(database_url, ServerSettings(body_timeout=0.3)) as stack:
        server = stack.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(
                b"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-GitHub-Event: issue_comment\r\nX-GitHub-Delivery: d-slow\r\n"
                b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), timeout=3)
        finally:
            writer.close()
        assert status == b"HTTP/1.1 408 Request Timeout\r\n"


@pytest.mark.parametrize(
    "full_name",
    ["../../orgs/evil", "Codertocat/..", "Codertocat/Hello World", "a/b/c", "-x/y", 12],
)
async def test_a_repository_name_outside_githubs_grammar_is_ignored_and_reaches_no_url(
    database_url: str, full_name: object
) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops ping")
        payload["repository"]["full_name"] = full_name

        response = await stack.deliver("issue_comment", payload)
        await asyncio.sleep(0.2)

        assert (response.status, await response.json()) == (
            202,
            {"ignored": "repository.full_name is not owner/name"},
        )
        assert await InboxItem.all().count() == 0
        assert stack.github.calls == []


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (
            "comment.id",
            "12/../../x",
            "a comment, issue or pull request number is not a positive integer",
        ),
        ("comment.id", -1, "a comment, issue or pull request number is not a positive integer"),
        ("issue.number", True, "a comment, issue or pull request number is not a positive integer"),
        ("comment.user.login", "../admin", "comment.user.login is not a GitHub login"),
        ("installation.id", "1/../2", "installation.id is not a positive integer"),
        ("comment.body", 12, "comment.body is not text"),
    ],
)
async def test_odd_ids_logins_and_bodies_are_ignored_with_the_reason(
    database_url: str, field: str, value: object, reason: str
) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops ping")
        *path, last = field.split(".")
        target = payload
        for name in path:
            target = target[name]
        target[last] = value

        response = await stack.deliver("issue_comment", payload)

        assert (response.status, await response.json()) == (202, {"ignored": reason})
        assert await InboxItem.all().count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe{",
        b"null",
    ],
    ids=["array 50,000 deep", "object 50,000 deep", "not UTF-8", "null"],
)
async def test_malformed_signed_bodies_get_400_not_500(database_url: str, body: bytes) -> None:
    async with github_stack(database_url) as stack:
        response = await stack.deliver("issue_comment", body)

        assert (response.status, await response.json()) == (400, {"error": "malformed payload"})


async def test_a_flood_of_bad_signatures_is_counted_and_logged_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with github_stack(database_url) as stack:
        body = json.dumps(stack.comment("@chatops ping")).encode()
        caplog.set_level(logging.WARNING, logger="chatops.github")

        answers = [
            (await stack.deliver("issue_comment", body, secret="wrong")).status for _ in range(200)
        ]
        metrics = await (await stack.client.get("/metrics")).text()

        assert answers == [401] * 200
        refusals = [r.getMessage() for r in caplog.records if r.name == "chatops.github"]
        assert refusals == [
            "refused a github request: bad_signature: delivery '" + stack.sent_deliveries[0] + "'"
        ]
        assert (
            'chatops_rejected_requests_total{door="github",reason="bad_signature"} 200'
            in metrics.splitlines()
        )


JSON_VALUES = json_values(
    [
        "action",
        "comment",
        "body",
        "user",
        "login",
        "id",
        "issue",
        "number",
        "repository",
        "full_name",
        "installation",
        "pull_request",
        "hook_id",
    ]
)
EVENTS = st.sampled_from(
    [
        "issue_comment",
        "pull_request_review_comment",
        "ping",
        "installation",
        "installation_repositories",
        "workflow_run",
        "check_suite",
        "push",
    ]
) | st.text(max_size=20)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fuzzed_deliveries_never_get_a_5xx_or_a_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Hypothesis on event headers and bodies, signed and not: every answer is below 500."""
    assert fuzzed(github_stack(database_url), caplog, fuzz) == []


def fuzz(runner: asyncio.Runner, stack: Stack) -> None:
    @FUZZ_SETTINGS
    @given(
        event=EVENTS,
        body=json_bodies(JSON_VALUES),
        sign=st.booleans(),
        delivery=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    )
    def check(event: str, body: bytes, sign: bool, delivery: str) -> None:
        headers = {"X-GitHub-Event": event} if event.isascii() and event.isprintable() else {}
        response = runner.run(
            stack.deliver(
                event if headers else "issue_comment",
                body,
                delivery=delivery or "d",
                secret=SECRET if sign else None,
                headers=headers,
            )
        )
        assert response.status < 500

    check()
