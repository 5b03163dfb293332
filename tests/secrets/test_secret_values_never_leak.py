"""A CI variable's value never leaves GitLab's answer: not in a reply, a log or a row.

GitLab's variables API answers with values (the forge client drops them at the boundary,
``connectors.gitlab.ci_secrets``). Here a project variable and a group variable carry sentinel
values at the fake GitLab; ``secrets audit`` runs for the project from a merge request
note, through the real application (webhook, inbox, worker, outbox, reply note). Then the
sentinels must appear in no request the bot sent to GitLab (its replies), in no log record
of any logger at DEBUG, and in no row of any table of the test database.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from bot.store.database import Database
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import DATABASE
from connectors.markdown import marker_comment
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab_ci import Variable
from tests.fakes.waiting import wait_until
from tests.gitlab_stack import MR_IID, PROJECT, Stack, gitlab_stack

PROJECT_SENTINEL = "glpat-SENTINEL-project-3f9a1c"
GROUP_SENTINEL = "SENTINEL-group-value-77b2e0"
SENTINELS = (PROJECT_SENTINEL, GROUP_SENTINEL)
GROUP = PROJECT.split("/")[0]
CI_FILE = """\
deploy:
  script:
    - ./deploy.sh "$DEPLOY_TOKEN" "$GROUP_TOKEN" "$MISSING_TOKEN"
"""


async def settled(count: int) -> None:
    """Wait until ``count`` outbox rows are sent and nothing else is waiting."""

    async def done() -> bool:
        sent = await OutboxItem.filter(status=OutboxStatus.SENT).count()
        waiting = await OutboxItem.filter(
            status__in=(OutboxStatus.PENDING, OutboxStatus.CLAIMED)
        ).count()
        return sent >= count and waiting == 0

    await wait_until(done)


async def every_row_as_text(database: Database) -> dict[str, str]:
    """Every table of the test database, each dumped as the text of all its rows."""
    connection: BaseDBAsyncClient = database.connection
    if database.dialect == "sqlite":
        listing = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        listing = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    tables = [row["name"] for row in await connection.execute_query_dict(listing)]
    dump: dict[str, str] = {}
    for table in tables:
        rows = await connection.execute_query_dict(f'SELECT * FROM "{table}"')
        dump[table] = "\n".join(repr(row) for row in rows)
    return dump


def everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record's message, arguments, extra fields and exception text."""
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in records)


def bot_calls(stack: Stack) -> list[tuple[str, str, Any]]:
    return [(call.method, call.path, call.json) for call in stack.gitlab.calls]


async def test_a_variable_value_reaches_no_reply_log_or_row(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with gitlab_stack(database_url, clock=FakeClock()) as stack:
        ci = stack.gitlab.ci
        ci.add_variable(PROJECT, Variable(key="DEPLOY_TOKEN", value=PROJECT_SENTINEL, masked=True))
        ci.add_group_variable(GROUP, Variable(key="GROUP_TOKEN", value=GROUP_SENTINEL))
        ci.add_file(PROJECT, ".gitlab-ci.yml", CI_FILE)

        response = await stack.deliver(stack.note("@chatops secrets audit"))
        assert (response.status, await response.json()) == (200, {"accepted": 1, "duplicates": 0})
        await settled(2)  # the 👀 award and the answer

        # the bot did read both variables lists, values included, from the fake
        variable_reads = [
            (call.path, call.status)
            for call in stack.gitlab.calls
            if call.method == "GET" and call.path.endswith("/variables")
        ]
        assert variable_reads == [
            ("/api/v4/projects/gitlab-org%2Fgitlab-test/variables", 200),
            (f"/api/v4/groups/{GROUP}/variables", 200),
        ]
        bot = stack.gitlab.bot
        replies = [
            note.body
            for note in stack.gitlab.notes(PROJECT, f"merge_requests/{MR_IID}")
            if note.author == bot
        ]
        [invocation] = await InboxItem.filter(platform="gitlab")
        assert replies == [
            "> @&#8203;chatops secrets audit\n\n"
            "❌ **Secrets audit for gitlab-org/gitlab-test: 1 undefined, 2 untracked**\n\n"
            "| class | secret | scope | expires | rotated | last used | used by |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n"
            "| undefined | MISSING\\_TOKEN | \\- | \\- | \\- | \\- | .gitlab-ci.yml: deploy |\n"
            "| untracked | DEPLOY\\_TOKEN | repository | \\- | \\- | \\- | "
            ".gitlab-ci.yml: deploy |\n"
            "| untracked | GROUP\\_TOKEN | organization gitlab-org | \\- | \\- | \\- | "
            ".gitlab-ci.yml: deploy |\n\n" + marker_comment(f"reply:{invocation.invocation['id']}")
        ]

        sent_to_gitlab = repr(bot_calls(stack))
        tables = await every_row_as_text(stack.client.app[DATABASE])

    logged = everything_logged(caplog.records)
    # the dump covers the secrets tables and the queues that carried the command and reply
    assert {
        "chatops_tracked_secrets",
        "chatops_secret_uses",
        "chatops_inbox",
        "chatops_outbox",
    } < set(tables)
    leaks = {
        sentinel: sorted(
            [where for where, text in tables.items() if sentinel in text]
            + (["a reply"] if any(sentinel in reply for reply in replies) else [])
            + (["a request to GitLab"] if sentinel in sent_to_gitlab else [])
            + (["a log record"] if sentinel in logged else [])
        )
        for sentinel in SENTINELS
    }
    assert leaks == {PROJECT_SENTINEL: [], GROUP_SENTINEL: []}
