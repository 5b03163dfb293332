"""Slack payloads into invocations, Slack markup into text, API failures into delivery errors."""

from __future__ import annotations

import itertools
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.messages import Actor, Invocation, Platform, ReplyTarget, Target, TargetKind
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from connectors.slack import protocol
from tests.fakes.slack_app import fixture_json, fixture_text, mention_event

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"id-{next(counter)}"


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("status acme/web#12", "status acme/web#12"),
        (
            "status <https://github.com/acme/web/pull/12>",
            "status https://github.com/acme/web/pull/12",
        ),
        ("see <https://x.example/a?b=1&amp;c=2|this>", "see https://x.example/a?b=1&c=2"),
        ("ask <@U123|ada> and <@W456>", "ask @ada and @W456"),
        ("in <#C123|general> or <#C456>", "in #general or #C456"),
        ("<!here> <!channel> <!subteam^S1|@ops>", "@here @channel @ops"),
        ("a &lt;b&gt; &amp;amp;", "a <b> &amp;"),
    ],
)
def test_plain_text_unwraps_markup_and_undoes_escaping(slack: str, plain: str) -> None:
    assert protocol.plain_text(slack) == plain


def test_slash_command_becomes_one_invocation_keyed_by_trigger() -> None:
    body = dict(
        urllib.parse.parse_qsl(fixture_text("commands/slash_command.weather.form-urlencoded.txt"))
    )
    body["text"] = "status <https://github.com/acme/web/pull/12>"

    invocation = protocol.command_invocation(body, invocation_id="inv-1", received_at=NOW)

    assert invocation == Invocation(
        id="inv-1",
        platform=Platform.SLACK,
        actor=Actor(platform=Platform.SLACK, id="U2147483697", name="Steve"),
        text="status https://github.com/acme/web/pull/12",
        reply_to=ReplyTarget(
            platform=Platform.SLACK,
            channel="C2147483705",
            extra=(
                ("context", "/weather status https://github.com/acme/web/pull/12 · asked by Steve"),
                ("response_url", "https://hooks.slack.com/commands/1234/5678"),
                ("response_url_expires", (NOW + timedelta(minutes=29)).isoformat()),
                ("subject", "https://github.com/acme/web/pull/12"),
                ("user", "U2147483697"),
                ("via", "command"),
            ),
        ),
        delivery_key="slack:T0001:13345224609.738474920.8088930838d88f008e0",
        received_at=NOW,
    )


def test_slash_command_without_a_trigger_id_is_refused_by_name() -> None:
    body = fixture_json("commands/slash_command.weather.decoded.json")
    del body["trigger_id"]

    with pytest.raises(protocol.PayloadError, match=r"^the slash command has no trigger_id$"):
        protocol.command_invocation(body, invocation_id="inv-1", received_at=NOW)


def test_mention_yields_one_invocation_per_command_line_answered_in_a_new_thread() -> None:
    text = "<@W111> ping\n```\n<@W111> not this\n```\n&gt; <@W111> nor this\n<@W111>: help ping"
    body = mention_event(text)

    invocations = protocol.event_invocations(body, new_id=ids(), received_at=NOW)

    reply_to = ReplyTarget(
        platform=Platform.SLACK,
        channel="C111",
        thread="1595926230.009600",
        message="1595926230.009600",
        extra=(("user", "W222"),),
    )
    actor = Actor(platform=Platform.SLACK, id="W222", name="W222")
    assert invocations == [
        Invocation("id-1", Platform.SLACK, actor, "ping", reply_to, "slack:T111:Ev111", NOW),
        Invocation("id-2", Platform.SLACK, actor, "help ping", reply_to, "slack:T111:Ev111:2", NOW),
    ]


