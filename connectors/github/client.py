"""The GitHub REST calls the bot makes, over gidgethub, with the right credentials.

``GitHubClient`` turns "comment on acme/web#12" into a gidgethub request authenticated
for the repository: the fixed token, or the token of the App installation that covers
it (``Installations`` says which). It knows nothing about replies or the outbox; callers
map its exceptions (gidgethub's, aiohttp's) with ``connectors.github.errors``.

Lists are read whole, 100 per page (gidgethub follows the ``Link`` header). Writes to one
installation (or to the one token) go through one lock, one at a time:
GitHub's guidance on secondary rate limits asks integrators not to make concurrent
write requests. Reads are not serialized.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from gidgethub.aiohttp import GitHubAPI

from connectors.github.auth import TokenSource
from connectors.github.installations import Installations

REACTION_PATHS = {
    "issue": "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "review": "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
}


def split_repo(repo: str) -> dict[str, str]:
    owner, _, name = repo.partition("/")
    return {"owner": owner, "repo": name}


class GitHubClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        tokens: TokenSource,
        installations: Installations,
        requester: str,
    ) -> None:
        self._session = session
        self._base_url = base_url
        self._tokens = tokens
        self._installations = installations
        self._requester = requester
        self._write_locks: dict[int | None, asyncio.Lock] = {}

    async def api(self, repo: str, installation_id: int | None = None) -> GitHubAPI:
        """A gidgethub client authenticated for ``repo``."""
        if installation_id is None:
            installation_id = await self._installations.installation_for(repo)
        token = await self._tokens.token(installation_id)
        return GitHubAPI(self._session, self._requester, oauth_token=token, base_url=self._base_url)

    def _write_lock(self, installation_id: int | None) -> asyncio.Lock:
        return self._write_locks.setdefault(installation_id, asyncio.Lock())

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
        api = await self.api(repo, installation_id)
        async with self._write_lock(installation_id):
            if method == "POST":
                return await api.post(url, url_vars, data=data)
            return await api.patch(url, url_vars, data=data)

    async def _get(self, repo: str, url: str, **url_vars: Any) -> dict[str, Any]:
        api = await self.api(repo)
        data: dict[str, Any] = await api.getitem(url, {**split_repo(repo), **url_vars})
        return data

    async def _list(
        self, repo: str, url: str, key: str, **url_vars: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list whose pages wrap it as ``{key: [...]}``."""
        api = await self.api(repo)
        async for item in api.getiter(url, {**split_repo(repo), **url_vars}, iterable_key=key):
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
        api = await self.api(repo, installation_id)
        url = "/repos/{owner}/{repo}/issues/{number}/comments?per_page=100"
        async for comment in api.getiter(url, {**split_repo(repo), "number": number}):
            yield comment

    async def permission(self, repo: str, login: str) -> str:
        """The user's role on the repository: admin, maintain, write, triage, read or none."""
        api = await self.api(repo)
        url = "/repos/{owner}/{repo}/collaborators/{username}/permission"
        data = await api.getitem(url, {**split_repo(repo), "username": login})
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
