"""The run tracker inside the running application: webhook in, comments out, once.

The whole app runs against the fake GitHub (``tests.github_stack``): the tracker the
pipeline context built starts CI, GitHub's ``workflow_run`` webhook (delivered twice)
completes it, and the outbox posts one result comment and one sticky summary.
"""

from __future__ import annotations

from bot.ci.plan import RescanOutcome
from bot.ci.records import Origin
from bot.ci.tracker import RunTracker
from bot.messages import Field, Forge, Link, Platform, Reply, ReplyTarget, Status, Table
from bot.store.models import OutboxItem, OutboxStatus
from bot.web import CI_EVENTS, REGISTRY
from connectors.github.render import MAX_COMMENT_CHARS
from connectors.markdown import MarkdownOptions, render_markdown
from tests.fakes.clock import utc_minute
from tests.fakes.waiting import wait_until
from tests.github_stack import github_stack

REPO = "Codertocat/Hello-World"
SHA = "c" * 40
GH = "https://github.com"


async def test_a_completion_webhook_posts_one_result_and_one_summary(database_url: str) -> None:
    async with github_stack(database_url) as stack:
        github, app = stack.github, stack.client.app
        github.add_pull(REPO, 1, SHA, "feature", "Codertocat")
        workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
        previous = github.add_workflow_run(
            REPO, workflow, SHA, "feature", event="pull_request", conclusion="failure"
        )
        check = github.add_check_run(REPO, SHA, "CI / build")
        tracker = app[CI_EVENTS]
        assert isinstance(tracker, RunTracker)
        forge = app[REGISTRY].forges.client(Forge.GITHUB)
        assert forge is not None
        thread = ReplyTarget(
            platform=Platform.GITHUB, channel=REPO, thread="1", extra=(("quote", "rescan"),)
        )
        origin = Origin(target=thread, asked_by="Codertocat", invocation_id="inv-1")

        started = await tracker.rescan(forge, await forge.change(REPO, 1), origin)
        stack.clock.advance(90)
        finished = stack.clock.now()
        github.finish_workflow_run(previous, "success")
        payload = stack.workflow_run_payload(previous, "completed")
        answers = [await stack.deliver("workflow_run", payload) for _ in range(2)]

        assert [(answer.status, await answer.json()) for answer in answers] == [
            (202, {"observed": "workflow_run"}),
            (202, {"observed": "workflow_run"}),
        ]
        assert started.outcome is RescanOutcome.STARTED
        assert started.run is not None
        run_id = started.run.id

        async def delivered() -> bool:
            rows = await OutboxItem.all()
            return [row.status for row in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]

        await wait_until(delivered)
        run_link = Link("CI", f"{GH}/{REPO}/actions/runs/{previous}")
        result = Reply(
            title="CI passed: Codertocat/Hello-World#1",
            status=Status.OK,
            fields=(
                Field("conclusion", "success"),
                Field("duration", "1m 30s"),
                Field("requested by", "Codertocat"),
                Field("head commit", "ccccccc"),
            ),
            links=(run_link,),
        )
        summary = Reply(
            title="CI summary for Codertocat/Hello-World#1",
            status=Status.OK,
            paragraphs=(f"Bot run #{run_id} on ccccccc: success, asked by Codertocat 1m 30s ago.",),
            fields=(Field("head", "ccccccc"), Field("updated", utc_minute(finished))),
            table=Table(
                headers=("check", "state", "link"),
                rows=(("CI / build", "success", f"{GH}/{REPO}/runs/{check}"),),
            ),
            links=(Link("Codertocat/Hello-World#1", f"{GH}/{REPO}/pull/1"), run_link),
        )
        origin_id = (await OutboxItem.get(key__startswith=f"run:{run_id}:origin:")).key
        assert github.comments(REPO, 1) == [
            render_markdown(
                result, MarkdownOptions(limit=MAX_COMMENT_CHARS, quote="rescan", marker=origin_id)
            ),
            render_markdown(
                summary, MarkdownOptions(limit=MAX_COMMENT_CHARS, marker="sticky:summary")
            ),
        ]
        assert [job.name for job in app[REGISTRY].jobs if job.name == "ci-reconcile"] == [
            "ci-reconcile"
        ]
        assert github.violations == []
