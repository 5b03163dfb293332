"""Fake GitLab's CI side: merge requests, pipelines, jobs, commit statuses, CI/CD variables
and CI files, kept simple but shaped as GitLab's REST API answers.

``GitLabCiState`` holds the state (seeded by tests, changed by requests) and records what
the bot did (``created`` pipelines, ``retries``, ``cancels``); ``ci_routes(state)`` are
the routes under ``/api/v4`` that ``tests.fakes.gitlab.FakeGitLab`` mounts behind its auth,
call log and error scripting. That middleware resolves ``/projects/:id`` (numeric id or
URL-encoded path) and puts the ``Project`` and the ``User`` in the request; the routes
here read them from there, and everything is keyed by the project's path.

How it behaves (GitLab's REST API docs: merge requests, pipelines, jobs, commits,
project- and group-level variables, repository files):

- ``POST /projects/:id/pipeline`` resolves ``ref`` to a known branch (the default branch,
  a merge request's source branch, ``add_branch``) or answers 400 "Reference not found";
  ``POST .../merge_requests/:iid/pipelines`` creates a pipeline on
  ``refs/merge-requests/:iid/head`` (source ``merge_request_event``). New pipelines get
  one ``created`` job per name in ``job_names`` (default ``build``, ``test``).
- ``POST .../pipelines/:id/retry`` replaces each failed or cancelled job by a new pending
  one (the old one becomes ``retried``) and the pipeline goes back to ``pending``;
  ``.../cancel`` cancels what has not finished (a finished pipeline is left as it is).
- Job and commit status ids come from one sequence (GitLab keeps both in one table); the
  statuses of a commit are its jobs and its external statuses, the latest per name and ref
  unless ``all``.
- Variable lists carry values, as GitLab's do (hidden ones answer ``null``). A group in
  ``forbidden_groups`` answers 403; an unknown group 404.
- Lists are paginated (``page``, ``per_page``, ``Link`` and ``X-Next-Page``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from aiohttp import web

API = "/api/v4"
WEB = "https://gitlab.example.com"
FINISHED = frozenset({"success", "failed", "canceled", "skipped", "manual"})
RETRIED = frozenset({"failed", "canceled"})
DEFAULT_JOBS = ("build", "test")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class MergeRequest:
    project: str
    iid: int
    title: str
    author: str
    source_branch: str
    target_branch: str
    sha: str
    state: str = "opened"  # opened, closed, merged, locked
    fork: bool = False
    id: int = 0


@dataclass
class Pipeline:
    id: int
    iid: int
    project: str
    sha: str
    ref: str
    status: str
    source: str
    user: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    name: str | None = None
    merge_request_iid: int | None = None


@dataclass
class CiJob:
    id: int
    pipeline_id: int
    project: str
    name: str
    stage: str
    status: str
    created_at: datetime
    allow_failure: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    retried: bool = False


@dataclass
class CommitStatus:
    """An external commit status (``POST /projects/:id/statuses/:sha``)."""

    id: int
    project: str
    sha: str
    ref: str
    name: str
    status: str
    pipeline_id: int
    created_at: datetime
    target_url: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Variable:
    key: str
    value: str | None
    protected: bool = False
    masked: bool = False
    hidden: bool = False
    raw: bool = False
    environment_scope: str = "*"
    variable_type: str = "env_var"
    description: str | None = None


@dataclass(frozen=True)
class CreatedPipeline:
    """A pipeline the bot asked for: on a ref, or for a merge request."""

    project: str
    pipeline_id: int
    ref: str
    merge_request_iid: int | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass
class GitLabCiState:
    """Everything the CI routes serve and record, keyed by project path."""

    clock: Callable[[], datetime] = _utc_now
    merge_requests: dict[tuple[str, int], MergeRequest] = field(default_factory=dict)
    branches: dict[tuple[str, str], str] = field(default_factory=dict)
    default_branch: dict[str, str] = field(default_factory=dict)
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    jobs: dict[int, CiJob] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    job_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    project_variables: dict[str, list[Variable]] = field(default_factory=dict)
    group_variables: dict[str, list[Variable]] = field(default_factory=dict)
    forbidden_groups: set[str] = field(default_factory=set)
    files: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    created: list[CreatedPipeline] = field(default_factory=list)
    retries: list[tuple[str, int]] = field(default_factory=list)
    cancels: list[tuple[str, int]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str, start: int = 1) -> int:
        self.counters[kind] = self.counters.get(kind, start - 1) + 1
        return self.counters[kind]

    # Seeding

    def add_merge_request(
        self,
        project: str,
        iid: int,
        sha: str,
        source_branch: str,
        author: str,
        *,
        title: str | None = None,
        target_branch: str = "main",
        state: str = "opened",
        fork: bool = False,
    ) -> MergeRequest:
        request = MergeRequest(
            project=project,
            iid=iid,
            title=title or f"Merge request {iid}",
            author=author,
            source_branch=source_branch,
            target_branch=target_branch,
            sha=sha,
            state=state,
            fork=fork,
            id=self.next_id("merge_request", 7000),
        )
        self.merge_requests[(project, iid)] = request
        if not fork:
            self.branches[(project, source_branch)] = sha
        return request

    def add_branch(self, project: str, branch: str, sha: str) -> None:
        self.branches[(project, branch)] = sha

    def add_pipeline(
        self,
        project: str,
        sha: str,
        ref: str,
        *,
        status: str = "success",
        source: str = "push",
        user: str = "alice",
        jobs: dict[str, str] | None = None,
        name: str | None = None,
        merge_request_iid: int | None = None,
    ) -> int:
        """A pipeline with its jobs (name -> status; default: every job of the project with
        the pipeline's status); its id."""
        now = self.clock()
        pipeline = Pipeline(
            id=self.next_id("pipeline", 500),
            iid=self.next_id(f"pipeline-iid:{project}"),
            project=project,
            sha=sha,
            ref=ref,
            status=status,
            source=source,
            user=user,
            created_at=now,
            updated_at=now,
            started_at=None if status in ("created", "pending") else now,
            finished_at=now if status in FINISHED else None,
            name=name,
            merge_request_iid=merge_request_iid,
        )
        self.pipelines[pipeline.id] = pipeline
        wanted = jobs if jobs is not None else dict.fromkeys(self._job_names(project), status)
        for job_name, job_status in wanted.items():
            self.add_job(pipeline, job_name, job_status)
        return pipeline.id

    def add_status(
        self,
        project: str,
        sha: str,
        name: str,
        status: str,
        *,
        pipeline_id: int | None = None,
        target_url: str | None = None,
    ) -> int:
        """An external commit status; without ``pipeline_id`` it gets an ``external`` pipeline
        of its own, as GitLab does for a commit that has none."""
        if pipeline_id is None:
            pipeline_id = self.add_pipeline(
                project, sha, "main", status=status, source="external", jobs={}
            )
        ref = self.pipelines[pipeline_id].ref
        status_id = self.next_id("build", 9000)
        self.statuses.append(
            CommitStatus(
                id=status_id,
                project=project,
                sha=sha,
                ref=ref,
                name=name,
                status=status,
                pipeline_id=pipeline_id,
                created_at=self.clock(),
                target_url=target_url,
            )
        )
        return status_id

    def add_variable(self, project: str, variable: Variable) -> None:
        self.project_variables.setdefault(project, []).append(variable)

    def add_group_variable(self, group: str, variable: Variable) -> None:
        self.group_variables.setdefault(group, []).append(variable)

    def add_file(self, project: str, path: str, text: str, *, ref: str | None = None) -> None:
        branch = ref or self.default_branch.get(project, "main")
        self.files.setdefault((project, branch), {})[path] = text

    def finish_pipeline(
        self, pipeline_id: int, status: str, jobs: dict[str, str] | None = None
    ) -> None:
        """Complete a pipeline: the named jobs get their status, the others ``status``."""
        pipeline = self.pipelines[pipeline_id]
        now = self.clock()
        for job in self.current_jobs(pipeline_id):
            job.status = (jobs or {}).get(job.name, status)
            job.started_at = job.started_at or now
            job.finished_at = now
        pipeline.status, pipeline.updated_at, pipeline.finished_at = status, now, now
        pipeline.started_at = pipeline.started_at or now

    def start_pipeline(self, pipeline_id: int) -> None:
        pipeline = self.pipelines[pipeline_id]
        now = self.clock()
        pipeline.status, pipeline.updated_at, pipeline.started_at = "running", now, now
        for job in self.current_jobs(pipeline_id):
            job.status, job.started_at = "running", now

    # Reading

    def current_jobs(self, pipeline_id: int) -> list[CiJob]:
        return [
            job
            for job in sorted(self.jobs.values(), key=lambda j: j.id)
            if job.pipeline_id == pipeline_id and not job.retried
        ]

    def _job_names(self, project: str) -> tuple[str, ...]:
        return self.job_names.get(project, DEFAULT_JOBS)

    def add_job(self, pipeline: Pipeline, name: str, status: str) -> CiJob:
        now = self.clock()
        job = CiJob(
            id=self.next_id("build", 9000),
            pipeline_id=pipeline.id,
            project=pipeline.project,
            name=name,
            stage="build" if name == "build" else "test",
            status=status,
            created_at=now,
            started_at=None if status in ("created", "pending", "manual", "skipped") else now,
            finished_at=now if status in FINISHED - {"manual", "skipped"} else None,
        )
        self.jobs[job.id] = job
        return job

    def new_pipeline(
        self,
        project: str,
        sha: str,
        ref: str,
        source: str,
        user: str,
        merge_request_iid: int | None = None,
    ) -> Pipeline:
        pipeline_id = self.add_pipeline(
            project,
            sha,
            ref,
            status="created",
            source=source,
            user=user,
            merge_request_iid=merge_request_iid,
        )
        return self.pipelines[pipeline_id]


# Routes

Route = Callable[[GitLabCiState, web.Request], Awaitable[web.StreamResponse]]


def ci_routes(state: GitLabCiState) -> list[web.RouteDef]:
    project = API + "/projects/{id}"
    mr = project + "/merge_requests/{iid:\\d+}"
    pipeline = project + "/pipelines/{pipeline_id:\\d+}"
    table: list[tuple[str, str, Route]] = [
        ("GET", mr, _get_merge_request),
        ("GET", project + "/merge_requests", _list_merge_requests),
        ("POST", mr + "/pipelines", _create_merge_request_pipeline),
        ("POST", project + "/pipeline", _create_pipeline),
        ("GET", project + "/pipelines", _list_pipelines),
        ("GET", pipeline, _get_pipeline),
        ("GET", pipeline + "/jobs", _list_jobs),
        ("POST", pipeline + "/retry", _retry_pipeline),
        ("POST", pipeline + "/cancel", _cancel_pipeline),
        ("GET", project + "/repository/commits/{sha}/statuses", _list_statuses),
        ("GET", project + "/variables", _list_project_variables),
        ("GET", API + "/groups/{group}/variables", _list_group_variables),
        ("GET", project + "/repository/files/{file_path:.+}/raw", _raw_file),
    ]
    return [web.route(method, path, _bound(state, handler)) for method, path, handler in table]


def _bound(
    state: GitLabCiState, handler: Route
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        return await handler(state, request)

    return serve


async def _get_merge_request(state: GitLabCiState, request: web.Request) -> web.Response:
    found = state.merge_requests.get((_path(request), int(request.match_info["iid"])))
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    return _json(merge_request_json(found, _project_id(request)))


async def _list_merge_requests(state: GitLabCiState, request: web.Request) -> web.Response:
    q = request.query
    wanted_state = q.get("state", "all")
    found = [
        mr
        for mr in sorted(state.merge_requests.values(), key=lambda m: m.iid, reverse=True)
        if mr.project == _path(request)
        and wanted_state in ("all", mr.state)
        and q.get("source_branch") in (None, mr.source_branch)
        and q.get("target_branch") in (None, mr.target_branch)
    ]
    return _paged(request, [merge_request_json(mr, _project_id(request)) for mr in found])


async def _create_merge_request_pipeline(
    state: GitLabCiState, request: web.Request
) -> web.Response:
    iid = int(request.match_info["iid"])
    found = state.merge_requests.get((_path(request), iid))
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    ref = f"refs/merge-requests/{iid}/head"
    user = _username(request)
    pipeline = state.new_pipeline(_path(request), found.sha, ref, "merge_request_event", user, iid)
    state.created.append(CreatedPipeline(_path(request), pipeline.id, ref, iid))
    return _json(pipeline_json(state, pipeline, _project_id(request)), status=201)


async def _create_pipeline(state: GitLabCiState, request: web.Request) -> web.Response:
    body = await _body(request)
    ref = str(body.get("ref") or request.query.get("ref") or "")
    project = _path(request)
    sha = state.branches.get((project, ref))
    if sha is None:
        return _json({"message": {"base": ["Reference not found"]}}, status=400)
    variables = tuple(
        (str(item["key"]), str(item["value"])) for item in body.get("variables") or ()
    )
    pipeline = state.new_pipeline(project, sha, ref, "api", _username(request))
    state.created.append(CreatedPipeline(project, pipeline.id, ref, None, variables))
    return _json(pipeline_json(state, pipeline, _project_id(request)), status=201)


async def _list_pipelines(state: GitLabCiState, request: web.Request) -> web.Response:
    q = request.query
    found = [
        p
        for p in state.pipelines.values()
        if p.project == _path(request)
        and q.get("sha") in (None, p.sha)
        and q.get("ref") in (None, p.ref)
        and q.get("status") in (None, p.status)
        and q.get("source") in (None, p.source)
    ]
    found.sort(key=lambda p: p.id, reverse=q.get("sort", "desc") == "desc")
    return _paged(request, [pipeline_basic_json(p) for p in found])


def _pipeline(state: GitLabCiState, request: web.Request) -> Pipeline | None:
    found = state.pipelines.get(int(request.match_info["pipeline_id"]))
    return found if found is not None and found.project == _path(request) else None


async def _get_pipeline(state: GitLabCiState, request: web.Request) -> web.Response:
    found = _pipeline(state, request)
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    return _json(pipeline_json(state, found, _project_id(request)))


async def _list_jobs(state: GitLabCiState, request: web.Request) -> web.Response:
    found = _pipeline(state, request)
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    retried = request.query.get("include_retried") == "true"
    jobs = [
        job
        for job in sorted(state.jobs.values(), key=lambda j: j.id)
        if job.pipeline_id == found.id and (retried or not job.retried)
    ]
    return _paged(request, [job_json(state, job, _project_id(request)) for job in jobs])


async def _retry_pipeline(state: GitLabCiState, request: web.Request) -> web.Response:
    found = _pipeline(state, request)
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    for job in state.current_jobs(found.id):
        if job.status in RETRIED:
            job.retried = True
            state.add_job(found, job.name, "pending")
    found.status, found.finished_at, found.updated_at = "pending", None, state.clock()
    state.retries.append((found.project, found.id))
    return _json(pipeline_json(state, found, _project_id(request)), status=201)


async def _cancel_pipeline(state: GitLabCiState, request: web.Request) -> web.Response:
    found = _pipeline(state, request)
    if found is None:
        return _json({"message": "404 Not found"}, status=404)
    if found.status not in FINISHED:
        now = state.clock()
        for job in state.current_jobs(found.id):
            if job.status not in FINISHED:
                job.status, job.finished_at = "canceled", now
        found.status, found.finished_at, found.updated_at = "canceled", now, now
    state.cancels.append((found.project, found.id))
    return _json(pipeline_json(state, found, _project_id(request)))


async def _list_statuses(state: GitLabCiState, request: web.Request) -> web.Response:
    project, sha = _path(request), request.match_info["sha"]
    ours = {p.id for p in state.pipelines.values() if (p.project, p.sha) == (project, sha)}
    rendered: list[tuple[int, str, str, dict[str, Any]]] = []
    for job in state.jobs.values():
        if job.pipeline_id in ours:
            ref = state.pipelines[job.pipeline_id].ref
            rendered.append((job.id, job.name, ref, job_status_json(state, job)))
    for status in state.statuses:
        if (status.project, status.sha) == (project, sha):
            rendered.append((status.id, status.name, status.ref, commit_status_json(status)))
    rendered.sort(key=lambda item: item[0], reverse=True)
    if request.query.get("all") != "true":
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for _, name, ref, body in rendered:
            latest.setdefault((name, ref), body)
        return _paged(request, list(latest.values()))
    return _paged(request, [body for *_, body in rendered])


async def _list_project_variables(state: GitLabCiState, request: web.Request) -> web.Response:
    variables = state.project_variables.get(_path(request), [])
    return _paged(request, [variable_json(v) for v in variables])


async def _list_group_variables(state: GitLabCiState, request: web.Request) -> web.Response:
    group = request.match_info["group"]
    if group in state.forbidden_groups:
        return _json({"message": "403 Forbidden"}, status=403)
    if group not in state.group_variables:
        return _json({"message": "404 Group Not Found"}, status=404)
    return _paged(request, [variable_json(v) for v in state.group_variables[group]])


async def _raw_file(state: GitLabCiState, request: web.Request) -> web.Response:
    project = _path(request)
    ref = request.query.get("ref") or state.default_branch.get(project, "main")
    text = state.files.get((project, ref), {}).get(request.match_info["file_path"])
    if text is None:
        return _json({"message": "404 File Not Found"}, status=404)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


# JSON shapes (the fields GitLab documents)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def hook_time(moment: datetime | None) -> str | None:
    """Webhooks write times as ``2016-08-12 15:23:28 UTC``."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def user_json(username: str) -> dict[str, Any]:
    return {
        "id": sum(username.encode()) + 100,
        "username": username,
        "name": username.title(),
        "state": "active",
        "avatar_url": None,
        "web_url": f"{WEB}/{username}",
    }


def merge_request_json(mr: MergeRequest, project_id: int) -> dict[str, Any]:
    source_project = project_id + 100_000 if mr.fork else project_id
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project_id,
        "title": mr.title,
        "description": "",
        "state": mr.state,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "author": user_json(mr.author),
        "source_project_id": source_project,
        "target_project_id": project_id,
        "draft": False,
        "work_in_progress": False,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "sha": mr.sha,
        "diff_refs": {"base_sha": "0" * 40, "head_sha": mr.sha, "start_sha": "0" * 40},
        "web_url": f"{WEB}/{mr.project}/-/merge_requests/{mr.iid}",
        "references": {
            "short": f"!{mr.iid}",
            "relative": f"!{mr.iid}",
            "full": f"{mr.project}!{mr.iid}",
        },
    }


def pipeline_basic_json(p: Pipeline) -> dict[str, Any]:
    """The pipeline as lists show it."""
    return {
        "id": p.id,
        "iid": p.iid,
        "project_id": None,
        "sha": p.sha,
        "ref": p.ref,
        "status": p.status,
        "source": p.source,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "web_url": f"{WEB}/{p.project}/-/pipelines/{p.id}",
        "name": p.name,
    }


def pipeline_json(state: GitLabCiState, p: Pipeline, project_id: int) -> dict[str, Any]:
    """The single pipeline (``GET .../pipelines/:id``, and what create/retry/cancel answer)."""
    return {
        **pipeline_basic_json(p),
        "project_id": project_id,
        "before_sha": "0" * 40,
        "tag": False,
        "yaml_errors": None,
        "user": user_json(p.user),
        "started_at": iso(p.started_at),
        "finished_at": iso(p.finished_at),
        "committed_at": None,
        "duration": None,
        "queued_duration": None,
        "coverage": None,
        "detailed_status": {"text": p.status, "label": p.status, "group": p.status},
    }


def job_json(state: GitLabCiState, job: CiJob, project_id: int) -> dict[str, Any]:
    p = state.pipelines[job.pipeline_id]
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "name": job.name,
        "ref": p.ref,
        "tag": False,
        "coverage": None,
        "allow_failure": job.allow_failure,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "erased_at": None,
        "duration": None,
        "queued_duration": None,
        "user": user_json(p.user),
        "commit": {"id": p.sha, "short_id": p.sha[:8]},
        "pipeline": {
            "id": p.id,
            "project_id": project_id,
            "ref": p.ref,
            "sha": p.sha,
            "status": p.status,
        },
        "web_url": f"{WEB}/{job.project}/-/jobs/{job.id}",
        "failure_reason": "script_failure" if job.status == "failed" else None,
        "tag_list": [],
        "archived": False,
    }


def job_status_json(state: GitLabCiState, job: CiJob) -> dict[str, Any]:
    p = state.pipelines[job.pipeline_id]
    return {
        "id": job.id,
        "sha": p.sha,
        "ref": p.ref,
        "status": job.status,
        "name": job.name,
        "target_url": f"{WEB}/{job.project}/-/jobs/{job.id}",
        "description": None,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "allow_failure": job.allow_failure,
        "coverage": None,
        "pipeline_id": p.id,
        "author": user_json(p.user),
    }


def commit_status_json(status: CommitStatus) -> dict[str, Any]:
    finished = status.status in FINISHED
    return {
        "id": status.id,
        "sha": status.sha,
        "ref": status.ref,
        "status": status.status,
        "name": status.name,
        "target_url": status.target_url,
        "description": status.description,
        "created_at": iso(status.created_at),
        "started_at": iso(status.created_at),
        "finished_at": iso(status.created_at) if finished else None,
        "allow_failure": False,
        "coverage": None,
        "pipeline_id": status.pipeline_id,
        "author": user_json("ci-bot"),
    }


def variable_json(variable: Variable) -> dict[str, Any]:
    return {
        "variable_type": variable.variable_type,
        "key": variable.key,
        "value": None if variable.hidden else variable.value,
        "protected": variable.protected,
        "masked": variable.masked,
        "hidden": variable.hidden,
        "raw": variable.raw,
        "environment_scope": variable.environment_scope,
        "description": variable.description,
    }


def pipeline_hook(state: GitLabCiState, pipeline_id: int, project_id: int) -> dict[str, Any]:
    """The ``Pipeline Hook`` payload GitLab sends for the pipeline as it is now (the shape
    of the docs example in ``tests/fixtures/gitlab/webhooks/docs/pipeline.json``)."""
    p = state.pipelines[pipeline_id]
    project_url = f"{WEB}/{p.project}"
    mr = state.merge_requests.get((p.project, p.merge_request_iid or 0))
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": p.id,
            "iid": p.iid,
            "name": p.name,
            "ref": p.ref,
            "tag": False,
            "sha": p.sha,
            "before_sha": "0" * 40,
            "source": p.source,
            "status": p.status,
            "detailed_status": p.status,
            "stages": sorted({job.stage for job in state.current_jobs(p.id)}),
            "created_at": hook_time(p.created_at),
            "finished_at": hook_time(p.finished_at),
            "duration": None,
            "queued_duration": None,
            "variables": [],
            "url": f"{project_url}/-/pipelines/{p.id}",
        },
        "merge_request": None
        if mr is None
        else {
            "id": mr.id,
            "iid": mr.iid,
            "title": mr.title,
            "source_branch": mr.source_branch,
            "source_project_id": project_id + 100_000 if mr.fork else project_id,
            "target_branch": mr.target_branch,
            "target_project_id": project_id,
            "state": mr.state,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable",
            "url": f"{project_url}/-/merge_requests/{mr.iid}",
        },
        "user": user_json(p.user),
        "project": {
            "id": project_id,
            "name": p.project.rsplit("/", 1)[-1],
            "web_url": project_url,
            "path_with_namespace": p.project,
            "default_branch": state.default_branch.get(p.project, "main"),
        },
        "commit": {"id": p.sha, "message": "change\n", "url": f"{project_url}/-/commit/{p.sha}"},
        "builds": [
            {
                "id": job.id,
                "stage": job.stage,
                "name": job.name,
                "status": job.status,
                "created_at": hook_time(job.created_at),
                "started_at": hook_time(job.started_at),
                "finished_at": hook_time(job.finished_at),
                "allow_failure": job.allow_failure,
                "when": "on_success",
                "manual": False,
                "user": user_json(p.user),
            }
            for job in state.current_jobs(p.id)
        ],
    }


# Plumbing


def _core() -> ModuleType:
    """``tests.fakes.gitlab``, which imports this module (so not at import time)."""
    from tests.fakes import gitlab

    return gitlab


def _path(request: web.Request) -> str:
    return str(request[_core().PROJECT_KEY].path_with_namespace)


def _project_id(request: web.Request) -> int:
    return int(request[_core().PROJECT_KEY].id)


def _username(request: web.Request) -> str:
    return str(request[_core().USER_KEY].username)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _paged(request: web.Request, items: list[Any]) -> web.Response:
    paginated: Callable[[web.Request, list[Any]], web.Response] = _core()._paginated
    return paginated(request, items)


def _json(body: Any, *, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)
