"""The whole service with Slack enabled against ``FakeSlack``, and signed Slack requests.

``running_app`` starts the real aiohttp application (database, pipeline, workers, the Slack
integration) on 127.0.0.1, port 0, with a ``FakeClock``. ``signed`` builds the headers
Slack sends, with the v0 signature computed here from the raw body, independently of the
libraries under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Config, DatabaseSettings, OutboxSettings, PermissionsSettings, WorkerSettings
from bot.config.platforms import SlackSettings
from bot.config.secret_values import Secret
from bot.store.database import open_database
from bot.store.models import InboxItem, InboxStatus, OutboxItem, OutboxStatus
from tests.fakes.clock import FakeClock
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FIXTURES, FakeSlack

SIGNING_SECRET = "test-signing-secret"


def slack_settings(fake: FakeSlack, *, mode: str = "http", **changes: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "mode": mode,
        "bot_token": Secret("env:SLACK_BOT_TOKEN", BOT_TOKEN),
        "signing_secret": Secret("env:SLACK_SIGNING_SECRET", SIGNING_SECRET),
        "app_token": Secret("env:SLACK_APP_TOKEN", APP_TOKEN),
        "api_url": fake.api_url,
        "post_interval": 0.0,
        "socket_ping_interval": 0.5,
    }
    values.update(changes)
    return SlackSettings(**values)


def app_config(
    url: str, slack: SlackSettings, permissions: PermissionsSettings | None = None
) -> Config:
    return Config(
        database=DatabaseSettings(url=url),
        workers=WorkerSettings(poll_interval=0.01),
        outbox=OutboxSettings(backoff_base=0.01, backoff_cap=0.05),
        slack=slack,
        permissions=permissions or PermissionsSettings(),
    )


@asynccontextmanager
async def running_app(
    database_url: str,
    slack: SlackSettings,
    clock: FakeClock,
    permissions: PermissionsSettings | None = None,
) -> AsyncIterator[TestClient[Any, Any]]:
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    await database.close()
    config = app_config(database_url, slack, permissions)
    app = create_app(
        config,
        configured_platforms=True,
        clock=clock,
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


def signed(
    body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """The headers of a request Slack signed at ``timestamp`` (now by default)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


async def all_sent() -> bool:
    """Every accepted command is done and every reply sent (and there is one at least)."""
    commands = await InboxItem.all()
    replies = await OutboxItem.all()
    return (
        bool(replies)
        and all(row.status is InboxStatus.DONE for row in commands)
        and all(row.status is OutboxStatus.SENT for row in replies)
    )


def fixture_text(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")


def fixture_json(relative: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture_text(relative))
    return value


def slash_command_form(**changes: str) -> dict[str, str]:
    """The fields of the recorded ``/hello-world`` request, with ``changes`` applied."""
    fields = dict(
        urllib.parse.parse_qsl(
            fixture_text("commands/slash_command.hello-world.form-urlencoded.txt")
        )
    )
    fields.update(changes)
    return fields


def chatops_command(fake: FakeSlack, text: str, **changes: str) -> dict[str, str]:
    """A ``/chatops <text>`` slash command whose ``response_url`` is on the fake."""
    return slash_command_form(
        command="/chatops", text=text, response_url=fake.response_url("cmd"), **changes
    )


def mention_event(text: str, **event_changes: Any) -> dict[str, Any]:
    """The recorded ``app_mention`` callback, with the event's text and fields replaced."""
    body = fixture_json("events/event_callback.app_mention.json")
    body["event"].update(text=text, **event_changes)
    return body


def form_body(fields: dict[str, str]) -> str:
    return urllib.parse.urlencode(fields)
