"""Pulls, commit statuses, check runs and Actions for the fake GitHub, kept simple but faithful.

Refs resolve as GitHub resolves them here: a pull's head branch name (or ``heads/<name>``)
means its head sha, anything else is taken as a sha. A dispatch's ``ref`` resolves the same
way, and another branch name gets a sha derived from its name (stable, sha-shaped). Lists
are newest first where GitHub's are; reruns and cancellations change the run at once
(GitHub does it shortly after). A repository exists once anything of it is seeded or it was
added (``World.knows_repo``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from tests.fakes.github_handlers import Ctx, Handler, Reply, not_found, paged
from tests.fakes.github_render import WEB, Render, iso, name_id, node_id
from tests.fakes.github_state import (
    CheckRun,
    CommitStatus,
    Dispatch,
    Job,
    Pull,
    Rerun,
    Workflow,
    WorkflowRun,
)

FAILED = frozenset({"failure", "timed_out", "cancelled", "startup_failure"})
SHA = re.compile(r"[0-9a-f]{40}")


# Pulls, statuses and checks


def _pull_at(ctx: Ctx, ref: str) -> Pull | None:
    """The pull whose head branch ``ref`` names (``x``, ``heads/x`` or ``refs/heads/x``)."""
    for pull in ctx.world.pulls.values():
        names = (pull.head_ref, f"heads/{pull.head_ref}", f"refs/heads/{pull.head_ref}")
        if pull.repo == ctx.repo and ref in names:
            return pull
    return None


def _sha(ctx: Ctx) -> str:
    """A ref as GitHub resolves it here: a pull's head branch name, else a commit sha."""
    ref = str(ctx.params["ref"])
    pull = _pull_at(ctx, ref)
    return ref if pull is None else pull.head_sha


def _branch_and_sha(ctx: Ctx, ref: str) -> tuple[str, str]:
    """A dispatch's ``ref``: a pull's head branch and sha, a sha, or another branch."""
    pull = _pull_at(ctx, ref)
    if pull is not None:
        return pull.head_ref, pull.head_sha
    if SHA.fullmatch(ref):
        return ref, ref
    branch = ref.removeprefix("refs/heads/")
    return branch, hashlib.sha1(f"{ctx.repo}:{branch}".encode()).hexdigest()


def get_repo(ctx: Ctx) -> Reply:
    if not ctx.world.knows_repo(ctx.repo):
        return not_found()
    private = ctx.world.repos.get(ctx.repo, False)
    return Reply(200, ctx.render.full_repository(ctx.repo, private=private))


def get_pull(ctx: Ctx) -> Reply:
    pull = ctx.world.pulls.get((ctx.repo, ctx.params["pull_number"]))
    return not_found() if pull is None else Reply(200, pull_json(ctx.render, pull))


def list_check_runs(ctx: Ctx) -> Reply:
    sha, name, status = _sha(ctx), ctx.query.get("check_name"), ctx.query.get("status")
    runs = [
        r
        for r in sorted(ctx.world.check_runs.values(), key=lambda r: r.id, reverse=True)
        if (r.repo, r.head_sha) == (ctx.repo, sha) and name in (None, r.name)
        if status in (None, r.status)
    ]
    if ctx.query.get("filter", "latest") == "latest":
        latest: dict[str, CheckRun] = {}
        for run in runs:
            latest.setdefault(run.name, run)
        runs = list(latest.values())
    return paged(ctx, [check_run_json(ctx.render, r) for r in runs], "check_runs")


def get_check_run(ctx: Ctx) -> Reply:
    run = ctx.world.check_runs.get(ctx.params["check_run_id"])
    if run is None or run.repo != ctx.repo:
        return not_found()
    return Reply(200, check_run_json(ctx.render, run))


def create_status(ctx: Ctx) -> Reply:
    status = CommitStatus(
        id=ctx.world.next_id("status"),
        repo=ctx.repo,
        sha=ctx.params["sha"],
        context=ctx.get("context", "default"),
        state=ctx.get("state"),
        description=ctx.get("description"),
        target_url=ctx.get("target_url"),
        created_at=ctx.world.clock(),
    )
    ctx.world.statuses.append(status)
    return Reply(201, status_json(ctx.render, status))


