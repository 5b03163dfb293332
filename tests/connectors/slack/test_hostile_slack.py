"""Hostile and odd input at Slack's front door, through the real app and the fake Slack."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from bot.store.models import InboxItem, OutboxItem
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_app import (
    SIGNING_SECRET,
    chatops_command,
    form_body,
    mention_event,
    running_app,
    signed,
    slack_settings,
)
from tests.fuzzing import FUZZ_SETTINGS, fuzzed, json_bodies, json_values

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@pytest.fixture
async def client(database_url: str, fake: FakeSlack) -> AsyncIterator[TestClient[Any, Any]]:
    async with running_app(database_url, slack_settings(fake), FakeClock()) as test_client:
        yield test_client


async def post(
    client: TestClient[Any, Any], body: str | bytes, content_type: str, headers: dict[str, str]
) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    response = await client.post(
        "/slack/events", data=data, headers={"Content-Type": content_type, **headers}
    )
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def signed_bytes(body: bytes, timestamp: str) -> dict[str, str]:
    digest = hmac.new(
        SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


@pytest.mark.parametrize("timestamp", ["17e8", "-1", "1.5e9", "", "٣٣٣"])
async def test_an_odd_timestamp_is_a_401_not_a_500(
    client: TestClient[Any, Any], fake: FakeSlack, timestamp: str
) -> None:
    body = form_body(chatops_command(fake, "ping"))

    answer = await post(client, body, FORM, signed_bytes(body.encode(), timestamp))

    assert answer == (401, {"error": "invalid request signature"})
    assert await InboxItem.all().count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback", "event": ', JSON),
        (b"[" * 50_000 + b"]" * 50_000, JSON),
        (b"payload=" + b"%5B" * 50_000, FORM),
        (b"payload=%7Bnot+json", FORM),
        (b"\xff\xfe", JSON),
        (b"[1, 2]", JSON),
        (b'{"":null,"user":false}', JSON),
        (b'{"type": "event_callback", "event": {"user": 7}}', JSON),
    ],
    ids=[
        "truncated JSON",
        "JSON 50,000 deep",
        "form payload deep",
        "form payload bad",
        "not UTF-8",
        "not an object",
        "a user that is not an object or an id",
        "an event user that is a number",
    ],
)
async def test_signed_malformed_bodies_get_400_before_bolt_parses_them(
    client: TestClient[Any, Any], body: bytes, content_type: str
) -> None:
    headers = signed_bytes(body, str(int(time.time())))

    answer = await post(client, body, content_type, headers)

    assert answer == (400, {"error": "malformed payload"})


async def test_two_signature_headers_are_refused(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = form_body(chatops_command(fake, "ping"))
    good = signed(body)
    response = await client.post(
        "/slack/events",
        data=body.encode(),
        headers=[
            ("Content-Type", FORM),
            ("X-Slack-Request-Timestamp", good["X-Slack-Request-Timestamp"]),
            ("X-Slack-Signature", good["X-Slack-Signature"]),
            ("X-Slack-Signature", "v0=" + "0" * 64),
        ],
    )

    assert (response.status, await response.json()) == (401, {"error": "invalid request signature"})
    assert await InboxItem.all().count() == 0


async def test_app_rate_limited_gets_200_and_a_log_line(
    client: TestClient[Any, Any], fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "type": "app_rate_limited",
            "team_id": "T123456",
            "minute_rate_limited": 1518467820,
            "api_app_id": "A123456",
        }
    )
    caplog.set_level(logging.WARNING)

    answer = await post(client, body, JSON, signed(body))

    assert answer == (200, {"ok": True})
    assert [r.getMessage() for r in caplog.records if r.name.endswith("slack")] == [
        "Slack is dropping events: app_rate_limited for team T123456 in minute 1518467820"
    ]
    assert fake.calls == []


@pytest.mark.parametrize("text", ["", "   "])
async def test_an_empty_slash_command_gets_the_private_usage_reply(
    client: TestClient[Any, Any], fake: FakeSlack, text: str
) -> None:
    body = form_body(chatops_command(fake, text))

    answer = await post(client, body, FORM, signed(body))
    await asyncio.sleep(0.2)

    assert answer == (
        200,
        {
            "text": "Usage: `/chatops <command> [arguments]`. "
            "Try `/chatops help` to see what you can run here.",
            "response_type": "ephemeral",
        },
    )
    assert await InboxItem.all().count() == 0
    assert fake.calls == []


async def test_an_over_long_slash_command_gets_a_private_usage_error(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = form_body(chatops_command(fake, "ping " + "x" * 5000))

    answer = await post(client, body, FORM, signed(body))

    assert answer == (
        200,
        {
            "text": "This command is 5,005 characters long; a command may be at most 4,000 "
            "characters. Nothing was run.",
            "response_type": "ephemeral",
        },
    )
    assert await InboxItem.all().count() == 0


async def test_a_mention_with_50_commands_runs_ten_and_posts_one_notice(
    client: TestClient[Any, Any], fake: FakeSlack
) -> None:
    body = json.dumps(mention_event("\n".join(["<@W111> ping"] * 50)))

    answer = await post(client, body, JSON, signed(body))

    assert answer[0] == 200
    assert await InboxItem.all().count() == 10
    notices = [row.reply for row in await OutboxItem.filter(key__startswith="notice:")]
    assert notices == [
        {
            "title": "Too many commands",
            "status": "warning",
            "paragraphs": [
                "This message holds 50 commands; only the first 10 were taken. "
                "The other 40 were ignored: send them in another message."
            ],
            "fields": [],
            "table": None,
            "links": [],
            "code": None,
            "ephemeral": False,
        }
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fuzzed_requests_never_get_a_5xx_or_a_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Hypothesis on headers and bodies, signed and not: every answer is below 500."""
    assert fuzzed(fuzz_target(database_url), caplog, fuzz) == []


@asynccontextmanager
async def fuzz_target(database_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    async with (
        FakeSlack() as fake,
        running_app(database_url, slack_settings(fake), FakeClock()) as client,
    ):
        yield client


JSON_VALUES = json_values(
    ["type", "event", "text", "user", "team_id", "event_id", "payload", "channel"],
    floats=True,
    max_keys=5,
    max_leaves=20,
)


def fuzz(runner: asyncio.Runner, client: TestClient[Any, Any]) -> None:
    @FUZZ_SETTINGS
    @given(
        body=st.one_of(
            json_bodies(JSON_VALUES),
            st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
                lambda d: form_body(d).encode()
            ),
        ),
        content_type=st.sampled_from([JSON, FORM, "text/plain", ""]),
        sign=st.booleans(),
        timestamp=st.one_of(
            st.just(str(int(time.time()))), st.text(max_size=12), st.integers().map(str)
        ),
        extra=st.dictionaries(
            st.sampled_from(["X-Slack-Retry-Num", "X-Slack-Signature", "Content-Length"]),
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
            max_size=2,
        ),
    )
    def check(
        body: bytes, content_type: str, sign: bool, timestamp: str, extra: dict[str, str]
    ) -> None:
        headers = signed_bytes(body, timestamp) if sign else {}
        headers = {**headers, **{k: v for k, v in extra.items() if k != "Content-Length"}}
        safe = {k: v for k, v in headers.items() if v.isprintable() and v.isascii()}
        status, _ = runner.run(post(client, body, content_type, safe))
        assert status < 500

    check()
