"""What a serving process queues for a shell user's channel waits for their next session.

A ``rescan`` asked in the shell is finished by a GitHub webhook that a serving process
(the GitHub test stack, sharing the database) takes while no session runs: its result
waits in the outbox, and the user's next interactive session prints it first, under
"While you were away:". Sessions of other users see none of it.
"""

from __future__ import annotations

import io
import logging

from bot.app import builtin_features, open_shell
from bot.ci.settings import CiSettings, CiWorkflow
from bot.cli_shell import run_shell
from bot.config import Config, DatabaseSettings, PermissionGrant, PermissionsSettings
from bot.messages import Level, Outgoing, OutgoingKind, Platform, Reply, ReplyTarget
from bot.pipeline.keys import acknowledgement_key, notice_key, reply_key
from bot.store.database import Database, dialect_of, open_database
from bot.store.models import OutboxItem, OutboxStatus
from bot.store.outbox import OutboxQueue
from bot.version import version
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import AWAY, MEANWHILE, ShellSession, local_channel
from tests.connectors.shell.test_shell_session import shell
from tests.fakes.clock import FakeClock
from tests.fakes.waiting import wait_until
from tests.github_stack import Stack, github_stack

REPO = "Codertocat/Hello-World"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
RUNS = f"https://github.com/{REPO}/actions/runs"
WORKFLOW = CiSettings(workflows=(CiWorkflow(repo=REPO, workflow="ci.yml"),))
WRITERS = PermissionsSettings(
    grants=(PermissionGrant(level=Level.WRITE, platform="shell", users=("*",)),)
)


async def waiting_for_the_shell() -> int:
    count: int = await OutboxItem.filter(
        platform=Platform.SHELL.value, status=OutboxStatus.PENDING
    ).count()
    return count


async def session_of(stack: Stack, database_url: str, user: str, out: io.StringIO) -> str:
    """Start ``user``'s session as ``chatops shell`` does on a terminal, say ``ping``; the
    printed text."""
    database = Database(url=database_url, dialect=dialect_of(database_url))
    connector = ShellConnector(out)
    log = logging.getLogger("tests.shell_mailbox")
    async with open_shell(
        stack.config, database, connector, clock=stack.clock, log=log
    ) as pipeline:
        session = ShellSession(pipeline, connector, user=user, reply_timeout=10.0)
        await session.deliver_waiting(AWAY)
        await session.run_line("ping")
        await session.deliver_waiting(MEANWHILE)
    return out.getvalue()


async def test_a_run_result_for_the_shell_waits_for_its_next_session(database_url: str) -> None:
    async with github_stack(database_url, permissions=WRITERS) as stack:
        github = stack.github
        workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
        run_id = github.add_workflow_run(REPO, workflow, SHA, "main", conclusion="failure")
        database = Database(url=database_url, dialect=dialect_of(database_url))
        first = io.StringIO()
        connector = ShellConnector(first)
        log = logging.getLogger("tests.shell_mailbox")
        async with open_shell(
            stack.config, database, connector, clock=stack.clock, log=log
        ) as pipe:
            session = ShellSession(pipe, connector, user="operator", reply_timeout=10.0)
            await session.run_line(f"subscribe {REPO} runs")

        response = await stack.deliver(
            "workflow_run", stack.workflow_run_payload(run_id, "completed")
        )
        assert response.status == 202

        async def result_waits() -> bool:
            return await waiting_for_the_shell() == 1

        await wait_until(result_waits)
        other = await session_of(stack, database_url, "someone-else", io.StringIO())
        again = await session_of(stack, database_url, "operator", io.StringIO())
        assert await waiting_for_the_shell() == 0

    assert first.getvalue() == (
        "Subscribed to codertocat/hello-world\n"
        "This channel gets run results for codertocat/hello-world.\n"
        "Say `unsubscribe codertocat/hello-world` to stop.\n"
    )
    pong = f"pong\nversion: {version()}\nuptime: 0s\n"
    assert other == pong
    assert again == (
        "While you were away:\n"
        "\n"
        f"CI failed: {REPO}@ec26c3e\n"
        "CI, attempt 1\n"
        "conclusion: failure\n"
        "duration: 0s\n"
        "started by: chatops-bot\n"
        "head commit: ec26c3e\n"
        f"CI: {RUNS}/{run_id}\n"
        "\n"
        f"{pong}"
    )


def to_channel(user: str) -> ReplyTarget:
    return ReplyTarget(platform=Platform.SHELL, channel=local_channel(user))


async def test_a_session_takes_its_channel_s_messages_but_not_a_live_session_s_answers(
    database: Database,
) -> None:
    clock, output = FakeClock(), io.StringIO()
    outbox = OutboxQueue(database)
    start = clock.now()
    waiting = [
        # the answer to a line of a session that ended long ago: given up, so delivered
        Outgoing(
            to_channel("operator"),
            Reply(title="old answer"),
            reply_key("gone"),
            "gone",
            OutgoingKind.REPLY,
        ),
        Outgoing(to_channel("operator"), Reply(title="an alert"), notice_key("alert", 1)),
        Outgoing(to_channel("someone-else"), Reply(title="not yours"), notice_key("alert", 2)),
        # a terminal has nothing to mark as seen (and its answer is in the same batch)
        Outgoing(
            to_channel("operator"),
            Reply(title=""),
            acknowledgement_key("gone"),
            "gone",
            OutgoingKind.ACKNOWLEDGEMENT,
        ),
    ]
    for outgoing in waiting:
        assert await outbox.enqueue(outgoing, start)
    clock.advance(60)
    # the answer another session of the same user is waiting for right now
    live = Outgoing(
        to_channel("operator"),
        Reply(title="live answer"),
        reply_key("live"),
        "live",
        OutgoingKind.REPLY,
    )
    assert await outbox.enqueue(live, clock.now())

    session = shell(database, output, clock)
    assert await session.deliver_waiting(AWAY) == 2
    assert await session.deliver_waiting(AWAY) == 0
    await session.run_line("ping")
    later = Outgoing(to_channel("operator"), Reply(title="a run result"), notice_key("run", 3))
    assert await outbox.enqueue(later, clock.now())
    assert await session.deliver_waiting(MEANWHILE) == 1

    assert output.getvalue() == (
        "While you were away:\n"
        "\n"
        "old answer\n"
        "\n"
        "an alert\n"
        "\n"
        "pong\nversion: 2.0.0\nuptime: 0s\n"
        "\n"
        "Meanwhile:\n"
        "\n"
        "a run result\n"
    )
    pending = (
        await OutboxItem.filter(status=OutboxStatus.PENDING)
        .order_by("id")
        .values_list("key", flat=True)
    )
    assert pending == [notice_key("alert", 2), reply_key("live")]


async def test_a_piped_session_prints_only_the_answers_to_its_lines(database: Database) -> None:
    alert = Outgoing(to_channel("local"), Reply(title="an alert"), notice_key("alert", 1))
    assert await OutboxQueue(database).enqueue(alert, FakeClock().now())
    config = Config(database=DatabaseSettings(url=database.url))
    stdout, stderr = io.StringIO(), io.StringIO()

    status = await run_shell(config, builtin_features(), io.StringIO("ping\n"), stdout, stderr)

    assert (status, stdout.getvalue(), stderr.getvalue()) == (
        0,
        f"pong\nversion: {version()}\nuptime: 0s\n",
        "",
    )
    await open_database(database.url)  # the session closed it on leaving
    pending = await OutboxItem.filter(status=OutboxStatus.PENDING).values_list("key", flat=True)
    assert pending == [notice_key("alert", 1)]
