"""Slack over HTTP: signed requests to the real application, replies at the fake Web API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.store.models import InboxItem
from bot.store.state import StateStore
from bot.web import version
from connectors.slack.threads import ThreadSubjects
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_app import (
    all_sent,
    chatops_command,
    fixture_json,
    fixture_text,
    form_body,
    mention_event,
    running_app,
    signed,
    slack_settings,
)
from tests.fakes.waiting import wait_until

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack
        slack.assert_no_violations()


@pytest.fixture
async def client(database_url: str, fake: FakeSlack) -> AsyncIterator[TestClient[Any, Any]]:
    async with running_app(database_url, slack_settings(fake), FakeClock()) as test_client:
        yield test_client


async def post(
    client: TestClient[Any, Any],
    body: str,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    response = await client.post(
        "/slack/events",
        data=body.encode(),
        headers={"Content-Type": content_type, **(headers or signed(body))},
    )
    return response.status, await response.text()


def pong_blocks(context: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: *pong*"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*version*\n{version()}"},
                {"type": "mrkdwn", "text": "*uptime*\n0s"},
            ],
        },
        *(context or []),
    ]


async def test_slash_command_is_acked_at_once_and_answered_once_in_its_channel(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = form_body(chatops_command(fake, "ping"))

    status, text = await post(client, body, FORM)
    await wait_until(all_sent)

    assert (status, json.loads(text)) == (
        200,
        {
            "text": ":hourglass_flowing_sand: Working on `/chatops ping`…",
            "response_type": "ephemeral",
        },
    )
    footer = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "/chatops ping · asked by primary-owner"}],
    }
    assert fake.calls_to("chat.postMessage") == [
        {"channel": "C111", "text": "pong", "blocks": pong_blocks([footer])}
    ]
    assert fake.responses == []


async def test_mention_is_answered_in_its_thread_and_a_retry_of_it_adds_nothing(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = json.dumps(mention_event("<@W111> ping"))

    first = await post(client, body, JSON)
    await wait_until(all_sent)
    retried = await post(
        client,
        body,
        JSON,
        {**signed(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await wait_until(all_sent)

    assert (first[0], retried[0]) == (200, 200)
    assert fake.calls_to("chat.postMessage") == [
        {
            "channel": "C111",
            "text": "pong",
            "thread_ts": "1595926230.009600",
            "blocks": pong_blocks(),
        }
    ]
    assert await InboxItem.all().count() == 1


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ("stale", "timestamp over 300 s old"),
        ("forged", "signed with another secret"),
        ("missing", "no signature at all"),
    ],
)
async def test_stale_or_forged_requests_get_401_and_leave_no_trace(
    client: TestClient[Any, Any], fake: FakeSlack, headers: str, why: str
) -> None:
    body = form_body(chatops_command(fake, "ping"))
    chosen = {
        "stale": signed(body, timestamp=int(time.time()) - 301),
        "forged": signed(body, secret="not-the-signing-secret"),
        "missing": {},
    }[headers]

    status, _ = await post(client, body, FORM, chosen or {"X-Slack-Request-Timestamp": "1"})

    assert status == 401, why
    assert await InboxItem.all().count() == 0
    assert fake.calls == []


async def test_url_verification_is_answered_with_the_challenge(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = fixture_text("events/url_verification.json")

    status, text = await post(client, body, JSON)

    assert (status, json.loads(text)) == (200, {"challenge": json.loads(body)["challenge"]})
    assert fake.calls == []


async def test_echoed_channel_mention_reaches_slack_escaped(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    # a user who types <!channel> literally is sent to us as &lt;!channel&gt;
    body = form_body(chatops_command(fake, "&lt;!channel&gt; hi"))

    status, text = await post(client, body, FORM)
    await wait_until(all_sent)

    assert (status, json.loads(text)) == (
        200,
        {
            "text": ":hourglass_flowing_sand: Working on `/chatops &lt;!channel&gt; hi`…",
            "response_type": "ephemeral",
        },
    )
    # the unknown command is echoed in an error, which only the asker sees
    assert fake.calls_to("chat.postEphemeral") == [
        {
            "channel": "C111",
            "user": "W111",
            "text": (
                "Unknown command: &lt;!channel&gt;\n"
                "Say `help` to see the commands you can run here."
            ),
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": ":x: *Unknown command: &lt;!channel&gt;*"},
                },
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "Say `help` to see the commands you can run here.",
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": "/chatops &lt;!channel&gt; hi · asked by primary-owner",
                        }
                    ],
                },
            ],
        }
    ]
    assert fake.calls_to("chat.postMessage") == []


async def test_button_clicks_and_other_events_are_acked_without_effect(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    click = fixture_text("interactivity/block_actions.button.form-urlencoded.txt")
    channel_message = fixture_text("events/event_callback.message.channels.json")
    other = json.dumps({**mention_event("x"), "event": {"type": "reaction_added", "user": "W1"}})

    answers = [
        await post(client, click, FORM),
        await post(client, channel_message, JSON),
        await post(client, other, JSON),
    ]

    assert [status for status, _ in answers] == [200, 200, 200]
    assert await InboxItem.all().count() == 0
    assert fake.calls == []


async def test_a_mention_in_a_thread_the_bot_started_about_a_target_gets_that_target(
    client: TestClient[Any, Any],
) -> None:
    now = FakeClock().now()
    await ThreadSubjects(StateStore()).remember("C111", "1595920000.000100", "acme/web#12", now)
    body = json.dumps(mention_event("<@W111> ping", thread_ts="1595920000.000100"))

    status, _ = await post(client, body, JSON)

    [row] = await InboxItem.all()
    assert status == 200
    assert row.invocation["target"] == {
        "repo": "acme/web",
        "kind": "pull_request",
        "number": 12,
        "forge": None,
    }


async def test_a_direct_message_is_answered_in_the_conversation(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = fixture_json("events/event_callback.message.channels.json")
    body["event"].update(channel_type="im", channel="D111", text="ping")

    status, _ = await post(client, json.dumps(body), JSON)
    await wait_until(all_sent)

    assert status == 200
    assert fake.calls_to("chat.postMessage") == [
        {"channel": "D111", "text": "pong", "blocks": pong_blocks()}
    ]


async def test_unreadable_payloads_are_answered_clearly_and_store_nothing(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    command = chatops_command(fake, "ping")
    del command["trigger_id"]
    event = mention_event("<@W111> ping")
    del event["event_id"]

    command_answer = await post(client, form_body(command), FORM)
    event_answer = await post(client, json.dumps(event), JSON)

    assert (command_answer[0], json.loads(command_answer[1])) == (
        200,
        {
            "text": "Sorry, that command could not be read: the slash command has no trigger_id.",
            "response_type": "ephemeral",
        },
    )
    assert event_answer[0] == 200
    assert await InboxItem.all().count() == 0
    assert fake.calls == []
