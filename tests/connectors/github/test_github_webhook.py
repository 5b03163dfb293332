"""GitHub end to end: signed deliveries in, comments and reactions out, at a fake GitHub."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import CI_EVENTS, version
from connectors.github.ci_events import NotTracked
from connectors.markdown import marker_comment
from tests.connectors.github.test_github_ci_events import EXPECTED as CI_UPDATES
from tests.fakes.github_state import Reaction
from tests.fakes.waiting import wait_until
from tests.github_stack import (
    SECRET,
    WEBHOOKS,
    Stack,
    example,
    github_stack,
)

REPO = "Codertocat/Hello-World"
AUTHOR = "Codertocat"


def pong_body(invocation_id: str, quote: str = "@chatops ping") -> str:
    return (
        f"> @&#8203;{quote[1:]}\n\n✅ **pong**\n\n- **version**: {version()}\n- **uptime**: 0s"
        f"\n\n{marker_comment('reply:' + invocation_id)}"
    )


def bot_comments(stack: Stack, number: int = 1) -> list[str]:
    """The bodies of the bot's comments in a thread, oldest first."""
    return [c.body for c in stack.github.world.thread(REPO, number) if c.author == "chatops-bot"]


async def invocation_ids() -> list[str]:
    rows = await InboxItem.all().order_by("id")
    return [row.invocation["id"] for row in rows]


async def sent_count() -> int:
    counted: int = await OutboxItem.filter(status=OutboxStatus.SENT).count()
    return counted


