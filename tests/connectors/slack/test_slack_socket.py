"""Slack over Socket Mode: envelopes from the fake's WebSocket, acks, replies, reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.store.models import InboxItem
from bot.web import version
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_app import (
    all_sent,
    chatops_command,
    mention_event,
    running_app,
    slack_settings,
)
from tests.fakes.waiting import wait_until


@pytest.fixture
async def fake(database_url: str) -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        settings = slack_settings(slack, mode="socket")
        async with running_app(database_url, settings, FakeClock()):
            await wait_until(lambda: slack.live_connections() == 1)
            yield slack
        slack.assert_no_violations()


def pong(thread: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {"channel": "C111", "text": "pong"}
    if thread is not None:
        call["thread_ts"] = thread
    call["blocks"] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: *pong*"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*version*\n{version()}"},
                {"type": "mrkdwn", "text": "*uptime*\n0s"},
            ],
        },
    ]
    return call


async def test_envelopes_are_acked_and_answered(fake: FakeSlack) -> None:
    mention = await fake.send_envelope("events_api", mention_event("<@W111> ping"))
    command = await fake.send_envelope("slash_commands", chatops_command(fake, "ping"))

    await wait_until(lambda: fake.acked(mention) and fake.acked(command))
    await wait_until(all_sent)

    acks = {ack.envelope_id: ack.payload for ack in fake.acks}
    assert acks == {
        mention: None,
        command: {
            "text": ":hourglass_flowing_sand: Working on `/chatops ping`…",
            "response_type": "ephemeral",
        },
    }
    footer = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "/chatops ping · asked by primary-owner"}],
    }
    by_thread = {call.get("thread_ts"): call for call in fake.calls_to("chat.postMessage")}
    assert by_thread == {
        "1595926230.009600": pong("1595926230.009600"),
        None: {**pong(None), "blocks": [*pong(None)["blocks"], footer]},
    }


async def test_forced_disconnect_loses_and_duplicates_nothing(fake: FakeSlack) -> None:
    first_body = mention_event("<@W111> ping")
    second_body = {**mention_event("<@W111> ping", ts="1595926300.000100"), "event_id": "Ev222"}
    first = await fake.send_envelope("events_api", first_body)
    await wait_until(lambda: fake.acked(first))

    # the second envelope's ack is lost with the connection: Slack sends it again
    second = await fake.send_then_drop("events_api", second_body)
    await wait_until(lambda: fake.connections == 2 and fake.acked(second))
    # and Slack retries the first event too, in a new envelope
    again = await fake.send_envelope("events_api", first_body)
    await wait_until(lambda: fake.acked(again))
    await wait_until(all_sent)

    assert sorted(fake.calls_to("chat.postMessage"), key=lambda call: call["thread_ts"]) == [
        pong("1595926230.009600"),
        pong("1595926300.000100"),
    ]
    assert await InboxItem.all().count() == 2


async def test_refresh_request_reconnects_and_keeps_serving(fake: FakeSlack) -> None:
    await fake.request_refresh()
    await wait_until(lambda: fake.connections == 2 and fake.live_connections() == 1)

    envelope = await fake.send_envelope("events_api", mention_event("<@W111> ping"))
    await wait_until(lambda: fake.acked(envelope))
    await wait_until(all_sent)

    assert fake.calls_to("chat.postMessage") == [pong("1595926230.009600")]