def test_mention_in_a_known_thread_carries_its_subject_as_target() -> None:
    body = mention_event("<@W111> ping", thread_ts="1595920000.000100")

    [invocation] = protocol.event_invocations(
        body, new_id=ids(), received_at=NOW, subject="acme/web#12"
    )

    assert protocol.thread_of(body) == ("C111", "1595920000.000100")
    assert invocation.target == Target("acme/web", TargetKind.PULL_REQUEST, 12)
    assert invocation.reply_to == ReplyTarget(
        platform=Platform.SLACK,
        channel="C111",
        thread="1595920000.000100",
        message="1595926230.009600",
        extra=(("user", "W222"), ("subject", "acme/web#12")),
    )


def test_mention_of_someone_else_first_is_not_a_command_when_the_bot_is_known() -> None:
    body = mention_event("<@W999> can you <@W111> ping")

    assert protocol.event_invocations(body, new_id=ids(), received_at=NOW) == []


def test_direct_message_is_one_command_without_a_thread() -> None:
    body = fixture_json("events/event_callback.message.channels.json")
    body["event"].update(channel_type="im", channel="D111", text="<@W111> ping")

    [invocation] = protocol.event_invocations(body, new_id=ids(), received_at=NOW)

    assert (invocation.text, invocation.reply_to.channel, invocation.reply_to.thread) == (
        "ping",
        "D111",
        None,
    )


@pytest.mark.parametrize(
    "fixture",
    [
        "events/event_callback.message.bot_message.json",  # a bot's message
        "events/event_callback.message.channels.json",  # a channel message, not a mention
    ],
)
def test_messages_that_are_not_commands_yield_nothing(fixture: str) -> None:
    assert protocol.event_invocations(fixture_json(fixture), new_id=ids(), received_at=NOW) == []


def test_an_edited_mention_is_not_run_again() -> None:
    body = mention_event("<@W111> ping", subtype="message_changed")

    assert protocol.event_invocations(body, new_id=ids(), received_at=NOW) == []


def test_bot_user_comes_from_authorizations_first() -> None:
    body = fixture_json("events/event_callback.message.bot_message.json")

    assert protocol.bot_user_id(body) == "UB111"
    assert protocol.bot_user_id(mention_event("x")) == "W111"
    assert protocol.bot_user_id({}) is None


def test_without_a_known_bot_user_the_leading_mention_is_taken_as_ours() -> None:
    body = mention_event("<@W111> ping")
    del body["authed_users"]

    [invocation] = protocol.event_invocations(body, new_id=ids(), received_at=NOW)

    assert invocation.text == "ping"


@pytest.mark.parametrize(
    ("status", "error", "headers", "expected"),
    [
        (
            429,
            "ratelimited",
            {"Retry-After": "7"},
            RateLimited("chat.postMessage: rate limited", 7),
        ),
        (200, "ratelimited", {}, RateLimited("chat.postMessage: rate limited", 30)),
        (200, "channel_not_found", {}, Undeliverable("chat.postMessage: channel_not_found")),
        (200, "invalid_auth", {}, Undeliverable("chat.postMessage: invalid_auth")),
        (200, "internal_error", {}, DeliveryError("chat.postMessage: internal_error")),
        (503, None, {}, DeliveryError("chat.postMessage: HTTP 503")),
    ],
)
def test_api_failures_map_to_the_outbox_errors(
    status: int, error: str | None, headers: dict[str, str], expected: DeliveryError
) -> None:
    found = protocol.delivery_error("chat.postMessage", status, error, headers)

    assert (type(found), found.reason) == (type(expected), expected.reason)
    if isinstance(expected, RetryLater):
        assert isinstance(found, RetryLater)
        assert found.retry_after == expected.retry_after


def test_response_url_is_usable_until_it_expires() -> None:
    hints = (("response_url", "https://hooks.example/1"), ("response_url_expires", NOW.isoformat()))

    assert (
        protocol.response_url_usable(hints, NOW - timedelta(seconds=1)) == "https://hooks.example/1"
    )
    assert protocol.response_url_usable(hints, NOW) is None
    assert protocol.response_url_usable((), NOW) is None
