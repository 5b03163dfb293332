"""``GitHubForge``: the ``bot.forge.ForgeClient`` for GitHub (pulls, checks, Actions).

Each method is one or a few REST calls through ``GitHubClient`` (which picks the token
and serializes writes), read into ``bot.forge`` types:

- ``change``: the pull request; a 404 is told apart by asking for the repository, so the
  user hears which of the two the bot cannot see (GitHub also answers 404 for an issue
  number that is not a pull request: "no pull request" is right then too);
- ``checks``: the latest check run of each name, then the commit statuses;
- ``ci_runs``: the commit's Actions workflow runs, newest first, the newest per workflow;
- ``ci_run``, ``jobs``, ``rerun``, ``cancel``, ``dispatch`` on one run or workflow; a run
  that has completed is not cancelled (GitHub answers 409), ``cancel`` says False;
- ``dispatched``: a run of the ``workflow_dispatch`` event is what ``dispatch`` starts;
- ``thread``: where the pull request's comments go; a ``sticky`` name makes the
  ``GitHubConnector`` edit one comment in place;
- ``secrets``, ``ci_files``, ``latest_runs``: read through ``connectors.github.ci_secrets``.

Invariants: every API failure leaves as a ``ForgeError`` (``errors.forge_error``), with
a message for users and never a token; run ids are GitHub's numeric ids as strings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

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
from connectors.github.api import GitHubClient
from connectors.github.ci_events import ci_run, parse_time, state_of
from connectors.github.ci_secrets import GitHubSecrets
from connectors.github.errors import PLATFORM, forge_error

DISPATCH_EVENT = "workflow_dispatch"
CONFLICT = 409  # what GitHub answers to cancelling a completed run
STATUS_STATES = {
    "pending": CheckState.IN_PROGRESS,
    "success": CheckState.COMPLETED,
    "failure": CheckState.COMPLETED,
    "error": CheckState.COMPLETED,
}


class GitHubForge:
    def __init__(
        self, client: GitHubClient, clock: Clock, log: logging.Logger | None = None
    ) -> None:
        self._client = client
        self._clock = clock
        self._secrets = GitHubSecrets(client, log or logging.getLogger("chatops.github"))

    @property
    def forge(self) -> Forge:
        return Forge.GITHUB

    async def change(self, repo: str, number: int) -> Change:
        try:
            with self._errors(repo, "pull request", f"{repo}#{number}"):
                data = await self._client.pull(repo, number)
        except NotFound as missing:
            if missing.what == "pull request":  # or is it the repository that is missing?
                with self._errors(repo, "repository", repo):
                    await self._client.repository(repo)
            raise
        return _change(repo, data)

    async def checks(self, repo: str, sha: str) -> list[Check]:
        with self._errors(repo, "repository", repo):
            runs = [_check_run(run) async for run in self._client.check_runs(repo, sha)]
            statuses = [_status(status) async for status in self._client.statuses(repo, sha)]
        return runs + statuses

    async def ci_runs(self, repo: str, sha: str) -> list[CiRun]:
        with self._errors(repo, "repository", repo):
            runs = [run async for run in self._client.workflow_runs(repo, sha)]
        runs.sort(key=lambda run: (str(run.get("created_at") or ""), int(run["id"])), reverse=True)
        seen: set[object] = set()
        newest: list[CiRun] = []
        for run in runs:
            workflow = run.get("workflow_id", run["id"])
            if workflow not in seen:
                seen.add(workflow)
                newest.append(ci_run(run))
        return newest

    async def ci_run(self, repo: str, run_id: str) -> CiRun:
        with self._run_errors(repo, run_id):
            return ci_run(await self._client.workflow_run(repo, _run_number(repo, run_id)))

    async def jobs(self, repo: str, run_id: str) -> list[Job]:
        with self._run_errors(repo, run_id):
            return [_job(job) async for job in self._client.jobs(repo, _run_number(repo, run_id))]

    async def rerun(self, repo: str, run_id: str, *, failed_only: bool = False) -> None:
        with self._run_errors(repo, run_id):
            await self._client.rerun(repo, _run_number(repo, run_id), failed_only=failed_only)

    async def cancel(self, repo: str, run_id: str) -> bool:
        try:
            with self._run_errors(repo, run_id):
                await self._client.cancel(repo, _run_number(repo, run_id))
        except ForgeError as refused:
            if refused.status == CONFLICT:
                return False  # it completed meanwhile
            raise
        return True

    async def dispatch(
        self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]
    ) -> CiRun | None:
        with self._errors(repo, "workflow", f"{workflow} in {repo}"):
            answer = await self._client.dispatch(repo, workflow, ref, dict(inputs))
        run_id = (answer or {}).get("workflow_run_id")
        if run_id is None:
            return None
        return await self.ci_run(repo, str(run_id))

    def dispatched(self, run: CiRun) -> bool:
        return run.event == DISPATCH_EVENT

    def thread(self, repo: str, number: int, *, sticky: str | None = None) -> ReplyTarget:
        extra = (("sticky", sticky),) if sticky is not None else ()
        return ReplyTarget(
            platform=Platform.GITHUB,
            channel=repo,
            thread=str(number),
            extra=extra,
            place=Place.THREAD,
        )

    async def secrets(self, repo: str) -> list[CiSecret]:
        with self._errors(repo, "repository", repo):
            return await self._secrets.secrets(repo)

    async def ci_files(self, repo: str, ref: str | None = None) -> list[CiFile]:
        with self._errors(repo, "repository", repo):
            return await self._secrets.ci_files(repo, ref)

    async def latest_runs(self, repo: str) -> dict[str, CiRun]:
        with self._errors(repo, "repository", repo):
            return await self._secrets.latest_runs(repo)

    @contextmanager
    def _errors(self, repo: str, what: str, name: str) -> Iterator[None]:
        """Turn an API failure inside the block into the ``ForgeError`` it means."""
        try:
            yield
        except ForgeError:
            raise
        except Exception as exc:
            missing = NotFound(PLATFORM, what, name)
            mapped = forge_error(exc, self._clock.now(), repo=repo, missing=missing)
            if mapped is None:
                raise
            raise mapped from exc

    def _run_errors(self, repo: str, run_id: str) -> AbstractContextManager[None]:
        return self._errors(repo, "run", f"{run_id} in {repo}")


def _run_number(repo: str, run_id: str) -> int:
    """GitHub's numeric run id; anything else names no Actions run there."""
    if not run_id.isdigit():
        raise NotFound(PLATFORM, "run", f"{run_id} in {repo}")
    return int(run_id)


