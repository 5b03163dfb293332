"""GitHub's CI vocabulary read into ``bot.forge`` types, for webhooks and REST answers. Pure.

``decode_ci(event, payload)`` turns a ``workflow_run`` or ``check_suite`` delivery into a
``CiRunEvent`` for the run tracker, or ``NotTracked`` with the reason:

- ``workflow_run`` (``requested``, ``in_progress``, ``completed``): the run as ``ci_run``
  reads it, with the pull request numbers GitHub associated with it;
- ``check_suite.completed`` from an App other than GitHub Actions (whose suites are
  already covered by ``workflow_run``): one ``CiRun`` per suite, id ``suite:<id>``, named
  after the App, linking to the commit's checks page;
- anything else: ``NotTracked``.

``ci_run(run)`` reads a workflow run object; the REST API (``actions/get-workflow-run``)
and the webhook carry the same shape, so the forge client and the webhook agree on every
field.

Invariants: times are timezone-aware UTC; a run is ``finished_at`` only once it is
completed; an unknown status counts as queued (it has not finished).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.forge import CheckState, CiRun, CiRunEvent
from bot.messages import Forge

WORKFLOW_RUN_ACTIONS = frozenset({"requested", "in_progress", "completed"})
ACTIONS_APP = "github-actions"
STATES = {
    "queued": CheckState.QUEUED,
    "waiting": CheckState.QUEUED,
    "requested": CheckState.QUEUED,
    "pending": CheckState.QUEUED,
    "in_progress": CheckState.IN_PROGRESS,
    "completed": CheckState.COMPLETED,
}


@dataclass(frozen=True, slots=True)
class NotTracked:
    """A CI delivery the run tracker has no use for, and why."""

    reason: str


def decode_ci(event: str, payload: Mapping[str, Any]) -> CiRunEvent | NotTracked:
    """The CI update a ``workflow_run`` or ``check_suite`` delivery carries."""
    action = str(payload.get("action", ""))
    if event == "workflow_run":
        if action not in WORKFLOW_RUN_ACTIONS:
            return NotTracked(f"workflow_run.{action} is not a run update")
        return _workflow_run(payload)
    if event == "check_suite":
        if action != "completed":
            return NotTracked(f"check_suite.{action} is not a completion")
        return _check_suite(payload)
    return NotTracked(f"{event} events carry no CI runs")


def state_of(status: str | None) -> CheckState:
    """GitHub's run or check ``status`` as a ``CheckState``."""
    return STATES.get(str(status), CheckState.QUEUED)


def parse_time(value: object) -> datetime | None:
    """A GitHub timestamp (``2020-10-05T16:33:49Z``) as aware UTC; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def ci_run(run: Mapping[str, Any], workflow_name: str | None = None) -> CiRun:
    """A workflow run object (REST or webhook) as a ``CiRun``.

    ``workflow_name`` names the run when the run's own ``name`` is empty (GitHub's
    examples have it so); a webhook carries it in its ``workflow`` object.
    """
    state = state_of(run.get("status"))
    actor = run.get("actor") or run.get("triggering_actor") or {}
    return CiRun(
        id=str(run["id"]),
        name=str(run.get("name") or workflow_name or _file_name(run.get("path"))),
        state=state,
        conclusion=_conclusion(state, run.get("conclusion")),
        url=str(run["html_url"]),
        head_sha=str(run["head_sha"]),
        actor=str(actor.get("login", "")),
        event=str(run.get("event") or ""),
        attempt=int(run.get("run_attempt") or 1),
        started_at=parse_time(run.get("run_started_at") or run.get("created_at")),
        finished_at=parse_time(run.get("updated_at")) if state is CheckState.COMPLETED else None,
    )


def _workflow_run(payload: Mapping[str, Any]) -> CiRunEvent:
    run = payload["workflow_run"]
    workflow = payload.get("workflow") or {}
    return CiRunEvent(
        forge=Forge.GITHUB,
        repo=str(payload["repository"]["full_name"]),
        run=ci_run(run, workflow.get("name")),
        changes=_numbers(run.get("pull_requests") or ()),
    )


def _check_suite(payload: Mapping[str, Any]) -> CiRunEvent | NotTracked:
    suite = payload["check_suite"]
    app = suite.get("app") or {}
    if app.get("slug") == ACTIONS_APP:
        return NotTracked("check_suite from GitHub Actions: its workflow_run events cover it")
    repository = payload["repository"]
    head_sha = str(suite["head_sha"])
    state = state_of(suite.get("status"))
    sender = payload.get("sender") or {}
    return CiRunEvent(
        forge=Forge.GITHUB,
        repo=str(repository["full_name"]),
        run=CiRun(
            id=f"suite:{suite['id']}",
            name=str(app.get("name") or app.get("slug") or "checks"),
            state=state,
            conclusion=_conclusion(state, suite.get("conclusion")),
            url=f"{repository['html_url']}/commit/{head_sha}/checks",
            head_sha=head_sha,
            actor=str(sender.get("login", "")),
            event="check_suite",
            started_at=parse_time(suite.get("created_at")),
            finished_at=(
                parse_time(suite.get("updated_at")) if state is CheckState.COMPLETED else None
            ),
        ),
        changes=_numbers(suite.get("pull_requests") or ()),
    )


def _conclusion(state: CheckState, conclusion: object) -> str | None:
    """GitHub sets a conclusion only on completed runs; ignore one on anything else."""
    if state is not CheckState.COMPLETED or conclusion is None:
        return None
    return str(conclusion)


def _numbers(pulls: Any) -> tuple[int, ...]:
    return tuple(int(pull["number"]) for pull in pulls)


def _file_name(path: object) -> str:
    """``.github/workflows/ci.yml@main`` -> ``ci.yml``; the last resort for a run's name."""
    text = str(path or "workflow").split("@", 1)[0]
    return text.rsplit("/", 1)[-1]
