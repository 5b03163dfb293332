"""The CI commands end to end: a pull request thread on the fake GitHub, the real app.

Each test speaks to the bot only as GitHub does (signed ``issue_comment`` and
``workflow_run`` deliveries) and reads the outcome where GitHub users would see it: the
comments in the thread, and what the fake recorded (dispatches, re-runs, cancellations).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.ci.models import Run
from bot.ci.settings import CiSettings, CiWorkflow
from bot.ci.tracker import RunTracker
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import CI_EVENTS
from tests.fakes.clock import utc_minute
from tests.fakes.github_state import Dispatch, Rerun
from tests.fakes.waiting import wait_until
from tests.github_stack import Stack, github_stack
from tests.transcripts import CommentDoor, Transcript

REPO = "Codertocat/Hello-World"
AUTHOR = "Codertocat"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BRANCH = "feature-x"
INFO = "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}"  # the renderer's icon for Status.INFO
RUNS = f"https://github.com/{REPO}/actions/runs"
PULL = f"https://github.com/{REPO}/pull/1"
WORKFLOW = CiSettings(workflows=(CiWorkflow(repo=REPO, workflow="ci.yml"),))


def bot_comments(stack: Stack, number: int = 1) -> list[str]:
    return [c.body for c in stack.github.world.thread(REPO, number) if c.author == "chatops-bot"]


async def sent() -> int:
    count: int = await OutboxItem.filter(status=OutboxStatus.SENT).count()
    return count


async def settled(count: int) -> None:
    """Wait until ``count`` outbox rows are sent and nothing else is waiting."""

    async def done() -> bool:
        waiting = await OutboxItem.filter(
            status__in=(OutboxStatus.PENDING, OutboxStatus.CLAIMED)
        ).count()
        return await sent() >= count and waiting == 0

    await wait_until(done)


def seed_pull(stack: Stack, permission: str = "write") -> int:
    """Pull request 1 at SHA with a CI workflow; returns the workflow id."""
    github = stack.github
    github.add_pull(REPO, 1, SHA, BRANCH, AUTHOR)
    github.set_permission(REPO, AUTHOR, permission)
    return github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")


def thread(stack: Stack) -> Transcript[None]:
    """Pull request 1's conversation, where AUTHOR comments unless told otherwise."""
    return Transcript(CommentDoor(stack), stack.clock, user=AUTHOR)


async def complete(stack: Stack, run_id: int, **deliver: Any) -> dict[str, Any]:
    response = await stack.deliver(
        "workflow_run", stack.workflow_run_payload(run_id, "completed"), **deliver
    )
    body: dict[str, Any] = await response.json()
    assert response.status == 202, body
    return body


