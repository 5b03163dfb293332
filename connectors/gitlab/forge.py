"""``GitLabForge``: the ``bot.forge.ForgeClient`` for GitLab (merge requests, pipelines, jobs,
CI/CD variables), over gidgetlab.

A GitLab project is named by its ``path_with_namespace`` (``group/sub/project``), which the
API takes URL-encoded as ``:id``. Each method is one or a few REST calls:

- ``change``: the merge request; a 404 is told apart by asking for the project, so the user
  hears which of the two the bot cannot see. A merge request from another project is a
  fork; ``locked`` (being merged) counts as open.
- ``ci_runs``: the pipelines of the commit, newest first, the newest per ref (a branch
  pipeline and a merge request pipeline of one commit are two runs; older pipelines of the
  same ref were superseded). Child pipelines (``parent_pipeline``) belong to their parent
  and pipelines that only hold external commit statuses (``external``) are not CI the bot
  can re-run; both are left out. Each is read whole, for its user.
- ``checks``: the jobs of those pipelines (kind ``job``; retried jobs left out, as GitLab
  does), then the external commit statuses of the commit (kind ``status``): statuses that
  are not one of those jobs and belong to one of those pipelines or to an ``external`` one.
- ``ci_run``, ``jobs``, ``cancel`` on one pipeline. GitLab accepts a cancel of a finished
  pipeline, leaves it as it is and answers with it, so ``cancel`` reads the answer: a
  pipeline that ``success``, ``failed``, ``skipped`` or waits on a ``manual`` job had
  finished (False). One we stopped answers ``canceling`` or ``canceled``, and so does one
  cancelled before: that one cannot be told apart and counts as stopped (True); it is
  stopped either way.
- ``dispatched``: never. ``dispatch`` answers with the pipeline it creates, and a
  pipeline created through the API cannot be told from others created the same way.
- ``rerun``: GitLab's retry (``POST .../retry``) restarts the failed and cancelled jobs of
  the same pipeline and counts nothing, so a re-run of a whole pipeline (``failed_only``
  false, what ``rescan`` and ``restart`` ask for) **creates a new pipeline** for the same
  ref instead: a merge request pipeline (``POST .../merge_requests/:iid/pipelines``) when
  the ref is ``refs/merge-requests/<iid>/...``, else a pipeline on the branch or tag. The
  new pipeline is returned, and the tracker follows it instead of the old one. With
  ``failed_only`` the retry is done and None returned (the same pipeline goes on).
- ``dispatch(repo, workflow, ref, inputs)``: GitLab has one pipeline definition per
  project, so ``workflow`` only names it. Without inputs, when ``ref`` is the source branch
  of an open merge request of the project, a merge request pipeline is created for the
  newest such merge request (what a project with ``workflow: rules`` for merge requests
  runs); otherwise a pipeline on ``ref`` with ``inputs`` as its variables. The new
  pipeline is returned.
- ``thread``: ``merge_requests/<iid>`` of the project, where the GitLab connector posts
  notes; ``sticky`` names a note edited in place.
- ``secrets``, ``ci_files``, ``latest_runs``: read through ``connectors.gitlab.ci_secrets``.
Invariants: every API failure leaves as a ``ForgeError`` (``errors.forge_error``), with a
message for users and never a token or a variable value; run ids are pipeline ids as
strings.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from gidgetlab import abc as gitlab_abc

from bot.clock import Clock
from bot.forge import (
    Change,
    ChangeState,
    Check,
    CheckState,
    CiFile,
    CiRun,
    CiSecret,
    ForgeError,
    Job,
    NotFound,
)
from bot.messages import Forge, Place, Platform, ReplyTarget, Target, TargetKind
from connectors.gitlab.api import failed_response_headers, pages, pipeline_url, project_url
from connectors.gitlab.ci_events import (
    CHILD_SOURCE,
    job_conclusion,
    parse_time,
    pipeline_run,
    status_of,
)
from connectors.gitlab.ci_secrets import GitLabSecrets
from connectors.gitlab.errors import PLATFORM, forge_error

EXTERNAL_SOURCE = "external"
CANCELED = "canceled"
MERGE_REQUEST_REF = re.compile(r"refs/merge-requests/(\d+)/(?:head|merge|train)")
CHANGE_STATES = {"closed": ChangeState.CLOSED, "merged": ChangeState.MERGED}


class GitLabForge:
    def __init__(self, api: gitlab_abc.GitLabAPI, clock: Clock) -> None:
        self._api = api
        self._clock = clock
        self._secrets = GitLabSecrets(api, self._errors)

    @property
    def forge(self) -> Forge:
        return Forge.GITLAB

    # Merge requests

    async def change(self, repo: str, number: int) -> Change:
        try:
            with self._errors(repo, "merge request", f"{repo}!{number}"):
                data = await self._api.getitem(f"{project_url(repo)}/merge_requests/{number}")
        except NotFound as missing:
            if missing.what == "merge request":  # or is it the project that is missing?
                await self._secrets.require_project(repo)
            raise
        return _change(repo, data)

    # CI

    async def checks(self, repo: str, sha: str) -> list[Check]:
        with self._errors(repo, "repository", repo):
            pipelines = await self._pipelines(repo, sha)
            heads = _newest_per_ref(pipelines)
            jobs: list[Mapping[str, Any]] = []
            for pipeline in heads:
                jobs += [
                    job async for job in self._iter(pipeline_url(repo, pipeline["id"]) + "/jobs")
                ]
            statuses = [
                status
                async for status in self._iter(
                    f"{project_url(repo)}/repository/commits/{sha}/statuses"
                )
            ]
        job_ids = {int(job["id"]) for job in jobs}
        owners = {int(p["id"]) for p in heads} | {
            int(p["id"]) for p in pipelines if p.get("source") == EXTERNAL_SOURCE
        }
        external = [
            status
            for status in statuses
            if int(status["id"]) not in job_ids and _int(status.get("pipeline_id")) in owners
        ]
        return [_job_check(job) for job in jobs] + [_status_check(s) for s in external]

    async def ci_runs(self, repo: str, sha: str) -> list[CiRun]:
        with self._errors(repo, "repository", repo):
            heads = _newest_per_ref(await self._pipelines(repo, sha))
            return [
                pipeline_run(await self._api.getitem(pipeline_url(repo, head["id"])))
                for head in heads
            ]

    async def ci_run(self, repo: str, run_id: str) -> CiRun:
        with self._run_errors(repo, run_id):
            return pipeline_run(await self._api.getitem(pipeline_url(repo, _id(repo, run_id))))

    async def jobs(self, repo: str, run_id: str) -> list[Job]:
        with self._run_errors(repo, run_id):
            url = pipeline_url(repo, _id(repo, run_id)) + "/jobs"
            return [_job(job) async for job in self._iter(url)]

    async def rerun(self, repo: str, run_id: str, *, failed_only: bool = False) -> CiRun | None:
        with self._run_errors(repo, run_id):
            url = pipeline_url(repo, _id(repo, run_id))
            if failed_only:
                await self._api.post(url + "/retry", data=b"")
                return None
            old = await self._api.getitem(url)
        return await self._create(repo, str(old["ref"]), {})

    async def cancel(self, repo: str, run_id: str) -> bool:
        with self._run_errors(repo, run_id):
            answer = await self._api.post(
                pipeline_url(repo, _id(repo, run_id)) + "/cancel", data=b""
            )
        return _stopped(answer)

    async def dispatch(
        self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]
    ) -> CiRun | None:
        if not inputs:
            with self._errors(repo, "repository", repo):
                params: dict[str, str | bool] = {"state": "opened", "source_branch": ref}
                opened = [
                    request
                    async for request in self._iter(f"{project_url(repo)}/merge_requests", params)
                    if request.get("source_project_id") == request.get("target_project_id")
                ]
            if opened:
                newest = max(int(request["iid"]) for request in opened)
                return await self._create(repo, f"refs/merge-requests/{newest}/head", {})
        return await self._create(repo, ref, inputs)

    def dispatched(self, run: CiRun) -> bool:
        return False

    def thread(self, repo: str, number: int, *, sticky: str | None = None) -> ReplyTarget:
        extra = (("sticky", sticky),) if sticky else ()
        return ReplyTarget(
            platform=Platform.GITLAB,
            channel=repo,
            thread=f"merge_requests/{number}",
            extra=extra,
            place=Place.THREAD,
        )

    # Secrets

    async def secrets(self, repo: str) -> list[CiSecret]:
        return await self._secrets.secrets(repo)

    async def ci_files(self, repo: str, ref: str | None = None) -> list[CiFile]:
        return await self._secrets.ci_files(repo, ref)

    async def latest_runs(self, repo: str) -> dict[str, CiRun]:
        return await self._secrets.latest_runs(repo)

    # Helpers

    async def _pipelines(self, repo: str, sha: str) -> list[Mapping[str, Any]]:
        """Every pipeline of the commit, newest first."""
        params: dict[str, str | bool] = {"sha": sha, "order_by": "id", "sort": "desc"}
        return [p async for p in self._iter(f"{project_url(repo)}/pipelines", params)]

    async def _create(self, repo: str, ref: str, variables: Mapping[str, str]) -> CiRun:
        """A new pipeline on ``ref``: a merge request pipeline for a merge request's ref."""
        matched = MERGE_REQUEST_REF.fullmatch(ref)
        if matched is not None:
            iid = matched.group(1)
            with self._errors(repo, "merge request", f"{repo}!{iid}"):
                url = f"{project_url(repo)}/merge_requests/{iid}/pipelines"
                return pipeline_run(await self._api.post(url, data=b""))
        body: dict[str, Any] = {"ref": ref}
        if variables:
            body["variables"] = [{"key": key, "value": value} for key, value in variables.items()]
        with self._errors(repo, "repository", repo):
            return pipeline_run(await self._api.post(f"{project_url(repo)}/pipeline", data=body))

    def _iter(
        self, url: str, params: Mapping[str, str | bool] | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        return pages(self._api, url, params)

    @contextmanager
    def _errors(self, repo: str, what: str, name: str) -> Iterator[None]:
        """Turn an API failure inside the block into the ``ForgeError`` it means."""
        try:
            yield
        except ForgeError:
            raise
        except Exception as exc:
            missing = NotFound(PLATFORM, what, name)
            headers = failed_response_headers(exc)
            mapped = forge_error(
                exc, self._clock.now(), repo=repo, missing=missing, headers=headers
            )
            if mapped is None:
                raise
            raise mapped from exc

    def _run_errors(self, repo: str, run_id: str) -> AbstractContextManager[None]:
        return self._errors(repo, "run", f"{run_id} in {repo}")


def _id(repo: str, run_id: str) -> int:
    """GitLab's numeric pipeline id; anything else names no pipeline there."""
    if not run_id.isdigit():
        raise NotFound(PLATFORM, "run", f"{run_id} in {repo}")
    return int(run_id)


def _stopped(answer: object) -> bool:
    """Whether the pipeline a cancel answered with was still going (module docstring)."""
    status = answer.get("status") if isinstance(answer, Mapping) else None
    state, conclusion = status_of(status, pipeline=True)
    return state is not CheckState.COMPLETED or conclusion == CANCELED


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _newest_per_ref(pipelines: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest pipeline of each ref, newest first; no child or external pipelines."""
    seen: set[str] = set()
    newest = []
    for pipeline in sorted(pipelines, key=lambda p: int(p["id"]), reverse=True):
        ref = str(pipeline.get("ref"))
        if pipeline.get("source") in (CHILD_SOURCE, EXTERNAL_SOURCE) or ref in seen:
            continue
        seen.add(ref)
        newest.append(pipeline)
    return newest


def _change(repo: str, data: Mapping[str, Any]) -> Change:
    full = str((data.get("references") or {}).get("full") or "")
    path = full.rsplit("!", 1)[0] if "!" in full else repo
    diff_refs = data.get("diff_refs") or {}
    return Change(
        target=Target(
            repo=path, kind=TargetKind.MERGE_REQUEST, number=int(data["iid"]), forge=Forge.GITLAB
        ),
        title=str(data.get("title") or ""),
        url=str(data["web_url"]),
        author=str((data.get("author") or {}).get("username", "")),
        head_sha=str(data.get("sha") or diff_refs.get("head_sha") or ""),
        head_ref=str(data["source_branch"]),
        base_ref=str(data["target_branch"]),
        fork=data.get("source_project_id") != data.get("target_project_id"),
        state=CHANGE_STATES.get(str(data.get("state")), ChangeState.OPEN),
    )


def _job_check(job: Mapping[str, Any]) -> Check:
    state, conclusion = job_conclusion(job)
    return Check(
        kind="job",
        name=str(job["name"]),
        state=state,
        conclusion=conclusion,
        url=job.get("web_url") or None,
        started_at=parse_time(job.get("started_at")),
        finished_at=parse_time(job.get("finished_at")) if state is CheckState.COMPLETED else None,
    )


def _status_check(status: Mapping[str, Any]) -> Check:
    state, conclusion = status_of(status.get("status"))
    return Check(
        kind="status",
        name=str(status["name"]),
        state=state,
        conclusion=conclusion,
        url=status.get("target_url") or None,
        started_at=parse_time(status.get("started_at")),
        finished_at=(
            parse_time(status.get("finished_at")) if state is CheckState.COMPLETED else None
        ),
    )


def _job(job: Mapping[str, Any]) -> Job:
    state, conclusion = job_conclusion(job)
    return Job(name=str(job["name"]), state=state, conclusion=conclusion, url=job.get("web_url"))
