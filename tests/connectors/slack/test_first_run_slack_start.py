"""Starting Slack logs no warning: Bolt's "`token` ... will be ignored" notice is gone.

Bolt reads ``SLACK_BOT_TOKEN`` from the environment by itself, which is the variable the
configuration conventionally refers to, so the tests set it as a user's shell would.
"""

from __future__ import annotations

import logging

import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.server import Answer
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_app import BOT_TOKEN, mention_event, running_app, slack_settings
from tests.fakes.waiting import wait_until


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_starting_slack_logs_no_warning_and_still_answers(
    database_url: str,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    caplog.set_level(logging.INFO)
    async with FakeSlack() as slack:
        async with running_app(database_url, slack_settings(slack, mode=mode), FakeClock()):
            if mode == "socket":
                await wait_until(lambda: slack.live_connections() == 1)
                envelope = await slack.send_envelope("events_api", mention_event("<@W111> ping"))
                await wait_until(lambda: slack.acked(envelope))
                await wait_until(lambda: len(slack.calls_to("chat.postMessage")) == 1)
        slack.assert_no_violations()

    warnings = [
        (record.name, record.getMessage())
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith("chatops.slack")
    ]
    assert warnings == []


async def test_readyz_names_slack_while_the_socket_is_down_and_recovers(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        settings = slack_settings(slack, mode="socket")
        async with running_app(database_url, settings, FakeClock()) as client:
            await wait_until(lambda: slack.live_connections() == 1)
            ready = await client.get("/readyz")
            assert (ready.status, await ready.json()) == (200, {"status": "ready"})

            # the connection goes away and Slack refuses the next few attempts
            refusal = Answer(200, {"ok": False, "error": "internal_error"})
            slack.answer_next("apps.connections.open", *[refusal] * 4)
            await slack.drop_connections()
            answers: list[tuple[int, object]] = []

            async def readiness_is(status: int) -> bool:
                response = await client.get("/readyz")
                answers.append((response.status, await response.json()))
                return response.status == status

            await wait_until(lambda: readiness_is(503))
            assert answers[-1] == (
                503,
                {
                    "status": "unavailable",
                    "reason": "slack: socket mode not connected",
                    "problems": ["slack: socket mode not connected"],
                },
            )
            await wait_until(lambda: readiness_is(200))
            assert answers[-1] == (200, {"status": "ready"})
        slack.assert_no_violations()