async def test_rescan_dispatches_the_workflow_and_reports_the_result_in_the_thread(
    database_url: str,
) -> None:
    async with github_stack(database_url, ci=WORKFLOW) as stack:
        seed_pull(stack)
        await thread(stack).say("@chatops rescan")
        await settled(2)  # 👀 and the answer

        assert stack.github.dispatches == [Dispatch(REPO, "ci.yml", BRANCH, {})]
        [run] = stack.github.world.runs.values()
        [asked] = await InboxItem.all().values_list("invocation", flat=True)
        rescan_reply = (
            "> @&#8203;chatops rescan\n\n"
            "⏳ **Rescan started: Codertocat/Hello-World#1**\n\n"
            "Dispatched ci.yml on feature-x.\n\n"
            "The result will be posted here when it finishes.\n\n"
            "- **run**: #1\n- **head**: ec26c3e\n\n"
            f"[CI]({RUNS}/{run.id})\n\n"
            f"<!-- chatops:reply:{asked['id']} -->"
        )
        assert bot_comments(stack) == [rescan_reply]

        stack.github.start_workflow_run(run.id)
        stack.clock.advance(125)
        finished = stack.clock.now()
        stack.github.finish_workflow_run(run.id, "failure", {"test": "failure", "lint": "success"})
        stack.github.add_check_run(REPO, SHA, "lint", conclusion="success")
        stack.github.add_check_run(REPO, SHA, "test", conclusion="failure")
        assert await complete(stack, run.id, delivery="done-1") == {"observed": "workflow_run"}
        await settled(4)  # the result and the summary
        await complete(stack, run.id, delivery="done-1")  # GitHub redelivers it
        await complete(stack, run.id, delivery="done-2")  # or sends it twice
        await asyncio.sleep(0.2)  # room for a wrong second answer to show up

        result = (
            "> @&#8203;chatops rescan\n\n"
            "❌ **CI failed: Codertocat/Hello-World#1**\n\n"
            "Failed jobs: test.\n\n"
            "- **conclusion**: failure\n- **duration**: 2m 5s\n"
            "- **requested by**: Codertocat\n- **head commit**: ec26c3e\n\n"
            f"[CI]({RUNS}/{run.id}) · [test]({RUNS}/{run.id}/job/1)\n\n"
            "<!-- chatops:run:1:origin:1 -->"
        )
        summary = (
            "❌ **CI summary for Codertocat/Hello-World#1**\n\n"
            "Bot run #1 on ec26c3e: failure, asked by Codertocat 2m 5s ago.\n\n"
            f"- **head**: ec26c3e\n- **updated**: {utc_minute(finished)}\n\n"
            "| check | state | link |\n| --- | --- | --- |\n"
            f"| test | failure | https://github.com/{REPO}/runs/2 |\n"
            f"| lint | success | https://github.com/{REPO}/runs/1 |\n\n"
            f"[Codertocat/Hello-World#1](https://github.com/{REPO}/pull/1) · [CI]({RUNS}/{run.id})"
            "\n\n<!-- chatops:sticky:summary -->"
        )
        # the result and the summary are queued together and may be sent in either order
        comments = bot_comments(stack)
        assert comments[0] == rescan_reply
        assert sorted(comments[1:]) == sorted([result, summary])
        assert await sent() == 4
        assert stack.github.violations == []


async def test_two_rescans_within_the_window_share_one_run_and_both_name_it(
    database_url: str,
) -> None:
    async with github_stack(database_url, ci=WORKFLOW) as stack:
        seed_pull(stack)
        asked_at = stack.clock.now()
        await thread(stack).say("@chatops rescan")
        await settled(2)
        stack.clock.advance(30)
        await thread(stack).say("@chatops rescan", user=AUTHOR)
        await settled(4)

        assert len(stack.github.dispatches) == 1
        assert await Run.all().count() == 1
        [run] = stack.github.world.runs.values()
        second = bot_comments(stack)[1]
        [_, later] = await InboxItem.all().order_by("id").values_list("invocation", flat=True)
        assert second == (
            "> @&#8203;chatops rescan\n\n"
            f"{INFO} **Rescan already requested: Codertocat/Hello-World#1**\n\n"
            f"Codertocat asked for it at {utc_minute(asked_at)} (30s ago); "
            "this request joins run #1.\n\n"
            "The result will be posted here when it finishes.\n\n"
            "- **run**: #1\n- **head**: ec26c3e\n\n"
            f"[CI]({RUNS}/{run.id})\n\n"
            f"<!-- chatops:reply:{later['id']} -->"
        )
        assert stack.github.violations == []