async def test_a_ping_on_a_pull_request_gets_one_reply_and_one_reaction_even_if_redelivered(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.set_permission(REPO, AUTHOR, "read")
        payload = stack.comment("Thanks!\n@chatops ping")
        comment_id = payload["comment"]["id"]

        first = await stack.deliver("issue_comment", payload, delivery="d-1")
        assert (first.status, await first.json()) == (202, {"accepted": 1, "duplicates": 0})
        await wait_until(lambda: _sent(2))
        again = await stack.deliver("issue_comment", payload, delivery="d-1")
        assert (again.status, await again.json()) == (202, {"accepted": 0, "duplicates": 1})
        await asyncio.sleep(0.2)  # give a wrongly accepted duplicate time to show up

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [pong_body(invocation_id)]
        assert stack.github.reactions == [
            Reaction(REPO, "issue_comment", comment_id, "eyes", "chatops-bot")
        ]
        assert await sent_count() == 2
        assert stack.github.violations == []


async def _sent(count: int) -> bool:
    return await sent_count() >= count


async def test_two_commands_in_one_comment_get_two_replies_in_order(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops ping\n@chatops-bot ping")

        response = await stack.deliver("issue_comment", payload)

        assert await response.json() == {"accepted": 2, "duplicates": 0}
        await wait_until(lambda: _sent(3))  # two replies, one 👀 for the comment
        ids = await invocation_ids()
        assert sorted(bot_comments(stack)) == sorted(
            [pong_body(ids[0]), pong_body(ids[1], "@chatops ping")]
        )
        assert stack.github.reactions == [
            Reaction(REPO, "issue_comment", payload["comment"]["id"], "eyes", "chatops-bot")
        ]


async def test_bad_missing_and_sha1_signatures_get_401_and_leave_no_trace(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        payload = stack.comment("@chatops ping")
        body = b'{"action": "created"}'
        attempts = [
            await stack.deliver("issue_comment", payload, secret="not the secret"),
            await stack.deliver("issue_comment", payload, secret=None),
            await stack.deliver(
                "issue_comment",
                payload,
                secret=None,
                headers={"X-Hub-Signature": "sha1=" + "0" * 40},
            ),
            await stack.deliver(
                "issue_comment", body, secret=None, headers={"X-Hub-Signature-256": "sha256=zz"}
            ),
        ]

        answers = [(r.status, await r.json()) for r in attempts]
        assert answers == [(401, {"error": "invalid signature"})] * 4
        assert await InboxItem.all().count() == 0
        assert await OutboxItem.all().count() == 0
        assert stack.github.calls == []


async def test_a_rotated_secret_and_its_predecessor_are_both_accepted(database_url: str) -> None:
    from bot.config import Secret

    secrets = (Secret("env:NEW", "new secret"), Secret("env:OLD", SECRET))
    async with github_stack(database_url, webhook_secrets=secrets) as stack:
        old = await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        new = await stack.deliver(
            "issue_comment", stack.comment("@chatops ping"), secret="new secret"
        )
        assert (old.status, new.status) == (202, 202)


async def test_oversized_bodies_get_413_whether_declared_or_streamed(database_url: str) -> None:
    async with github_stack(database_url, max_body_bytes=2048) as stack:
        declared = await stack.deliver("issue_comment", b"x" * 4096)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(8):
                yield b"y" * 1024

        streamed = await stack.client.post(
            "/webhooks/github",
            data=chunks(),
            headers={
                "X-GitHub-Event": "issue_comment",
                "X-GitHub-Delivery": "d-big",
                "X-Hub-Signature-256": "sha256=" + "0" * 64,  # checked once the body is in
            },
        )

        assert (declared.status, await declared.json()) == (413, {"error": "payload too large"})
        assert (streamed.status, await streamed.json()) == (413, {"error": "payload too large"})
        assert await InboxItem.all().count() == 0


async def test_every_example_payload_is_accepted_or_deliberately_ignored(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        answers = {}
        for path in sorted(WEBHOOKS.glob("*.json")):
            event = path.name.partition(".")[0]
            response = await stack.deliver(event, path.read_bytes())
            answers[path.name] = (response.status, await response.json())
        tracking = stack.client.app.get(CI_EVENTS) is not None

        assert answers == {name: expected_answer(name, tracking) for name in sorted(answers)}
        assert len(answers) == 67
        assert await InboxItem.all().count() == 0


def expected_answer(name: str, tracking: bool) -> tuple[int, dict[str, object]]:
    """What the receiver answers for one of GitHub's examples (none carries a command)."""
    event, _, rest = name.partition(".")
    action = rest.split(".")[0]
    if event == "ping":
        return 200, {"ok": True, "event": "ping"}
    if event in ("installation", "installation_repositories"):
        return 202, {"recorded": event}
    if name in CI_UPDATES:
        update = CI_UPDATES[name]
        if isinstance(update, NotTracked):
            return 202, {"ignored": update.reason}
        return 202, {"observed": event} if tracking else {"ignored": "no CI tracking"}
    if event in ("issue_comment", "pull_request_review_comment") and action == "created":
        return 202, {"ignored": "no command in the comment"}
    if event == "issue_comment":
        return 202, {"ignored": f"issue_comment.{action} is not a new comment"}
    return 202, {"ignored": f"{event} events carry no commands"}


async def test_a_signed_delivery_without_event_headers_or_json_gets_400(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        no_event = await stack.deliver("", stack.comment("@chatops ping"))
        not_json = await stack.deliver("issue_comment", b"{not json")
        not_object = await stack.deliver("issue_comment", b"[1, 2]")
        wrong_shape = await stack.deliver("issue_comment", b'{"action": "created"}')

        answers = [(r.status, await r.json()) for r in (no_event, not_json, not_object)]
        assert answers == [
            (400, {"error": "missing X-GitHub-Event or X-GitHub-Delivery"}),
            (400, {"error": "malformed payload"}),
            (400, {"error": "malformed payload"}),
        ]
        assert (wrong_shape.status, await wrong_shape.json()) == (
            400,
            {"error": "malformed payload"},
        )


async def test_a_reader_running_a_write_command_is_denied_naming_the_level(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.set_permission(REPO, AUTHOR, "triage")

        await stack.deliver("issue_comment", stack.comment("@chatops deploy"))
        await wait_until(lambda: _sent(2))

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [
            "> @&#8203;chatops deploy\n\n❌ **Permission denied**\n\n"
            "`deploy` needs write access; you have read.\n\n"
            f"{marker_comment('reply:' + invocation_id)}"
        ]


async def test_a_writer_may_run_it_and_a_failed_permission_lookup_is_reported_unchecked(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.set_permission(REPO, AUTHOR, "maintain")
        await stack.deliver("issue_comment", stack.comment("@chatops deploy"))
        await wait_until(lambda: _sent(2))
        stack.github.set_permission(REPO, "hubot", "admin")
        stack.github.fail_next("repos/get-collaborator-permission-level", 502)
        await stack.deliver("issue_comment", stack.comment("@chatops deploy", login="hubot"))
        await wait_until(lambda: _sent(4))

        titles = [body.split("\n")[2] for body in bot_comments(stack)]
        assert titles == ["✅ **deployed**", "❌ **Permission could not be checked**"]


async def test_a_429_with_retry_after_delays_the_reply_which_is_then_sent_once(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.fail_next("issues/create-comment", 429, headers={"retry-after": "30"})

        await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: _calls(stack, "issues/create-comment", 1))
        await asyncio.sleep(0.3)
        assert len(stack.github.calls_to("issues/create-comment")) == 1  # still waiting
        stack.clock.advance(31)
        await wait_until(lambda: _sent(2))

        [invocation_id] = await invocation_ids()
        assert bot_comments(stack) == [pong_body(invocation_id)]
        statuses = [call.status for call in stack.github.calls_to("issues/create-comment")]
        assert statuses == [429, 201]
        row = await OutboxItem.get(key=f"reply:{invocation_id}")
        # the rate-limited attempt does not count towards the dead-letter limit
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)


async def _calls(stack: Stack, operation: str, count: int) -> bool:
    return len(stack.github.calls_to(operation)) >= count


async def test_a_review_comment_is_answered_in_its_review_thread(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        payload = example("pull_request_review_comment.created.json")
        payload["comment"]["body"] = "@chatops ping"
        comment_id = stack.github.seed_review_comment(REPO, 2, "@chatops ping", "Codertocat")
        payload["comment"]["id"] = comment_id

        await stack.deliver("pull_request_review_comment", payload)
        await wait_until(lambda: _sent(2))

        replies = stack.github.calls_to("pulls/create-reply-for-review-comment")
        assert [(c.path, c.status) for c in replies] == [
            (f"/repos/{REPO}/pulls/2/comments/{comment_id}/replies", 201)
        ]
        assert stack.github.reactions == [
            Reaction(REPO, "pull_request_review_comment", comment_id, "eyes", "chatops-bot")
        ]


async def test_the_bots_own_comments_are_never_commands(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        response = await stack.deliver(
            "issue_comment", stack.comment("@chatops ping", login="chatops-bot")
        )
        assert await response.json() == {"ignored": "comment by the bot account chatops-bot"}


async def test_refuses_to_start_without_any_webhook_secret(database_url: str) -> None:
    from aiohttp.test_utils import TestServer

    from bot.app import create_app
    from bot.platforms import StartupError
    from connectors.github.integration import GitHubIntegration
    from tests.github_stack import github_config, migrate

    await migrate(database_url)
    config = github_config(database_url, "http://127.0.0.1:9", webhook_secrets=())
    app = create_app(
        config,
        integrations=[GitHubIntegration(config.github, config.bot)],
    )
    with pytest.raises(StartupError) as refused:
        async with TestServer(app, host="127.0.0.1", port=0):
            raise AssertionError("the application started without a webhook secret")
    await app.cleanup()  # leave the contexts that did start (the database)
    assert str(refused.value) == (
        "GitHub is enabled but has no webhook secret: set github.webhook_secrets, "
        "or run `chatops github setup-repo OWNER/REPO`"
    )
