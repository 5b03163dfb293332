"""GitLab end to end: token-authenticated deliveries in, notes and award emoji out, at a fake
GitLab."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.config import Secret
from bot.platforms import StartupError
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import CI_EVENTS, version
from connectors.gitlab import protocol
from connectors.gitlab.integration import GitLabIntegration
from connectors.gitlab.protocol import Signature
from connectors.markdown import marker_comment
from tests.fakes.waiting import wait_until
from tests.github_stack import migrate
from tests.gitlab_stack import (
    MR_IID,
    PROJECT,
    SIGNING_TOKEN,
    WEBHOOK_TOKEN,
    WEBHOOKS,
    Stack,
    gitlab_config,
    gitlab_stack,
)

MR = f"merge_requests/{MR_IID}"


def pong_body(invocation_id: str, quote: str = "@chatops ping") -> str:
    return (
        f"> @&#8203;{quote[1:]}\n\n✅ **pong**\n\n- **version**: {version()}\n- **uptime**: 0s"
        f"\n\n{marker_comment('reply:' + invocation_id)}"
    )


def bot_notes(stack: Stack, thread: str = MR) -> list[str]:
    """The bodies of the bot's notes in a thread, oldest first."""
    bot = stack.gitlab.bot
    return [note.body for note in stack.gitlab.notes(PROJECT, thread) if note.author == bot]


async def invocation_ids() -> list[str]:
    rows = await InboxItem.all().order_by("id")
    return [row.invocation["id"] for row in rows]


async def sent_count() -> int:
    counted: int = await OutboxItem.filter(status=OutboxStatus.SENT).count()
    return counted


async def _sent(count: int) -> bool:
    return await sent_count() >= count


