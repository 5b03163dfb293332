"""The GitHub REST calls the bot makes, over gidgethub, with the right credentials.

``GitHubClient`` turns "comment on acme/web#12" into a gidgethub request authenticated
for the repository: the fixed token, or the token of the App installation that covers
it (``Installations`` says which). It knows nothing about replies or the outbox; callers
map its exceptions (gidgethub's, aiohttp's) with ``connectors.github.errors``.

Writes to one installation (or to the one token) go through one lock, one at a time:
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