def combined_status(ctx: Ctx) -> Reply:
    sha = _sha(ctx)
    statuses = ctx.world.statuses_for(ctx.repo, sha)
    states = {s.state for s in statuses}
    state = (
        "failure"
        if states & {"failure", "error"}
        else "pending"
        if not states or "pending" in states
        else "success"
    )
    url = f"{ctx.render.api}/repos/{ctx.repo}"
    reply = paged(ctx, [status_json(ctx.render, s) for s in statuses], "statuses")
    body = {
        "state": state,
        **reply.body,
        "sha": sha,
        "repository": ctx.render.repository(ctx.repo),
        "commit_url": f"{url}/commits/{sha}",
        "url": f"{url}/commits/{sha}/status",
    }
    return replace(reply, body=body)


# Actions


def list_workflows(ctx: Ctx) -> Reply:
    workflows = [w for w in ctx.world.workflows.values() if w.repo == ctx.repo]
    return paged(ctx, [workflow_json(ctx.render, w) for w in workflows], "workflows")


def list_runs(ctx: Ctx) -> Reply:
    """Newest first; ``status`` matches a run's status or its conclusion, as on GitHub."""
    q = ctx.query
    runs = [
        r
        for r in sorted(ctx.world.runs.values(), key=lambda r: r.id, reverse=True)
        if r.repo == ctx.repo
        and q.get("head_sha") in (None, r.head_sha)
        and q.get("event") in (None, r.event)
        and q.get("branch") in (None, r.head_branch)
        and q.get("actor") in (None, r.actor)
        and q.get("status") in (None, r.status, r.conclusion)
    ]
    return paged(ctx, [run_json(ctx.render, r) for r in runs], "workflow_runs")


def _run(ctx: Ctx) -> WorkflowRun | None:
    run = ctx.world.runs.get(ctx.params["run_id"])
    return run if run is not None and run.repo == ctx.repo else None


def get_run(ctx: Ctx) -> Reply:
    run = _run(ctx)
    return not_found() if run is None else Reply(200, run_json(ctx.render, run))


def list_jobs(ctx: Ctx) -> Reply:
    run = _run(ctx)
    if run is None:
        return not_found()
    jobs = [j for j in ctx.world.jobs.values() if j.run_id == run.id]
    return paged(ctx, [job_json(ctx.render, j) for j in jobs], "jobs")


def _rerun(ctx: Ctx, *, failed_only: bool) -> Reply:
    run = _run(ctx)
    if run is None:
        return not_found()
    if run.status != "completed":
        return Reply(403, {"message": "This workflow run is not completed"})
    for job in ctx.world.jobs.values():
        if job.run_id == run.id and (not failed_only or job.conclusion in FAILED):
            job.status, job.conclusion, job.completed_at = "queued", None, None
    run.status, run.conclusion = "queued", None
    run.run_attempt += 1
    run.updated_at = run.started_at = ctx.world.clock()
    ctx.world.reruns.append(Rerun(ctx.repo, run.id, failed_only))
    return Reply(201, {})


def rerun(ctx: Ctx) -> Reply:
    return _rerun(ctx, failed_only=False)


def rerun_failed(ctx: Ctx) -> Reply:
    return _rerun(ctx, failed_only=True)


def cancel_run(ctx: Ctx) -> Reply:
    run = _run(ctx)
    if run is None:
        return not_found()
    if run.status == "completed":
        return Reply(409, {"message": "Cannot cancel a workflow run that is completed."})
    run.status, run.conclusion, run.updated_at = "completed", "cancelled", ctx.world.clock()
    ctx.world.cancellations.append((ctx.repo, run.id))
    return Reply(202, {})


def dispatch(ctx: Ctx) -> Reply:
    """204, or 200 with the new run when ``return_run_details`` is true."""
    given = ctx.params["workflow_id"]
    key: int | str = int(given) if given.isdigit() else given
    workflows = [
        w
        for w in ctx.world.workflows.values()
        if w.repo == ctx.repo and key in (w.id, w.path.rsplit("/", 1)[-1])
    ]
    if not workflows:
        return not_found()
    ref, inputs = ctx.get("ref"), ctx.get("inputs") or {}
    ctx.world.dispatches.append(Dispatch(ctx.repo, key, ref, inputs))
    if not ctx.get("return_run_details", False):
        return Reply(204)
    now = ctx.world.clock()
    branch, sha = _branch_and_sha(ctx, ref)
    run = WorkflowRun(
        id=ctx.world.next_id("run"),
        repo=ctx.repo,
        workflow_id=workflows[0].id,
        head_sha=sha,
        head_branch=branch,
        event="workflow_dispatch",
        status="queued",
        conclusion=None,
        run_number=sum(1 for r in ctx.world.runs.values() if r.repo == ctx.repo) + 1,
        actor=ctx.grant.login,
        created_at=now,
        updated_at=now,
    )
    ctx.world.runs[run.id] = run
    rendered = run_json(ctx.render, run)
    body = {"workflow_run_id": run.id, "run_url": rendered["url"], "html_url": rendered["html_url"]}
    return Reply(200, body)


