"""GitLab's CI vocabulary read into ``bot.forge`` types, for webhooks and REST answers. Pure.

``decode_ci(event, payload)`` turns a ``Pipeline Hook`` delivery into a ``CiRunEvent`` for
the run tracker, or None:

- ``Pipeline Hook``: the pipeline as ``pipeline_run`` reads it; ``changes`` is the merge
  request's iid when the pipeline belongs to one (``merge_request`` in the payload). A
  child pipeline (source ``parent_pipeline``) is None: its parent is the run, as in
  ``GitLabForge.ci_runs``.
- ``Merge Request Hook``: None. It carries no pipeline state (GitLab sends a
  ``Pipeline Hook`` for every pipeline status change, merge request pipelines included),
  and a new head commit starts new pipelines that arrive as pipeline events themselves.
- anything else: None.

``pipeline_run`` reads a pipeline object of the REST API (``GET .../pipelines/:id``) or the
``object_attributes`` of a pipeline webhook, so the forge client and the webhook agree on
every field: ``name`` is the pipeline's ``workflow:name`` or ``pipeline #<id>``, ``event``
its ``source``, ``attempt`` always 1 (a GitLab retry keeps the pipeline id and counts
nothing; the bot re-runs by creating a new pipeline), ``started_at`` its creation.

Status words (pipelines and jobs): ``created``, ``waiting_for_resource``, ``preparing``,
``pending``, ``scheduled``, ``waiting_for_callback`` are queued; ``running`` and
``canceling`` in progress; ``success``, ``failed``, ``canceled``, ``skipped`` completed
with that conclusion. ``manual`` is completed: a pipeline blocked on a manual job waits
for a person (conclusion ``action_required``, which does not count as passed); a manual
job not yet played is ``manual``. A failed job that may fail (``allow_failure``) is
``allowed_failure``, which does not count as failed. Unknown words count as queued.

Invariants: times are timezone-aware UTC (GitLab writes ``2016-08-12 15:23:28 UTC`` in
webhooks and ISO 8601 in the REST API); a run is ``finished_at`` only once completed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.forge import CheckState, CiRun, CiRunEvent
from bot.messages import Forge

PIPELINE_HOOK = "Pipeline Hook"
CHILD_SOURCE = "parent_pipeline"
QUEUED = frozenset(
    {
        "created",
        "waiting_for_resource",
        "preparing",
        "pending",
        "scheduled",
        "waiting_for_callback",
    }
)
RUNNING = frozenset({"running", "canceling"})
FINISHED = frozenset({"success", "failed", "canceled", "skipped", "manual"})
BLOCKED = "action_required"
ALLOWED_FAILURE = "allowed_failure"


def decode_ci(event: str, payload: Mapping[str, Any]) -> CiRunEvent | None:
    """The CI update a GitLab webhook delivery carries, or None (module docstring)."""
    if event != PIPELINE_HOOK:
        return None
    attributes = payload.get("object_attributes") or {}
    if attributes.get("source") == CHILD_SOURCE:
        return None
    project = payload.get("project") or {}
    request = payload.get("merge_request") or {}
    run = pipeline_run(
        attributes,
        actor=str((payload.get("user") or {}).get("username") or ""),
        project_url=str(project.get("web_url") or ""),
    )
    changes = (int(request["iid"]),) if request.get("iid") is not None else ()
    return CiRunEvent(
        forge=Forge.GITLAB,
        repo=str(project["path_with_namespace"]),
        run=run,
        changes=changes,
    )


def status_of(status: object, *, pipeline: bool = False) -> tuple[CheckState, str | None]:
    """A GitLab pipeline or job status word as a state and, once completed, a conclusion."""
    word = str(status)
    if word in RUNNING:
        return CheckState.IN_PROGRESS, None
    if word not in FINISHED:
        return CheckState.QUEUED, None
    if word == "manual" and pipeline:
        return CheckState.COMPLETED, BLOCKED
    return CheckState.COMPLETED, word


def job_conclusion(job: Mapping[str, Any]) -> tuple[CheckState, str | None]:
    """A job's state and conclusion; a failure it is allowed to have is not a failure."""
    state, conclusion = status_of(job.get("status"))
    if conclusion == "failed" and job.get("allow_failure"):
        return state, ALLOWED_FAILURE
    return state, conclusion


def parse_time(value: object) -> datetime | None:
    """A GitLab timestamp (ISO 8601, or ``2016-08-12 15:23:28 UTC``) as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text.removesuffix(" UTC") + "+00:00"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def pipeline_run(pipeline: Mapping[str, Any], *, actor: str = "", project_url: str = "") -> CiRun:
    """A pipeline (REST object or webhook ``object_attributes``) as a ``CiRun``.

    The REST object names its user and URL itself; a webhook has them beside it, so they
    are passed in (``actor``, ``project_url`` for ``<project>/-/pipelines/<id>``).
    """
    state, conclusion = status_of(pipeline.get("status"), pipeline=True)
    pipeline_id = int(pipeline["id"])
    user = pipeline.get("user") or {}
    url = (
        pipeline.get("web_url") or pipeline.get("url") or f"{project_url}/-/pipelines/{pipeline_id}"
    )
    finished = None
    if state is CheckState.COMPLETED:
        finished = parse_time(pipeline.get("finished_at") or pipeline.get("updated_at"))
    return CiRun(
        id=str(pipeline_id),
        name=str(pipeline.get("name") or f"pipeline #{pipeline_id}"),
        state=state,
        conclusion=conclusion,
        url=str(url),
        head_sha=str(pipeline["sha"]),
        actor=str(user.get("username") or actor),
        event=str(pipeline.get("source") or ""),
        attempt=1,
        started_at=parse_time(pipeline.get("created_at")),
        finished_at=finished,
    )