def _change(repo: str, data: Mapping[str, Any]) -> Change:
    head, base = data["head"], data["base"]
    base_repo = base.get("repo") or {}
    full_name = str(base_repo.get("full_name") or repo)
    head_repo = head.get("repo")
    fork = head_repo is None or str(head_repo.get("full_name")) != full_name
    if data.get("merged"):
        state = ChangeState.MERGED
    elif data.get("state") == "closed":
        state = ChangeState.CLOSED
    else:
        state = ChangeState.OPEN
    return Change(
        target=Target(
            repo=full_name,
            kind=TargetKind.PULL_REQUEST,
            number=int(data["number"]),
            forge=Forge.GITHUB,
        ),
        title=str(data.get("title") or ""),
        url=str(data["html_url"]),
        author=str((data.get("user") or {}).get("login", "")),
        head_sha=str(head["sha"]),
        head_ref=str(head["ref"]),
        base_ref=str(base["ref"]),
        fork=fork,
        state=state,
    )


def _check_run(run: Mapping[str, Any]) -> Check:
    state = state_of(run.get("status"))
    completed = state is CheckState.COMPLETED
    return Check(
        kind="check_run",
        name=str(run["name"]),
        state=state,
        conclusion=str(run["conclusion"]) if completed and run.get("conclusion") else None,
        url=run.get("html_url") or run.get("details_url"),
        started_at=parse_time(run.get("started_at")),
        finished_at=parse_time(run.get("completed_at")) if completed else None,
    )


def _status(status: Mapping[str, Any]) -> Check:
    state = STATUS_STATES.get(str(status.get("state")), CheckState.IN_PROGRESS)
    completed = state is CheckState.COMPLETED
    return Check(
        kind="status",
        name=str(status["context"]),
        state=state,
        conclusion=str(status["state"]) if completed else None,
        url=status.get("target_url") or None,
        finished_at=parse_time(status.get("updated_at")) if completed else None,
    )


def _job(job: Mapping[str, Any]) -> Job:
    state = state_of(job.get("status"))
    completed = state is CheckState.COMPLETED
    return Job(
        name=str(job["name"]),
        state=state,
        conclusion=str(job["conclusion"]) if completed and job.get("conclusion") else None,
        url=job.get("html_url") or None,
    )
