"""GitLab's view of a project's CI secrets, CI files and latest pipeline (reads only).

``GitLabSecrets`` serves the secrets part of ``bot.forge.ForgeClient`` for ``GitLabForge``:

- ``secrets``: project variables (``repository``, or ``environment`` with the environment
  scope as ``scope_name`` when it is not ``*``) and the variables of every ancestor group
  (``organization``, ``scope_name`` the group path; a group the token may not read, or a
  user namespace, is skipped). ``attributes``: ``masked``, ``protected``, ``hidden``,
  ``raw``, ``file`` and ``environment:<scope>`` for scoped group variables. GitLab has no
  dates for variables. **The API answers with values; they are dropped here, field by
  field, and never logged, stored or put in an error.**
- ``ci_files``: ``.gitlab-ci.yml`` at ``ref`` (the default branch when None) and the files
  it includes with ``include: local`` (or a plain path), followed recursively, at most
  ``MAX_INCLUDES``; wildcard, remote, project, template and component includes are not
  read. A missing ``.gitlab-ci.yml`` gives ``[]``; a missing included file is left out.
- ``latest_runs``: ``{".gitlab-ci.yml": the newest pipeline}`` (no child pipelines).

Invariants: API failures leave through the forge's ``errors`` block (a ``ForgeError`` with
a message for users, never a token or a variable value); a group that is no group, or one
the token may not read, is skipped rather than failing the inventory. Results are sorted as
the protocol says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import yaml
from gidgetlab import abc as gitlab_abc

from bot.forge import CiFile, CiRun, CiSecret, ForgeError, NotFound, SecretScope
from connectors.gitlab.api import pages, pipeline_url, project_ref, project_url
from connectors.gitlab.ci_events import CHILD_SOURCE, pipeline_run

CI_FILE = ".gitlab-ci.yml"
MAX_INCLUDES = 150  # GitLab's own limit on includes per pipeline
ALL_ENVIRONMENTS = "*"
SCOPE_ORDER = {scope: index for index, scope in enumerate(SecretScope)}
VARIABLE_FLAGS = ("hidden", "masked", "protected", "raw")

# ``errors(repo, what, name)``: a block turning API failures into the ForgeError they mean
Errors = Callable[[str, str, str], AbstractContextManager[None]]


class GitLabSecrets:
    def __init__(self, api: gitlab_abc.GitLabAPI, errors: Errors) -> None:
        self._api = api
        self._errors = errors

    async def secrets(self, repo: str) -> list[CiSecret]:
        with self._errors(repo, "repository", repo):
            found = [
                _project_secret(repo, variable)
                async for variable in self._iter(f"{project_url(repo)}/variables")
            ]
        for group in _ancestors(repo):
            found += await self._group_secrets(repo, group)
        return sorted(found, key=lambda s: (SCOPE_ORDER[s.scope], s.scope_name, s.name))

    async def ci_files(self, repo: str, ref: str | None = None) -> list[CiFile]:
        root = await self._file(repo, CI_FILE, ref)
        if root is None:
            await self.require_project(repo)
            return []
        files = {CI_FILE: root}
        waiting = _local_includes(root)
        while waiting and len(files) <= MAX_INCLUDES:
            path = waiting.pop(0)
            if path in files:
                continue
            text = await self._file(repo, path, ref)
            if text is None:
                continue
            files[path] = text
            waiting += _local_includes(text)
        return [CiFile(path, files[path]) for path in sorted(files)]

    async def latest_runs(self, repo: str) -> dict[str, CiRun]:
        with self._errors(repo, "repository", repo):
            async for pipeline in self._iter(f"{project_url(repo)}/pipelines"):
                if pipeline.get("source") != CHILD_SOURCE:
                    full = await self._api.getitem(pipeline_url(repo, pipeline["id"]))
                    return {CI_FILE: pipeline_run(full)}
        return {}

    async def require_project(self, repo: str) -> None:
        """Raise ``NotFound`` naming the project if the bot cannot see it."""
        with self._errors(repo, "repository", repo):
            await self._api.getitem(project_url(repo))

    async def _group_secrets(self, repo: str, group: str) -> list[CiSecret]:
        """The variables of ``group``; none when it is no group or the token may not read it."""
        try:
            with self._errors(repo, "group", group):
                url = f"/groups/{project_ref(group)}/variables"
                return [_group_secret(group, variable) async for variable in self._iter(url)]
        except NotFound:
            return []
        except ForgeError as exc:
            if exc.status == 403:
                return []
            raise

    async def _file(self, repo: str, path: str, ref: str | None) -> str | None:
        """The raw text of a file at ``ref``; None when there is no such file."""
        params: dict[str, str | bool] = {} if ref is None else {"ref": ref}
        url = f"{project_url(repo)}/repository/files/{project_ref(path)}/raw"
        try:
            with self._errors(repo, "file", path):
                text = await self._api.getitem(url, params)
        except NotFound:
            return None
        if isinstance(text, bytes):
            return text.decode("utf-8", errors="replace")
        return str(text) if text is not None else ""

    def _iter(self, url: str) -> AsyncIterator[Mapping[str, Any]]:
        return pages(self._api, url)


def _flags(variable: Mapping[str, Any]) -> list[str]:
    """A variable's flags by name; its value is never read."""
    flags = [flag for flag in VARIABLE_FLAGS if variable.get(flag) is True]
    if variable.get("variable_type") == "file":
        flags.append("file")
    return flags


def _project_secret(repo: str, variable: Mapping[str, Any]) -> CiSecret:
    scope = str(variable.get("environment_scope") or ALL_ENVIRONMENTS)
    everywhere = scope == ALL_ENVIRONMENTS
    return CiSecret(
        name=str(variable["key"]),
        scope=SecretScope.REPOSITORY if everywhere else SecretScope.ENVIRONMENT,
        scope_name=repo if everywhere else scope,
        attributes=tuple(sorted(_flags(variable))),
    )


def _group_secret(group: str, variable: Mapping[str, Any]) -> CiSecret:
    flags = _flags(variable)
    scope = str(variable.get("environment_scope") or ALL_ENVIRONMENTS)
    if scope != ALL_ENVIRONMENTS:
        flags.append(f"environment:{scope}")
    return CiSecret(
        name=str(variable["key"]),
        scope=SecretScope.ORGANIZATION,
        scope_name=group,
        attributes=tuple(sorted(flags)),
    )


def _ancestors(repo: str) -> list[str]:
    """The groups above a project, nearest first: ``a/b/c`` -> ``a/b``, ``a``."""
    parts = repo.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


def _local_includes(text: str) -> list[str]:
    """The repository paths a CI file includes locally (no wildcards), in order."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(document, Mapping):
        return []
    entries = document.get("include") or []
    if not isinstance(entries, list):
        entries = [entries]
    paths = []
    for entry in entries:
        if isinstance(entry, str) and "://" not in entry:
            path = entry
        elif isinstance(entry, Mapping) and isinstance(entry.get("local"), str):
            path = entry["local"]
        else:
            continue
        if "*" not in path:
            paths.append(path.lstrip("/"))
    return paths
