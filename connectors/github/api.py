"""The GitHub REST calls the bot makes, over gidgethub, with the right credentials.

``GitHubClient`` turns "comment on acme/web#12" into a gidgethub request authenticated
for the repository: the fixed token, or the token of the App installation that covers
it (``Installations`` says which). It knows nothing about replies or the outbox; callers
map its exceptions (gidgethub's, aiohttp's, ``bot.pipeline.delivery.RateLimited``,
``CredentialsRejected``) with ``connectors.github.errors``.

Lists are read whole, 100 per page (gidgethub follows the ``Link`` header).

Rate limits go through the shared ``RateGate`` (``bot.pipeline.rate_gate``), one pair of keys per
installation (or the token): ``github:<scope>:write`` and ``github:<scope>:read``.

- Every write takes a slot of the write key, so mutating requests of one installation
  are at least ``write_interval`` apart across every replica (GitHub asks integrators
  not to make concurrent writes and to wait a second between mutating requests).
- A 429 or a secondary-limit 403 closes the write key until its ``retry-after`` (a
  minute when GitHub does not say); an exhausted primary limit (``x-ratelimit-remaining:
  0``, on any answer) closes both keys until ``x-ratelimit-reset``. Reads wait only for
  the read key.
- A write answered 401 drops the token and is tried once more with a new one (App
  mode); a second 401, or a 401 to the fixed token, raises ``CredentialsRejected``.

Without a gate (``chatops shell``'s forge clients, some tests) nothing is paced, and
rate-limit answers are only reported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI

from bot.pipeline.rate_gate import RateGate
from connectors.github.auth import CredentialsRejected, TokenSource
from connectors.github.errors import SECONDARY_LIMIT_WAIT, is_rate_limit
from connectors.github.installations import Installations
from connectors.rate_limits import exhausted_until, retry_after_seconds

REACTION_PATHS = {
    "issue": "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "review": "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
}


def split_repo(repo: str) -> dict[str, str]:
    owner, _, name = repo.partition("/")
    return {"owner": owner, "repo": name}


def gate_scope(installation_id: int | None) -> str:
    """The gate keys' middle part: one installation, or the one token."""
    return "token" if installation_id is None else f"installation:{installation_id}"


class GateWatch:
    """What GitHub's answers do to the shared rate gate (see the module docstring); nothing
    without a gate."""

    def __init__(self, gate: RateGate | None) -> None:
        self._gate = gate

    async def after_success(self, scope: str, api: GitHubAPI) -> None:
        """After a success: an exhausted primary limit closes reads and writes until reset."""
        limit = api.rate_limit
        if self._gate is None or limit is None or limit.remaining > 0:
            return
        await self._close_all(scope, limit.reset_datetime, "GitHub's primary rate limit is used up")

    async def after_failure(self, scope: str, exc: gidgethub.HTTPException) -> None:
        """After a rate-limit answer: close the write key (and the read key too if the
        primary limit is gone) for as long as GitHub asks."""
        if self._gate is None or not is_rate_limit(exc):
            return
        reason = f"GitHub answered {int(exc.status_code)}: {exc}"
        reset = exhausted_until(exc.headers, prefix="x-ratelimit-")
        if reset is not None:
            await self._close_all(scope, reset, reason)
        wait = retry_after_seconds(exc.headers)
        if wait is not None or reset is None:
            seconds = SECONDARY_LIMIT_WAIT if wait is None else wait
            await self._gate.blocked_for(f"github:{scope}:write", seconds, reason)

    async def _close_all(self, scope: str, until: datetime, reason: str) -> None:
        assert self._gate is not None
        for route in ("write", "read"):
            await self._gate.blocked(f"github:{scope}:{route}", until, reason)


class GitHubClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        tokens: TokenSource,
        installations: Installations,
        requester: str,
        gate: RateGate | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url
        self._tokens = tokens
        self._installations = installations
        self._requester = requester
        self._gate = gate
        self._watch = GateWatch(gate)

    async def api(self, repo: str, installation_id: int | None = None) -> GitHubAPI:
        """A gidgethub client authenticated for ``repo``."""
        if installation_id is None:
            installation_id = await self._installations.installation_for(repo)
        token = await self._tokens.token(installation_id)
        return self._api_with(token)

    def _api_with(self, token: str) -> GitHubAPI:
        return GitHubAPI(self._session, self._requester, oauth_token=token, base_url=self._base_url)

    async def _write(
        self,
        method: str,
        repo: str,
        url: str,
        url_vars: dict[str, Any],
        data: Any,
        installation_id: int | None,
    ) -> Any:
        if installation_id is None:
            installation_id = await self._installations.installation_for(repo)
        scope = gate_scope(installation_id)
        for attempt in (1, 2):
            token = await self._tokens.token(installation_id)
            api = self._api_with(token)
            if self._gate is not None:
                await self._gate.write_slot(f"github:{scope}:write")
            try:
                if method == "POST":
                    result = await api.post(url, url_vars, data=data)
                else:
                    result = await api.patch(url, url_vars, data=data)
            except gidgethub.HTTPException as exc:
                await self._watch.after_failure(scope, exc)
                if int(exc.status_code) != 401:
                    raise
                if attempt == 1 and self._tokens.invalidate(installation_id, token):
                    continue
                raise CredentialsRejected(_rejected(installation_id, exc)) from exc
            await self._watch.after_success(scope, api)
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _read_api(
        self, repo: str, installation_id: int | None = None
    ) -> tuple[str, GitHubAPI]:
        """The gate scope and a client for a read, once the read key lets reads through."""
        if installation_id is None:
            installation_id = await self._installations.installation_for(repo)
        scope = gate_scope(installation_id)
        if self._gate is not None:
            await self._gate.read_slot(f"github:{scope}:read")
        return scope, self._api_with(await self._tokens.token(installation_id))

    async def _getitem(self, repo: str, url: str, url_vars: Mapping[str, Any]) -> Any:
        scope, api = await self._read_api(repo)
        try:
            data = await api.getitem(url, dict(url_vars))
        except gidgethub.HTTPException as exc:
            await self._watch.after_failure(scope, exc)
            raise
        await self._watch.after_success(scope, api)
        return data

    async def _iterate(
        self,
        repo: str,
        url: str,
        url_vars: Mapping[str, Any],
        key: str | None = None,
        installation_id: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        scope, api = await self._read_api(repo, installation_id)
        try:
            async for item in api.getiter(url, dict(url_vars), iterable_key=key):
                yield item
        except gidgethub.HTTPException as exc:
            await self._watch.after_failure(scope, exc)
            raise
        await self._watch.after_success(scope, api)

    async def _get(self, repo: str, url: str, **url_vars: Any) -> dict[str, Any]:
        data: dict[str, Any] = await self._getitem(repo, url, {**split_repo(repo), **url_vars})
        return data

    async def _list(
        self, repo: str, url: str, key: str, **url_vars: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list whose pages wrap it as ``{key: [...]}``."""
        async for item in self._iterate(repo, url, {**split_repo(repo), **url_vars}, key):
            yield item

    async def create_comment(
        self, repo: str, number: int, body: str, installation_id: int | None = None
    ) -> dict[str, Any]:
        url = "/repos/{owner}/{repo}/issues/{number}/comments"
        url_vars = {**split_repo(repo), "number": number}
        result: dict[str, Any] = await self._write(
            "POST", repo, url, url_vars, {"body": body}, installation_id
        )
        return result

    async def update_comment(
        self, repo: str, comment_id: int, body: str, installation_id: int | None = None
    ) -> dict[str, Any]:
        url = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
        url_vars = {**split_repo(repo), "comment_id": comment_id}
        result: dict[str, Any] = await self._write(
            "PATCH", repo, url, url_vars, {"body": body}, installation_id
        )
        return result

    async def reply_to_review_comment(
        self, repo: str, pull: int, comment_id: int, body: str, installation_id: int | None = None
    ) -> dict[str, Any]:
        url = "/repos/{owner}/{repo}/pulls/{pull}/comments/{comment_id}/replies"
        url_vars = {**split_repo(repo), "pull": pull, "comment_id": comment_id}
        result: dict[str, Any] = await self._write(
            "POST", repo, url, url_vars, {"body": body}, installation_id
        )
        return result

    async def react(
        self,
        repo: str,
        comment_kind: str,
        comment_id: int,
        content: str,
        installation_id: int | None = None,
    ) -> None:
        url_vars = {**split_repo(repo), "comment_id": comment_id}
        await self._write(
            "POST",
            repo,
            REACTION_PATHS[comment_kind],
            url_vars,
            {"content": content},
            installation_id,
        )

    async def comments(
        self, repo: str, number: int, installation_id: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The thread's comments, oldest first, 100 per page."""
        url = "/repos/{owner}/{repo}/issues/{number}/comments?per_page=100"
        url_vars = {**split_repo(repo), "number": number}
        async for comment in self._iterate(repo, url, url_vars, None, installation_id):
            yield comment

    async def permission(self, repo: str, login: str) -> str:
        """The user's role on the repository: admin, maintain, write, triage, read or none."""
        url = "/repos/{owner}/{repo}/collaborators/{username}/permission"
        data = await self._getitem(repo, url, {**split_repo(repo), "username": login})
        return str(data.get("role_name") or data.get("permission") or "none")

    # Repositories, pulls and CI (reads)

    async def repository(self, repo: str) -> dict[str, Any]:
        return await self._get(repo, "/repos/{owner}/{repo}")

    async def pull(self, repo: str, number: int) -> dict[str, Any]:
        return await self._get(
            repo, "/repos/{owner}/{repo}/pulls/{pull_number}", pull_number=number
        )

    def check_runs(self, repo: str, ref: str) -> AsyncIterator[dict[str, Any]]:
        """The latest check run of each name for the commit."""
        url = "/repos/{owner}/{repo}/commits/{ref}/check-runs?filter=latest&per_page=100"
        return self._list(repo, url, "check_runs", ref=ref)

    def statuses(self, repo: str, ref: str) -> AsyncIterator[dict[str, Any]]:
        """The latest commit status of each context (the combined status's list)."""
        url = "/repos/{owner}/{repo}/commits/{ref}/status?per_page=100"
        return self._list(repo, url, "statuses", ref=ref)

    def workflow_runs(self, repo: str, head_sha: str) -> AsyncIterator[dict[str, Any]]:
        """The commit's workflow runs, newest first."""
        url = "/repos/{owner}/{repo}/actions/runs?head_sha={head_sha}&per_page=100"
        return self._list(repo, url, "workflow_runs", head_sha=head_sha)

    async def workflow_run(self, repo: str, run_id: int) -> dict[str, Any]:
        return await self._get(repo, "/repos/{owner}/{repo}/actions/runs/{run_id}", run_id=run_id)

    def jobs(self, repo: str, run_id: int) -> AsyncIterator[dict[str, Any]]:
        """The jobs of the run's latest attempt."""
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs?filter=latest&per_page=100"
        return self._list(repo, url, "jobs", run_id=run_id)

    # CI (writes)

    async def rerun(self, repo: str, run_id: int, *, failed_only: bool = False) -> None:
        action = "rerun-failed-jobs" if failed_only else "rerun"
        url = f"/repos/{{owner}}/{{repo}}/actions/runs/{{run_id}}/{action}"
        await self._write("POST", repo, url, {**split_repo(repo), "run_id": run_id}, b"", None)

    async def cancel(self, repo: str, run_id: int) -> None:
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"
        await self._write("POST", repo, url, {**split_repo(repo), "run_id": run_id}, b"", None)

    async def dispatch(
        self, repo: str, workflow: str, ref: str, inputs: dict[str, str]
    ) -> dict[str, Any] | None:
        """Start ``workflow`` (file name or id) on ``ref``; GitHub's run details, if given."""
        url = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
        data = {"ref": ref, "inputs": inputs, "return_run_details": True}
        url_vars = {**split_repo(repo), "workflow_id": workflow}
        result = await self._write("POST", repo, url, url_vars, data, None)
        return result if isinstance(result, dict) else None


def _rejected(installation_id: int | None, exc: gidgethub.HTTPException) -> str:
    if installation_id is None:
        status = int(exc.status_code)
        return f"GitHub refused the configured token ({status}: {exc}); check github.token"
    return (
        f"GitHub refused a newly minted token of installation {installation_id} "
        f"({int(exc.status_code)}: {exc}); check that the App is still installed"
    )