async def test_status_lists_every_check_of_the_head_commit_with_its_state_and_link(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        seed_pull(stack, permission="read")
        github = stack.github
        github.add_check_run(REPO, SHA, "build", conclusion="success")
        github.add_check_run(REPO, SHA, "test", conclusion="failure")
        github.add_check_run(REPO, SHA, "e2e", status="in_progress")
        github.add_check_run(REPO, "0" * 40, "elsewhere", conclusion="failure")
        github.add_status(REPO, SHA, "ci/legacy", "pending", target_url="https://ci.example/1")
        await thread(stack).say("@chatops status")
        await settled(2)

        [asked] = await InboxItem.all().values_list("invocation", flat=True)
        assert bot_comments(stack) == [
            "> @&#8203;chatops status\n\n"
            "❌ **CI for Codertocat/Hello-World#1: 1 failing, 2 running, 1 passed**\n\n"
            "- **head**: ec26c3e (feature-x)\n"
            "- **pull request**: open · Pull request 1\n\n"
            "| check | state | link |\n| --- | --- | --- |\n"
            f"| test | failure | https://github.com/{REPO}/runs/2 |\n"
            f"| e2e | in progress | https://github.com/{REPO}/runs/3 |\n"
            "| ci/legacy | in progress | https://ci.example/1 |\n"
            f"| build | success | https://github.com/{REPO}/runs/1 |\n\n"
            f"[Codertocat/Hello-World#1](https://github.com/{REPO}/pull/1)\n\n"
            f"<!-- chatops:reply:{asked['id']} -->"
        ]
        assert stack.github.violations == []


async def test_an_unknown_repository_or_pull_request_is_named_in_the_reply(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        seed_pull(stack, permission="read")
        await thread(stack).say("@chatops status acme/missing#3\n@chatops status #99")

        async def both_answered() -> bool:
            return len(bot_comments(stack)) == 2

        await wait_until(both_answered)  # the two answers may go out a cycle apart
        await settled(3)  # 👀 and the two answers, and nothing else waiting

        # the two commands run concurrently, so their answers may arrive in either order
        replies = sorted(body.split("\n\n<!--")[0] for body in bot_comments(stack))
        assert replies == sorted(
            [
                "> @&#8203;chatops status acme/missing#3\n\n"
                "❌ **Not found: acme/missing**\n\n"
                "GitHub has no repository acme/missing that the bot can see.",
                "> @&#8203;chatops status #99\n\n"
                "❌ **Not found: Codertocat/Hello-World#99**\n\n"
                "GitHub has no pull request Codertocat/Hello-World#99 that the bot can see.",
            ]
        )


async def test_a_failing_forge_gets_a_clear_reply_and_leaves_no_run_behind(
    database_url: str,
) -> None:
    async with github_stack(database_url, ci=WORKFLOW) as stack:
        seed_pull(stack)
        stack.github.fail_next("actions/create-workflow-dispatch", 502, times=1)
        await thread(stack).say("@chatops rescan")
        await settled(2)
        stack.github.fail_next("pulls/get", 403, times=1)
        await thread(stack).say("@chatops rescan")
        await settled(4)
        await thread(stack).say("@chatops rescan")
        await settled(6)

        replies = [body.split("\n\n<!--")[0] for body in bot_comments(stack)]
        assert replies[:2] == [
            "> @&#8203;chatops rescan\n\n"
            "❌ **GitHub did not answer as expected (HTTP 502)**\n\n"
            "GitHub had an error (502); try again in a few minutes.",
            "> @&#8203;chatops rescan\n\n"
            "❌ **GitHub did not answer as expected (HTTP 403)**\n\nForbidden",
        ]
        assert replies[2].startswith("> @&#8203;chatops rescan\n\n⏳ **Rescan started")
        assert len(stack.github.dispatches) == 1  # the refused dispatch left no trace
        assert await Run.filter(active_key__isnull=False).count() == 1


async def test_restart_cancels_the_running_workflow_then_runs_it_again(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        workflow = seed_pull(stack)
        run_id = stack.github.add_workflow_run(
            REPO, workflow, SHA, BRANCH, status="in_progress", actor=AUTHOR
        )
        await thread(stack).say("@chatops restart")
        await settled(2)

        assert stack.github.cancellations == [(REPO, run_id)]
        assert stack.github.reruns == [Rerun(REPO, run_id, False)]
        [reply] = [body.split("\n\n<!--")[0] for body in bot_comments(stack)]
        assert reply == (
            "> @&#8203;chatops restart\n\n"
            "⏳ **Restarted: Codertocat/Hello-World#1**\n\n"
            "Cancelled 1 run (CI).\n\n"
            "Re-ran 1 workflow run.\n\n"
            "The result will be posted here when it finishes.\n\n"
            "- **run**: #1\n- **head**: ec26c3e\n\n"
            f"[CI]({RUNS}/{run_id})"
        )
        assert stack.github.violations == []


async def test_a_run_whose_completion_webhook_was_lost_is_settled_by_the_reconciler(
    database_url: str,
) -> None:
    async with github_stack(database_url, ci=WORKFLOW) as stack:
        seed_pull(stack)
        await thread(stack).say("@chatops rescan")
        await settled(2)
        [run] = stack.github.world.runs.values()
        stack.github.finish_workflow_run(run.id, "success")  # no webhook arrives
        tracker = stack.client.app[CI_EVENTS]
        assert isinstance(tracker, RunTracker)

        assert await tracker.reconcile() == 0  # not stuck yet
        stack.clock.advance(61 * 60)
        reconciled_at = stack.clock.now()
        assert await tracker.reconcile() == 1
        await settled(4)
        assert await tracker.reconcile() == 0

        replies = [body.split("\n\n<!--")[0] for body in bot_comments(stack)]
        # the result and the summary are queued together and may be sent in either order
        assert sorted(replies[1:]) == sorted(
            [
                "> @&#8203;chatops rescan\n\n"
                "✅ **CI passed: Codertocat/Hello-World#1**\n\n"
                "- **conclusion**: success\n- **duration**: 1h 1m\n"
                "- **requested by**: Codertocat\n- **head commit**: ec26c3e\n\n"
                f"[CI]({RUNS}/{run.id})",
                f"{INFO} **CI summary for Codertocat/Hello-World#1**\n\n"
                "No checks have reported on ec26c3e yet.\n\n"
                "Bot run #1 on ec26c3e: success, asked by Codertocat 1h 1m ago.\n\n"
                f"- **head**: ec26c3e\n- **updated**: {utc_minute(reconciled_at)}\n\n"
                f"[Codertocat/Hello-World#1](https://github.com/{REPO}/pull/1) · "
                f"[CI]({RUNS}/{run.id})",
            ]
        )
        assert stack.github.violations == []


async def test_update_keeps_one_summary_comment_and_edits_it_in_place(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        seed_pull(stack)
        await thread(stack).say("@chatops update")
        await settled(3)  # 👀, the answer, the summary
        stack.github.add_check_run(REPO, SHA, "test", conclusion="success")
        stack.clock.advance(60)
        updated_at = stack.clock.now()
        await thread(stack).say("@chatops update")
        await settled(6)

        comments = [body.split("\n\n<!--")[0] for body in bot_comments(stack)]
        answer = (
            "> @&#8203;chatops update\n\n"
            "✅ **Summary updated: Codertocat/Hello-World#1**\n\n"
            "The summary comment on Codertocat/Hello-World#1 now shows {checks} check(s) of "
            f"ec26c3e and 0 bot run(s).\n\n[Codertocat/Hello-World#1]({PULL})"
        )
        assert comments == [
            answer.format(checks=0),
            "✅ **CI summary for Codertocat/Hello-World#1**\n\n"
            f"- **head**: ec26c3e\n- **updated**: {utc_minute(updated_at)}\n\n"
            "| check | state | link |\n| --- | --- | --- |\n"
            f"| test | success | https://github.com/{REPO}/runs/1 |\n\n"
            f"[Codertocat/Hello-World#1]({PULL})",
            answer.format(checks=1),
        ]
        assert len(stack.github.calls_to("issues/update-comment")) == 1
        assert stack.github.violations == []


async def test_rescan_refuses_a_merged_pull_request_and_status_needs_one(
    database_url: str,
) -> None:
    async with github_stack(database_url) as stack:
        stack.github.add_pull(REPO, 1, SHA, BRANCH, AUTHOR, state="closed", merged=True)
        stack.github.set_permission(REPO, AUTHOR, "write")
        await thread(stack).say("@chatops rescan")
        await settled(2)
        await thread(stack).say(f"@chatops status {REPO}")
        await settled(4)

        comments = [body.split("\n\n<!--")[0] for body in bot_comments(stack)]
        assert comments == [
            "> @&#8203;chatops rescan\n\n"
            "⚠️ **Not rescanned: Codertocat/Hello-World#1 is merged**\n\n"
            "`rescan` only starts CI on open pull requests.",
            f"> @&#8203;chatops status {REPO}\n\n"
            "❌ **Wrong arguments for `status`**\n\n"
            f"`status` works on a pull or merge request, and {REPO} is not one "
            "(say `status owner/repo#12`).\n\n"
            "- **Usage**: status \\[TARGET\\]\n"
            "- **Examples**: status<br>status acme/web#12<br>status #12",
        ]
        assert stack.github.dispatches == []
