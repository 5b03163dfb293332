"""Webhook payloads for what happens at the fake GitHub, built from GitHub's own examples.

``workflow_run_payload(github, run_id, action)`` starts from the real example
``workflow_run.completed.with-pull-requests.json`` and overwrites what names the fake's run:
ids, attempt, status, conclusion, commit, branch, names, links, times, the repository, the
pull requests at the run's commit (same-repository pulls, as GitHub lists them), the actor,
and the installation when an App installation covers the repository. Everything else stays
as GitHub sent it, so a decoder meets the payload's real shape.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.fakes.github import FakeGitHub
from tests.fakes.github_render import WEB, iso, node_id

WEBHOOKS = Path(__file__).parent / "fixtures" / "github" / "webhooks"
WORKFLOW_RUN_EXAMPLE = "workflow_run.completed.with-pull-requests.json"
API = "https://api.github.com"


@cache
def _example(name: str) -> str:
    return (WEBHOOKS / name).read_text(encoding="utf-8")


def example(name: str) -> dict[str, Any]:
    """A fresh copy of one of GitHub's example payloads."""
    data: dict[str, Any] = json.loads(_example(name))
    return data


def workflow_run_payload(github: FakeGitHub, run_id: int, action: str) -> dict[str, Any]:
    """The ``workflow_run`` delivery GitHub would send now for the fake's run ``run_id``."""
    world = github.world
    run = world.runs[run_id]
    workflow = world.workflows.get(run.workflow_id)
    workflow_name = workflow.name if workflow is not None else "CI"
    workflow_path = workflow.path if workflow is not None else ".github/workflows/ci.yml"
    owner = run.repo.split("/", 1)[0]
    payload = example(WORKFLOW_RUN_EXAMPLE)
    payload["action"] = action

    for repository in (
        payload["repository"],
        payload["workflow_run"]["repository"],
        payload["workflow_run"]["head_repository"],
    ):
        _rename_repository(repository, run.repo)
    payload["organization"]["login"] = owner
    payload["sender"]["login"] = run.actor

    api_run = f"{API}/repos/{run.repo}/actions/runs/{run.id}"
    wanted = {
        "id": run.id,
        "name": workflow_name,
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "status": run.status,
        "conclusion": run.conclusion,
        "event": run.event,
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "display_title": run.head_branch,
        "path": workflow_path,
        "workflow_id": run.workflow_id,
        "check_suite_id": run.id,
        "html_url": f"{WEB}/{run.repo}/actions/runs/{run.id}",
        "url": api_run,
        "jobs_url": f"{api_run}/jobs",
        "logs_url": f"{api_run}/logs",
        "artifacts_url": f"{api_run}/artifacts",
        "cancel_url": f"{api_run}/cancel",
        "rerun_url": f"{api_run}/rerun",
        "check_suite_url": f"{API}/repos/{run.repo}/check-suites/{run.id}",
        "workflow_url": f"{API}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
        "previous_attempt_url": (
            f"{api_run}/attempts/{run.run_attempt - 1}" if run.run_attempt > 1 else None
        ),
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "run_started_at": iso(run.started_at or run.created_at),
    }
    workflow_run = payload["workflow_run"]
    workflow_run.update(wanted)
    workflow_run["head_commit"]["id"] = run.head_sha
    for who in ("actor", "triggering_actor"):
        workflow_run[who]["login"] = run.actor
    template = workflow_run["pull_requests"][0]
    workflow_run["pull_requests"] = [
        _pull(template, run.repo, pull.number, pull.head_ref, pull.head_sha, pull.base_ref)
        for pull in sorted(world.pulls.values(), key=lambda p: p.number)
        if (pull.repo, pull.head_sha) == (run.repo, run.head_sha) and not pull.fork
    ]
    payload["workflow"].update(
        {
            "id": run.workflow_id,
            "name": workflow_name,
            "path": workflow_path,
            "url": f"{API}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
            "html_url": f"{WEB}/{run.repo}/blob/main/{workflow_path}",
            "badge_url": f"{WEB}/{run.repo}/workflows/{workflow_name}/badge.svg",
        }
    )
    installations = [i for i in world.installations.values() if run.repo in i.repos]
    if installations:
        installation = installations[0].id
        payload["installation"] = {
            "id": installation,
            "node_id": node_id("Installation", installation),
        }
    return payload


def _rename_repository(repository: dict[str, Any], full_name: str) -> None:
    owner, name = full_name.split("/", 1)
    old = str(repository["full_name"])
    repository["full_name"] = full_name
    repository["name"] = name
    repository["owner"]["login"] = owner
    for key, value in list(repository.items()):
        if isinstance(value, str) and old in value:
            repository[key] = value.replace(old, full_name)


def _pull(
    template: dict[str, Any],
    repo: str,
    number: int,
    head_ref: str,
    head_sha: str,
    base_ref: str,
) -> dict[str, Any]:
    pull = copy.deepcopy(template)
    name = repo.split("/", 1)[1]
    pull["url"] = f"{API}/repos/{repo}/pulls/{number}"
    pull["number"] = number
    pull["head"].update({"ref": head_ref, "sha": head_sha})
    pull["base"]["ref"] = base_ref
    for side in ("head", "base"):
        pull[side]["repo"].update({"url": f"{API}/repos/{repo}", "name": name})
    return pull
