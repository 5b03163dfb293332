"""The CI commands end to end on GitLab: a merge request on the fake GitLab, a Slack thread on
the fake Slack, and the real application with both connectors.

Each test speaks to the bot only as GitLab and Slack do (token-authenticated ``Note Hook``
and ``Pipeline Hook`` deliveries, signed Slack events) and reads the outcome where users would
see it: the notes in the merge request, the messages Slack was asked to post, and the
pipelines the fake recorded as created.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.ci.models import Run
from bot.ci.store import RunStore
from bot.config import PermissionGrant, PermissionsSettings
from bot.messages import Forge, Level, Target, TargetKind
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from connectors.enabled import open_forges
from connectors.gitlab.forge import GitLabForge
from connectors.markdown import marker_comment
from tests.fakes.clock import FakeClock, utc_minute
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.gitlab_ci import CreatedPipeline, pipeline_hook
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_app import mention_event, signed, slack_settings
from tests.fakes.waiting import wait_until
from tests.gitlab_stack import (
    API_TOKEN,
    MR_IID,
    PROJECT,
    PROJECT_ID,
    Stack,
    gitlab_config,
    gitlab_stack,
)

SHA = "b" * 40
BRANCH = "feature-x"
MR_REF = f"refs/merge-requests/{MR_IID}/head"
SLACK_USER = "W222"  # the author of the recorded app_mention event
SLACK_CHANNEL = "C111"
SLACK_THREAD = "1595926230.009600"
WEB = f"https://gitlab.example.com/{PROJECT}"
PIPELINE = f"{WEB}/-/pipelines/501"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake
        fake.assert_no_violations()


async def settled(count: int) -> None:
    """Wait until ``count`` outbox rows are sent and nothing else is waiting."""

    async def done() -> bool:
        sent = await OutboxItem.filter(status=OutboxStatus.SENT).count()
        waiting = await OutboxItem.filter(
            status__in=(OutboxStatus.PENDING, OutboxStatus.CLAIMED)
        ).count()
        return sent >= count and waiting == 0

    await wait_until(done)


def bot_notes(stack: Stack) -> list[str]:
    bot = stack.gitlab.bot
    return [
        n.body for n in stack.gitlab.notes(PROJECT, f"merge_requests/{MR_IID}") if n.author == bot
    ]


async def slack_mention(stack: Stack, text: str) -> None:
    body = json.dumps(mention_event(f"<@W111> {text}"))
    response = await stack.client.post(
        "/slack/events",
        data=body.encode(),
        headers={"Content-Type": "application/json", **signed(body)},
    )
    assert response.status == 200, await response.text()


async def note(stack: Stack, text: str) -> None:
    response = await stack.deliver(stack.note(text))
    assert (response.status, await response.json()) == (200, {"accepted": 1, "duplicates": 0})


async def test_rescan_creates_a_pipeline_whose_completion_reaches_the_mr_and_slack(
    database_url: str, slack: FakeSlack
) -> None:
    grants = (PermissionGrant(level=Level.WRITE, platform="slack", users=(SLACK_USER,)),)
    async with gitlab_stack(
        database_url,
        slack=slack_settings(slack),
        permissions=PermissionsSettings(grants=grants),
    ) as stack:
        ci = stack.gitlab.ci
        ci.add_merge_request(PROJECT, MR_IID, SHA, BRANCH, "alice")
        old = ci.add_pipeline(
            PROJECT,
            SHA,
            MR_REF,
            status="failed",
            source="merge_request_event",
            merge_request_iid=MR_IID,
        )

        asked_at = stack.clock.now()  # the clock stands still in this test
        await note(stack, "@chatops rescan")
        await settled(2)  # 👀 and the answer
        [created] = ci.created
        assert created == CreatedPipeline(PROJECT, created.pipeline_id, MR_REF, MR_IID)
        assert created.pipeline_id != old

        await slack_mention(stack, f"rescan gitlab:{PROJECT}!{MR_IID}")
        await settled(3)
        assert len(ci.created) == 1  # the Slack ask joined the running pipeline

        ci.finish_pipeline(created.pipeline_id, "success")
        hook = pipeline_hook(ci, created.pipeline_id, PROJECT_ID)
        response = await stack.deliver(hook, event="Pipeline Hook")
        assert (response.status, await response.json()) == (200, {"observed": "Pipeline Hook"})
        await settled(5)
        again = await stack.deliver(hook, event="Pipeline Hook")  # a resent delivery
        assert again.status == 200
        await settled(5)

        [invocation] = await InboxItem.filter(platform="gitlab")
        [run] = await Run.all()
        [origin, _slack_origin] = await RunStore().origins(run.id)
        assert bot_notes(stack) == [
            "> @&#8203;chatops rescan\n\n⏳ **Rescan started: gitlab-org/gitlab-test!1**\n\n"
            "Re-ran 1 workflow run.\n\nThe result will be posted here when it finishes.\n\n"
            f"- **run**: #{run.id}\n- **head**: bbbbbbb\n\n[pipeline #501]({PIPELINE})\n\n"
            + marker_comment(f"reply:{invocation.invocation['id']}"),
            "> @&#8203;chatops rescan\n\n✅ **CI passed: gitlab-org/gitlab-test!1**\n\n"
            "- **conclusion**: success\n- **duration**: 0s\n- **requested by**: alice\n"
            f"- **head commit**: bbbbbbb\n\n[pipeline #501]({PIPELINE})\n\n"
            + marker_comment(f"run:{run.id}:origin:{origin.id}"),
            "✅ **CI summary for gitlab-org/gitlab-test!1**\n\n"
            f"Bot run #{run.id} on bbbbbbb: success, asked by alice 0s ago.\n\n"
            f"- **head**: bbbbbbb\n- **updated**: {utc_minute(asked_at)}\n\n"
            "| check | state | link |\n| --- | --- | --- |\n"
            f"| build | success | {WEB}/-/jobs/9002 |\n| test | success | {WEB}/-/jobs/9003 |\n\n"
            f"[gitlab-org/gitlab-test!1]({WEB}/-/merge_requests/1) · [pipeline #501]({PIPELINE})"
            "\n\n" + marker_comment("sticky:summary"),
        ]
        posts = slack.calls_to("chat.postMessage")
        assert [(p["channel"], p["thread_ts"], p["text"]) for p in posts] == [
            (
                SLACK_CHANNEL,
                SLACK_THREAD,
                "Rescan already requested: gitlab-org/gitlab-test!1\n"
                f"alice asked for it at {utc_minute(asked_at)} (0s ago); this request joins "
                f"run #{run.id}.\nThe result will be posted here when it finishes.",
            ),
            (SLACK_CHANNEL, SLACK_THREAD, "CI passed: gitlab-org/gitlab-test!1"),
        ]
        assert posts[1]["blocks"] == [
            _section(":white_check_mark: *CI passed: gitlab-org/gitlab-test!1*"),
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*conclusion*\nsuccess"},
                    {"type": "mrkdwn", "text": "*duration*\n0s"},
                    {"type": "mrkdwn", "text": "*requested by*\nalice"},
                    {"type": "mrkdwn", "text": "*head commit*\nbbbbbbb"},
                ],
            },
            _section(f"<{PIPELINE}|pipeline #501>"),
        ]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_the_shell_opens_the_gitlab_forge_against_the_configured_instance() -> None:
    clock = FakeClock()
    async with FakeGitLab(token=API_TOKEN, clock=clock.now) as gitlab:
        gitlab.add_project(PROJECT, project_id=PROJECT_ID)
        gitlab.ci.add_merge_request(PROJECT, MR_IID, SHA, BRANCH, "alice", title="Add a thing")
        config = gitlab_config("sqlite://:memory:", gitlab.url)

        async with open_forges(config, clock, logging.getLogger("tests")) as forges:
            forge = forges.client(Forge.GITLAB)
            assert isinstance(forge, GitLabForge)
            change = await forge.change(PROJECT, MR_IID)

        assert (change.target, change.title, change.head_sha, change.head_ref) == (
            Target(repo=PROJECT, kind=TargetKind.MERGE_REQUEST, number=MR_IID, forge=Forge.GITLAB),
            "Add a thing",
            SHA,
            BRANCH,
        )
        assert {call.auth for call in gitlab.calls} == {"bearer"}