async def test_a_ping_on_a_merge_request_gets_one_note_and_one_award_even_if_redelivered(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("Thanks!\n@chatops ping")
        note_id = payload["object_attributes"]["id"]

        first = await stack.deliver(payload, idempotency_key="k-1")
        assert (first.status, await first.json()) == (200, {"accepted": 1, "duplicates": 0})
        await wait_until(lambda: _sent(2))
        again = await stack.deliver(payload, idempotency_key="k-1")
        assert (again.status, await again.json()) == (200, {"accepted": 0, "duplicates": 1})
        await asyncio.sleep(0.2)  # give a wrongly accepted duplicate time to show up

        [invocation_id] = await invocation_ids()
        assert bot_notes(stack) == [pong_body(invocation_id)]
        assert [(a.note_id, a.name, a.user) for a in stack.gitlab.awards] == [
            (note_id, "eyes", stack.gitlab.bot)
        ]
        assert await sent_count() == 2
        assert [row.delivery_key for row in await InboxItem.all()] == [f"gitlab:note:{note_id}:0"]


async def test_a_signed_note_is_accepted_and_a_bad_signature_refused(database_url: str) -> None:
    signing = (Secret("env:GITLAB_SIGNING_TOKEN", SIGNING_TOKEN),)
    async with gitlab_stack(database_url, signing_tokens=signing) as stack:
        wrong = "whsec_" + "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg="
        bad = await stack.deliver(stack.note("@chatops ping"), signing_token=wrong)
        unsigned = await stack.deliver(stack.note("@chatops ping"))
        signed = await stack.deliver(stack.note("@chatops ping"), signing_token=SIGNING_TOKEN)

        assert (bad.status, await bad.json()) == (401, {"error": "invalid signature"})
        assert (unsigned.status, await unsigned.json()) == (200, {"accepted": 1, "duplicates": 0})
        assert (signed.status, await signed.json()) == (200, {"accepted": 1, "duplicates": 0})
        assert await InboxItem.all().count() == 2


async def test_a_required_signature_that_is_missing_or_stale_is_refused(
    database_url: str,
) -> None:
    signing = (Secret("env:GITLAB_SIGNING_TOKEN", SIGNING_TOKEN),)
    async with gitlab_stack(database_url, signing_tokens=signing, require_signature=True) as stack:
        unsigned = await stack.deliver(stack.note("@chatops ping"))
        payload = stack.note("@chatops ping")
        now = int(stack.clock.now().timestamp())
        stale = await stack.deliver(payload, signing_token=SIGNING_TOKEN, signed_at=now - 301)
        early = await stack.deliver(payload, signing_token=SIGNING_TOKEN, signed_at=now + 301)
        fresh = await stack.deliver(payload, signing_token=SIGNING_TOKEN, signed_at=now - 300)

        assert (unsigned.status, await unsigned.json()) == (401, {"error": "invalid signature"})
        assert (stale.status, await stale.json()) == (401, {"error": "invalid signature"})
        assert (early.status, await early.json()) == (401, {"error": "invalid signature"})
        assert (fresh.status, await fresh.json()) == (200, {"accepted": 1, "duplicates": 0})


async def test_a_wrong_or_missing_token_gets_401_and_leaves_no_trace(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("@chatops ping")
        calls_before = len(stack.gitlab.calls)
        attempts = [
            await stack.deliver(payload, token="not the token"),
            await stack.deliver(payload, token=None),
            await stack.deliver(payload, token=""),
            await stack.deliver(payload, token=WEBHOOK_TOKEN[:-1]),
        ]

        answers = [(r.status, await r.json()) for r in attempts]
        assert answers == [(401, {"error": "invalid token"})] * 4
        assert await InboxItem.all().count() == 0
        assert await OutboxItem.all().count() == 0
        assert stack.gitlab.calls[calls_before:] == []


async def test_a_rotated_token_and_its_predecessor_are_both_accepted(database_url: str) -> None:
    tokens = (Secret("env:NEW", "new token"), Secret("env:OLD", WEBHOOK_TOKEN))
    async with gitlab_stack(database_url, webhook_tokens=tokens) as stack:
        old = await stack.deliver(stack.note("@chatops ping"))
        new = await stack.deliver(stack.note("@chatops ping"), token="new token")
        assert (old.status, new.status) == (200, 200)


# (event header, expected answer) for every payload GitLab's docs and go-gitlab publish;
# none of the notes carries a command.
EXPECTED: dict[str, tuple[str, dict[str, object]]] = {
    "docs/job.json": ("Job Hook", {"ignored": "Job Hook events carry no commands"}),
    "docs/merge_request.json": (
        "Merge Request Hook",
        {"ignored": "Merge Request Hook: nothing the run tracker follows"},
    ),
    "docs/note.issue.json": ("Note Hook", {"ignored": "no command in the note"}),
    "docs/note.merge_request.json": ("Note Hook", {"ignored": "no command in the note"}),
    "docs/pipeline.json": ("Pipeline Hook", {"observed": "Pipeline Hook"}),
    "docs/push.json": ("Push Hook", {"ignored": "Push Hook events carry no commands"}),
    "go-gitlab/build.json": ("Job Hook", {"ignored": "Job Hook events carry no commands"}),
    "go-gitlab/issue.json": ("Issue Hook", {"ignored": "Issue Hook events carry no commands"}),
    "go-gitlab/job.json": ("Job Hook", {"ignored": "Job Hook events carry no commands"}),
    "go-gitlab/merge_request.json": (
        "Merge Request Hook",
        {"ignored": "Merge Request Hook: nothing the run tracker follows"},
    ),
    "go-gitlab/note_issue.json": ("Note Hook", {"ignored": "no command in the note"}),
    "go-gitlab/note_merge_request.json": ("Note Hook", {"ignored": "no command in the note"}),
    "go-gitlab/pipeline.json": ("Pipeline Hook", {"observed": "Pipeline Hook"}),
    "go-gitlab/push.json": ("Push Hook", {"ignored": "Push Hook events carry no commands"}),
}


async def test_every_example_payload_is_accepted_or_deliberately_ignored(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        assert stack.client.app.get(CI_EVENTS) is not None
        answers = {}
        for path in sorted(WEBHOOKS.glob("*/*.json")):
            name = f"{path.parent.name}/{path.name}"
            event = EXPECTED[name][0]
            response = await stack.deliver(path.read_bytes(), event=event)
            answers[name] = (event, {"status": response.status, **await response.json()})

        assert answers == {
            name: (event, {"status": 200, **answer}) for name, (event, answer) in EXPECTED.items()
        }
        assert await InboxItem.all().count() == 0


async def test_a_note_with_a_command_in_each_example_is_accepted(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        answers = []
        for number, name in enumerate(sorted(EXPECTED)):
            if EXPECTED[name][0] != "Note Hook":
                continue
            text = (WEBHOOKS / name).read_text().replace("This MR needs work.", "@chatops ping")
            text = text.replace('"Hello world"', '"@chatops ping"')
            payload = json.loads(text)
            # the examples reuse note ids; one note id is one note, answered once
            payload["object_attributes"]["id"] = 9000 + number
            response = await stack.deliver(payload)
            answers.append((response.status, await response.json()))

        assert answers == [(200, {"accepted": 1, "duplicates": 0})] * 4
        keys = [
            row.invocation["reply_to"]["thread"] for row in await InboxItem.all().order_by("id")
        ]
        assert keys == ["issues/17", "merge_requests/1", "issues/17", "merge_requests/1"]


async def test_an_authenticated_delivery_that_is_not_an_event_gets_400(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("@chatops ping")
        no_event = await stack.deliver(payload, event="")
        not_json = await stack.deliver(b"{not json")
        not_object = await stack.deliver(b"[1, 2]")
        wrong_shape = await stack.deliver(b'{"object_attributes": {"noteable_type": "Issue"}}')

        answers = [
            (r.status, await r.json()) for r in (no_event, not_json, not_object, wrong_shape)
        ]
        assert answers == [
            (400, {"error": "missing X-Gitlab-Event"}),
            (400, {"error": "malformed payload"}),
            (400, {"error": "malformed payload"}),
            (400, {"error": "malformed payload"}),
        ]
        assert await InboxItem.all().count() == 0


async def test_oversized_bodies_get_413(database_url: str) -> None:
    async with gitlab_stack(database_url, max_body_bytes=2048) as stack:
        response = await stack.deliver(b"x" * 4096)
        assert (response.status, await response.json()) == (413, {"error": "payload too large"})


async def test_edited_system_and_own_notes_are_never_commands(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        edited = stack.note("@chatops ping")
        edited["object_attributes"]["action"] = "update"
        system = stack.note("@chatops ping")
        system["object_attributes"]["system"] = True
        own = stack.note("@chatops ping", author=stack.gitlab.bot)
        token_bot = stack.note(
            "@chatops ping", author=stack.gitlab.add_user("project_5_bot_0123abcd")
        )

        answers = [await (await stack.deliver(p)).json() for p in (edited, system, own, token_bot)]
        assert answers == [
            {"ignored": "a note update, not a new note"},
            {"ignored": "a system note"},
            {"ignored": "a note by the bot user chatops-bot"},
            {"ignored": "a note by the bot user project_5_bot_0123abcd"},
        ]


async def test_refuses_to_start_without_a_webhook_token(database_url: str) -> None:
    await migrate(database_url)
    config = gitlab_config(database_url, "http://127.0.0.1:9", webhook_tokens=())
    app = create_app(
        config,
        integrations=[GitLabIntegration(config.gitlab, config.bot)],
    )
    with pytest.raises(StartupError) as refused:
        async with TestServer(app, host="127.0.0.1", port=0):
            raise AssertionError("the application started without a webhook token")
    await app.cleanup()  # leave the contexts that did start (the database)
    assert str(refused.value) == (
        "GitLab is enabled but has no webhook token: set gitlab.webhook_tokens to the secret "
        "token of the project's webhook"
    )


async def test_refuses_to_start_with_a_signing_token_that_is_not_base64(database_url: str) -> None:
    await migrate(database_url)
    signing = (Secret("env:S", "whsec_not base64!"),)
    config = gitlab_config(database_url, "http://127.0.0.1:9", signing_tokens=signing)
    app = create_app(
        config,
        integrations=[GitLabIntegration(config.gitlab, config.bot)],
    )
    with pytest.raises(StartupError) as refused:
        async with TestServer(app, host="127.0.0.1", port=0):
            raise AssertionError("the application started with a bad signing token")
    await app.cleanup()
    assert str(refused.value) == "gitlab.signing_tokens[0]: expected whsec_ followed by base64"


async def test_a_429_with_retry_after_delays_the_note_which_is_then_posted_once(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        notes = f"/api/v4/projects/{PROJECT}/{MR}/notes"
        stack.gitlab.fail_next(f"POST {notes}", 429, headers={"Retry-After": "30"})

        await stack.deliver(stack.note("@chatops ping"))
        await wait_until(lambda: _posted(stack, notes, 1))
        await asyncio.sleep(0.3)
        assert len(stack.gitlab.calls_matching("POST", notes)) == 1  # still waiting
        stack.clock.advance(31)
        await wait_until(lambda: _sent(2))

        [invocation_id] = await invocation_ids()
        assert bot_notes(stack) == [pong_body(invocation_id)]
        assert [call.status for call in stack.gitlab.calls_matching("POST", notes)] == [429, 201]
        row = await OutboxItem.get(key=f"reply:{invocation_id}")
        # the rate-limited attempt does not count towards the dead-letter limit
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)


async def _posted(stack: Stack, path: str, count: int) -> bool:
    return len(stack.gitlab.calls_matching("POST", path)) >= count


def test_the_token_check_accepts_any_configured_token_and_nothing_else() -> None:
    configured = ["old", "new"]
    assert [
        protocol.token_matches(given, configured) for given in ("old", "new", "ol", "", None)
    ] == [True, True, False, False, False]
    assert protocol.token_matches("", [""]) is False  # an empty configured token never matches


def test_signatures_follow_the_standard_webhooks_scheme() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    token = "whsec_" + base64.b64encode(key).decode()
    body, webhook_id, at = b'{"a": 1}', "msg_1", "1700000000"
    digest = hmac.new(key, b'msg_1.1700000000.{"a": 1}', hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    now = datetime.fromtimestamp(1700000100, UTC)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": at}

    assert protocol.sign(body, token, webhook_id, at) == expected
    verdicts = [
        protocol.check_signature(body, {**headers, "webhook-signature": value}, [token], now)
        for value in (expected, f"v1,bm9wZQ== {expected}", "v1,bm9wZQ==", expected[1:])
    ]
    assert verdicts == [Signature.VALID, Signature.VALID, Signature.INVALID, Signature.INVALID]
    assert protocol.check_signature(body, headers, [token], now) is Signature.ABSENT
    tampered = protocol.check_signature(
        b'{"a": 2}', {**headers, "webhook-signature": expected}, [token], now
    )
    assert tampered is Signature.INVALID