def ci_behaviours() -> dict[str, Handler]:
    """Operation id to handler for the CI operations."""
    return {
        "repos/get": get_repo,
        "pulls/get": get_pull,
        "checks/list-for-ref": list_check_runs,
        "checks/get": get_check_run,
        "repos/create-commit-status": create_status,
        "repos/get-combined-status-for-ref": combined_status,
        "actions/list-repo-workflows": list_workflows,
        "actions/list-workflow-runs-for-repo": list_runs,
        "actions/get-workflow-run": get_run,
        "actions/list-jobs-for-workflow-run": list_jobs,
        "actions/re-run-workflow": rerun,
        "actions/re-run-workflow-failed-jobs": rerun_failed,
        "actions/cancel-workflow-run": cancel_run,
        "actions/create-workflow-dispatch": dispatch,
    }


# JSON shapes


def pull_json(r: Render, pull: Pull) -> dict[str, Any]:
    repo, number = pull.repo, pull.number
    url = f"{r.api}/repos/{repo}/pulls/{number}"
    issue_url = f"{r.api}/repos/{repo}/issues/{number}"
    html = f"{WEB}/{repo}/pull/{number}"
    head_repo = f"{pull.author}/{repo.split('/')[1]}" if pull.fork else repo
    owner = repo.split("/")[0]
    return {
        "url": url,
        "id": name_id(f"{repo}#{number}"),
        "node_id": node_id("PullRequest", number),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_url,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{r.api}/repos/{repo}/pulls/comments{{/number}}",
        "comments_url": f"{issue_url}/comments",
        "statuses_url": f"{r.api}/repos/{repo}/statuses/{pull.head_sha}",
        "number": number,
        "state": "closed" if pull.merged else pull.state,
        "locked": False,
        "title": pull.title,
        "user": r.user(pull.author),
        "body": None,
        "labels": [],
        "milestone": None,
        "created_at": iso(pull.created_at),
        "updated_at": iso(pull.created_at),
        "closed_at": iso(pull.created_at) if pull.merged or pull.state == "closed" else None,
        "merged_at": iso(pull.created_at) if pull.merged else None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "head": {
            "label": f"{head_repo.split('/')[0]}:{pull.head_ref}",
            "ref": pull.head_ref,
            "sha": pull.head_sha,
            "user": r.user(head_repo.split("/")[0]),
            "repo": r.repository(head_repo, fork=pull.fork),
        },
        "base": {
            "label": f"{owner}:{pull.base_ref}",
            "ref": pull.base_ref,
            "sha": "0" * 40,
            "user": r.user(owner),
            "repo": r.repository(repo),
        },
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": url,
                "html": html,
                "issue": issue_url,
                "comments": f"{issue_url}/comments",
                "review_comments": f"{url}/comments",
                "review_comment": f"{r.api}/repos/{repo}/pulls/comments{{/number}}",
                "commits": f"{url}/commits",
                "statuses": f"{r.api}/repos/{repo}/statuses/{pull.head_sha}",
            }.items()
        },
        "author_association": r.world.association(repo, pull.author),
        "auto_merge": None,
        "draft": False,
        "merged": pull.merged,
        "mergeable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "maintainer_can_modify": pull.fork,
        "comments": len(r.world.thread(repo, number, "issue")),
        "review_comments": len(r.world.thread(repo, number, "review")),
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    }


def check_run_json(r: Render, run: CheckRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": "",
        "url": f"{r.api}/repos/{run.repo}/check-runs/{run.id}",
        "html_url": f"{WEB}/{run.repo}/runs/{run.id}",
        "details_url": f"{WEB}/{run.repo}/runs/{run.id}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{r.api}/repos/{run.repo}/check-runs/{run.id}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.id},
        "app": r.app() if r.world.app_id is not None else None,
        "pull_requests": _pulls_at(r, run.repo, run.head_sha),
    }


