"""GitHub's view of a repository's CI secrets, workflow files and latest runs (reads only).

``GitHubSecrets`` serves the secrets part of ``bot.forge.ForgeClient`` for ``GitHubForge``:

- ``secrets``: Actions secrets of the repository, of each of its environments, of its
  organization where the repository can read them, and Dependabot secrets; every page.
  An organization secret counts by its ``visibility``: ``all`` for every repository of the
  organization, ``private`` for private and internal repositories, ``selected`` for the
  repositories in its selected list. A repository owned by a user has no organization
  secrets (GitHub answers 404). A 403 on the organization's secrets (the App has no
  organization ``secrets`` permission) is logged and skipped: the rest of the inventory
  still stands, without the organization's secrets.
- ``ci_files``: ``.github/workflows/*.yml`` and ``*.yaml`` from the contents API (the
  directory listing, then each file, base64-decoded), at ``ref`` or the default branch; no
  directory means no files.
- ``latest_runs``: the newest Actions run of each workflow file, from the repository's
  runs (newest first), keyed by the run's ``path`` without its ``@ref``; at most
  ``RUN_SCAN_LIMIT`` runs are read, so a workflow not run among them has no entry.

Invariants: GitHub never returns secret values and none are asked for; only names appear in
logs. API failures other than the organization 403 leave as gidgethub/aiohttp exceptions
for ``GitHubForge`` to map into ``ForgeError``s. Results are sorted as the protocol says.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import gidgethub
from gidgethub.aiohttp import GitHubAPI

from bot.forge import CiFile, CiRun, CiSecret, SecretScope
from connectors.github.api import GitHubClient, split_repo
from connectors.github.ci_events import ci_run, parse_time

WORKFLOWS_DIR = ".github/workflows"
WORKFLOW_SUFFIXES = (".yml", ".yaml")
RUN_SCAN_LIMIT = 500
FILE_READS_AT_ONCE = 8
PRIVATE_VISIBILITIES = frozenset({"private", "internal"})
PAGE = "per_page=100"


class GitHubSecrets:
    def __init__(self, client: GitHubClient, log: logging.Logger) -> None:
        self._client = client
        self._log = log

    async def secrets(self, repo: str) -> list[CiSecret]:
        api = await self._client.api(repo)
        names = split_repo(repo)
        repository, environments, organization, dependabot = await asyncio.gather(
            _listed(api, "/repos/{owner}/{repo}/actions/secrets", names, "secrets"),
            self._environment_secrets(api, repo),
            self._organization_secrets(api, repo),
            _listed(api, "/repos/{owner}/{repo}/dependabot/secrets", names, "secrets"),
        )
        found = [_secret(item, SecretScope.REPOSITORY, repo) for item in repository]
        found += environments + organization
        found += [_secret(item, SecretScope.DEPENDABOT, repo) for item in dependabot]
        found.sort(key=lambda s: (list(SecretScope).index(s.scope), s.scope_name, s.name))
        return found

    async def _environment_secrets(self, api: GitHubAPI, repo: str) -> list[CiSecret]:
        names = split_repo(repo)
        environments = await _listed(
            api, "/repos/{owner}/{repo}/environments", names, "environments"
        )
        url = "/repos/{owner}/{repo}/environments/{environment_name}/secrets"
        lists = await asyncio.gather(
            *(
                _listed(api, url, {**names, "environment_name": str(env["name"])}, "secrets")
                for env in environments
            )
        )
        return [
            _secret(item, SecretScope.ENVIRONMENT, str(env["name"]))
            for env, items in zip(environments, lists, strict=True)
            for item in items
        ]

    async def _organization_secrets(self, api: GitHubAPI, repo: str) -> list[CiSecret]:
        org = split_repo(repo)["owner"]
        try:
            listed = await _listed(api, "/orgs/{org}/actions/secrets", {"org": org}, "secrets")
        except gidgethub.HTTPException as error:
            if error.status_code == 404:  # a user's repository: no organization
                return []
            if error.status_code == 403:
                self._log.warning(
                    "organization secrets of %s are not visible to the bot (403); "
                    "the inventory of %s leaves them out",
                    org,
                    repo,
                )
                return []
            raise
        private: bool | None = None
        found: list[CiSecret] = []
        for item in listed:
            visibility = str(item.get("visibility"))
            if visibility == "private" and private is None:
                private = await _is_private(api, repo)
            if (
                visibility == "all"
                or (visibility == "private" and private)
                or (visibility == "selected" and await _selected(api, org, item["name"], repo))
            ):
                found.append(_secret(item, SecretScope.ORGANIZATION, org))
        return found

    async def ci_files(self, repo: str, ref: str | None = None) -> list[CiFile]:
        api = await self._client.api(repo)
        try:
            listing = await _content(api, repo, WORKFLOWS_DIR, ref)
        except gidgethub.HTTPException as error:
            if error.status_code == 404:
                return []
            raise
        if not isinstance(listing, list):
            return []
        paths = sorted(
            str(entry["path"])
            for entry in listing
            if entry.get("type") == "file"
            and str(entry.get("name", "")).endswith(WORKFLOW_SUFFIXES)
        )
        limit = asyncio.Semaphore(FILE_READS_AT_ONCE)

        async def read(path: str) -> CiFile:
            async with limit:
                return CiFile(path=path, text=_decoded(await _content(api, repo, path, ref)))

        return list(await asyncio.gather(*(read(path) for path in paths)))

    async def latest_runs(self, repo: str) -> dict[str, CiRun]:
        api = await self._client.api(repo)
        url = f"/repos/{{owner}}/{{repo}}/actions/runs?{PAGE}"
        newest: dict[str, tuple[str, CiRun]] = {}
        seen = 0
        async for run in api.getiter(url, split_repo(repo), iterable_key="workflow_runs"):
            seen += 1
            path = str(run.get("path") or "").split("@", 1)[0]
            if path:
                created = str(run.get("created_at") or "")
                if path not in newest or created > newest[path][0]:
                    newest[path] = (created, ci_run(run))
            if seen >= RUN_SCAN_LIMIT:
                break
        return {path: newest[path][1] for path in sorted(newest)}


async def _listed(
    api: GitHubAPI, url: str, url_vars: dict[str, str], key: str
) -> list[dict[str, Any]]:
    """Every item of a paged list wrapped as ``{key: [...]}``, 100 per page."""
    return [item async for item in _pages(api, f"{url}?{PAGE}", url_vars, key)]


def _pages(
    api: GitHubAPI, url: str, url_vars: dict[str, str], key: str
) -> AsyncIterator[dict[str, Any]]:
    return api.getiter(url, url_vars, iterable_key=key)


async def _is_private(api: GitHubAPI, repo: str) -> bool:
    data = await api.getitem("/repos/{owner}/{repo}", split_repo(repo))
    visibility = data.get("visibility")
    if visibility is not None:
        return str(visibility) in PRIVATE_VISIBILITIES
    return bool(data.get("private"))


async def _selected(api: GitHubAPI, org: str, secret: str, repo: str) -> bool:
    """Whether ``repo`` is among the selected repositories of an organization secret."""
    url = "/orgs/{org}/actions/secrets/{secret_name}/repositories"
    url_vars = {"org": org, "secret_name": secret}
    async for item in _pages(api, f"{url}?{PAGE}", url_vars, "repositories"):
        if str(item.get("full_name", "")).lower() == repo.lower():
            return True
    return False


async def _content(api: GitHubAPI, repo: str, path: str, ref: str | None) -> Any:
    """The contents API's answer for ``path`` (a directory listing or a file)."""
    url = "/repos/{owner}/{repo}/contents/" + quote(path, safe="/")
    url_vars: dict[str, str] = split_repo(repo)
    if ref is not None:
        url, url_vars = url + "?ref={ref}", {**url_vars, "ref": ref}
    return await api.getitem(url, url_vars)


def _decoded(data: Any) -> str:
    """A contents-API file's text; empty when GitHub sent none (files over 1 MB)."""
    if not isinstance(data, dict) or data.get("encoding") != "base64":
        return ""
    try:
        raw = base64.b64decode(str(data.get("content", "")), validate=False)
    except (binascii.Error, ValueError):
        return ""
    return raw.decode("utf-8", errors="replace")


def _secret(item: dict[str, Any], scope: SecretScope, scope_name: str) -> CiSecret:
    attributes = (f"visibility:{item['visibility']}",) if "visibility" in item else ()
    return CiSecret(
        name=str(item["name"]),
        scope=scope,
        scope_name=scope_name,
        created_at=parse_time(item.get("created_at")),
        updated_at=parse_time(item.get("updated_at")),
        attributes=attributes,
    )