def _pulls_at(r: Render, repo: str, sha: str) -> list[dict[str, Any]]:
    """The minimal pull objects GitHub lists on runs: same-repository pulls only."""
    return [
        {
            "url": f"{r.api}/repos/{p.repo}/pulls/{p.number}",
            "id": name_id(f"{p.repo}#{p.number}"),
            "number": p.number,
            "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": _repo_ref(r, p.repo)},
            "base": {"ref": p.base_ref, "sha": "0" * 40, "repo": _repo_ref(r, p.repo)},
        }
        for p in r.world.pulls.values()
        if (p.repo, p.head_sha) == (repo, sha) and not p.fork
    ]


def _repo_ref(r: Render, full_name: str) -> dict[str, Any]:
    url = f"{r.api}/repos/{full_name}"
    return {"id": name_id(full_name), "url": url, "name": full_name.split("/")[1]}


def status_json(r: Render, status: CommitStatus) -> dict[str, Any]:
    return {
        "url": f"{r.api}/repos/{status.repo}/statuses/{status.sha}",
        "avatar_url": None,
        "id": status.id,
        "node_id": node_id("StatusContext", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "creator": r.user(r.world.bot_login),
    }


def workflow_json(r: Render, workflow: Workflow) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "node_id": node_id("Workflow", workflow.id),
        "name": workflow.name,
        "path": workflow.path,
        "state": "active",
        "created_at": iso(workflow.created_at),
        "updated_at": iso(workflow.created_at),
        "url": f"{r.api}/repos/{workflow.repo}/actions/workflows/{workflow.id}",
        "html_url": f"{WEB}/{workflow.repo}/blob/main/{workflow.path}",
        "badge_url": f"{WEB}/{workflow.repo}/workflows/{workflow.name}/badge.svg",
    }


def run_json(r: Render, run: WorkflowRun) -> dict[str, Any]:
    url = f"{r.api}/repos/{run.repo}/actions/runs/{run.id}"
    workflow = r.world.workflows.get(run.workflow_id)
    path = workflow.path if workflow else ".github/workflows/ci.yml"
    return {
        "id": run.id,
        "name": workflow.name if workflow else "CI",
        "node_id": node_id("WorkflowRun", run.id),
        "check_suite_id": run.id,
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": f"{path}@{run.head_branch}",
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "event": run.event,
        "display_title": run.head_branch,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow_id,
        "url": url,
        "html_url": f"{WEB}/{run.repo}/actions/runs/{run.id}",
        "pull_requests": _pulls_at(r, run.repo, run.head_sha),
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "run_started_at": iso(run.started_at or run.created_at),
        "actor": r.user(run.actor),
        "triggering_actor": r.user(run.actor),
        "jobs_url": f"{url}/jobs",
        "logs_url": f"{url}/logs",
        "check_suite_url": f"{r.api}/repos/{run.repo}/check-suites/{run.id}",
        "artifacts_url": f"{url}/artifacts",
        "cancel_url": f"{url}/cancel",
        "rerun_url": f"{url}/rerun",
        "workflow_url": f"{r.api}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
        "head_commit": None,
        "repository": r.repository(run.repo),
        "head_repository": r.repository(run.repo),
    }


def job_json(r: Render, job: Job) -> dict[str, Any]:
    run = r.world.runs[job.run_id]
    url = f"{r.api}/repos/{job.repo}/actions/jobs/{job.id}"
    workflow = r.world.workflows.get(run.workflow_id)
    return {
        "id": job.id,
        "run_id": job.run_id,
        "run_url": f"{r.api}/repos/{job.repo}/actions/runs/{job.run_id}",
        "run_attempt": run.run_attempt,
        "node_id": node_id("CheckRun", job.id),
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "workflow_name": workflow.name if workflow else "CI",
        "url": url,
        "html_url": f"{WEB}/{job.repo}/actions/runs/{job.run_id}/job/{job.id}",
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": iso(job.started_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "name": job.name,
        "steps": [],
        "check_run_url": f"{r.api}/repos/{job.repo}/check-runs/{job.id}",
        "labels": ["ubuntu-latest"],
        "runner_id": None,
        "runner_name": None,
        "runner_group_id": None,
        "runner_group_name": None,
    }
